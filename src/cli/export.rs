//! `complaint-gateway export`: every complaint, streamed in sequence order (constant memory).

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::config::Config;
use crate::store::{Complaint, Store};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Include the complainant's identity (name, phone, email, id, address), personal `meta`
    /// fields and the text as written. Off by default: exports travel further than the
    /// gateway, so without it the identity is left out and phones, ID numbers and e-mail
    /// addresses in the text are masked. An export with it is recorded in the audit record.
    #[arg(long)]
    pub include_personal_data: bool,
    #[command(flatten)]
    pub actor: super::people::AsUser,
}

/// Columns of the CSV export, in order (later additions at the end, so positions stay).
pub const CSV_COLUMNS: [&str; 26] = [
    "id",
    "seq",
    "source",
    "channel",
    "external_id",
    "revision",
    "received_at",
    "submitted_at",
    "title",
    "body",
    "target_unit",
    "location.district",
    "location.address",
    "url",
    "complainant",
    "content_hash",
    "case_id",
    "duplicate_of",
    "category",
    "tags",
    "queue",
    "priority",
    "status",
    "deadline",
    "future_dated",
    "historical",
];

pub async fn run(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let actor = super::people::actor(&store, &args.actor).await?;
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let out = std::io::BufWriter::new(sink);
    let mut rows = store.export_stream();
    let mut count = 0u64;
    match args.format {
        ExportFormat::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(CSV_COLUMNS)?;
            while let Some(row) = rows.next().await {
                let value = export_value(&row?, args.include_personal_data);
                writer.write_record(CSV_COLUMNS.iter().map(|c| csv_cell(&value, c)))?;
                count += 1;
            }
            writer.flush()?;
        }
        ExportFormat::Jsonl => {
            let mut out = out;
            while let Some(row) = rows.next().await {
                serde_json::to_writer(&mut out, &export_value(&row?, args.include_personal_data))?;
                out.write_all(b"\n")?;
                count += 1;
            }
            out.flush()?;
        }
    }
    drop(rows);
    if args.include_personal_data {
        let entry = crate::store::audit::NewAuditEvent {
            at: crate::store::format_utc(chrono::Utc::now()),
            actor: actor.to_string(),
            action: "personal_data.export".into(),
            case_id: None,
            complaint_ids: Vec::new(),
            detail: json!({"filter": "all complaints", "count": count,
                "format": format!("{:?}", args.format).to_lowercase(),
                "to": if args.output.is_some() { "file" } else { "standard output" }})
            .to_string(),
        };
        let recorded = store
            .submit(crate::store::WriteBatch {
                audit: vec![entry],
                ..crate::store::WriteBatch::default()
            })
            .await;
        store.close().await;
        recorded?;
    } else {
        store.close().await;
    }
    eprintln!("exported {count} complaints");
    Ok(())
}

/// The exported object of one complaint.
pub fn export_value(row: &Complaint, personal: bool) -> Value {
    let item = &row.item;
    let complainant = item.complainant.as_ref().map(|c| {
        if personal {
            serde_json::to_value(c).unwrap_or(Value::Null)
        } else {
            json!({"anonymous": c.anonymous, "redacted": true})
        }
    });
    let (title, body, meta) = if personal {
        (row.title.clone(), row.body.clone(), item.meta.clone())
    } else {
        let mut masked = item.clone();
        crate::people::pii::mask_item(&mut masked);
        (
            row.title.as_deref().map(crate::people::pii::mask_text),
            crate::people::pii::mask_text(&row.body),
            masked.meta,
        )
    };
    json!({
        "id": row.id,
        "seq": row.seq,
        "source": row.source,
        "channel": row.channel,
        "external_id": row.external_id,
        "revision": row.revision,
        "received_at": row.received_at,
        "submitted_at": row.submitted_at,
        "future_dated": row.future_dated,
        "historical": row.historical,
        "title": title,
        "body": body,
        "target_unit": item.target_unit,
        "location": item.location,
        "url": item.url,
        "attachments": item.attachments,
        "meta": meta,
        "complainant": complainant,
        "content_hash": row.content_hash,
        "case_id": row.facets.case_id,
        "duplicate_of": row.facets.duplicate_of,
        "category": row.facets.category,
        "tags": row.facets.tags,
        "queue": row.facets.queue,
        "priority": row.facets.priority,
        "status": row.facets.status,
        "deadline": row.facets.deadline,
    })
}

fn csv_cell(value: &Value, column: &str) -> String {
    let mut current = value;
    for part in column.split('.') {
        match current.get(part) {
            Some(v) => current = v,
            None => return String::new(),
        }
    }
    match current {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}
