//! `complaint-gateway push`: the reference client for channel operators. Reads a file of items
//! (JSON Lines, a JSON array, CSV or XLSX), sends it in signed batches, and reports what the
//! gateway accepted and rejected. Batches refused for rate limiting are retried after
//! `Retry-After`; 5xx and connection errors are retried with backoff.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use connectors::tabular::{ColumnMap, TableFormat, read_table};
use serde_json::Value;

use crate::webhook::auth::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Gateway base URL, e.g. http://127.0.0.1:8080
    #[arg(long)]
    pub url: String,
    /// Webhook source name configured on the gateway.
    #[arg(long)]
    pub source: String,
    /// Environment variable holding the source's secret.
    #[arg(long, default_value = "COMPLAINT_GATEWAY_PUSH_SECRET")]
    pub secret_env: String,
    /// Items per request.
    #[arg(long, default_value_t = 500)]
    pub batch_size: usize,
    /// File of items (`.jsonl`, `.json`, `.csv`, `.xlsx`; `-` = JSON Lines on standard input).
    pub file: PathBuf,
}

/// Attempts per batch before giving up.
const ATTEMPTS: u32 = 6;

pub async fn run(args: PushArgs) -> anyhow::Result<()> {
    let secret = std::env::var(&args.secret_env).map_err(|_| {
        anyhow::anyhow!(
            "set the source's secret in the environment variable {}",
            args.secret_env
        )
    })?;
    let bytes = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(&args.file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?
    };
    let items = file_items(&args.file, &bytes)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .user_agent(concat!(
            "complaint-gateway-push/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()?;
    let endpoint = format!(
        "{}/v1/webhooks/{}",
        args.url.trim_end_matches('/'),
        args.source
    );
    let (mut accepted, mut duplicates, mut rejected) = (0usize, 0usize, 0usize);
    for (batch_no, batch) in items.chunks(args.batch_size.clamp(1, 1000)).enumerate() {
        let body = batch.join("\n").into_bytes();
        let answer = send_batch(&client, &endpoint, secret.trim().as_bytes(), body).await?;
        for a in answer["accepted"].as_array().into_iter().flatten() {
            if a["duplicate"].as_bool() == Some(true) {
                duplicates += 1;
            } else {
                accepted += 1;
            }
        }
        for r in answer["rejected"].as_array().into_iter().flatten() {
            rejected += 1;
            let index = r["index"].as_u64().unwrap_or(0) as usize + batch_no * args.batch_size;
            eprintln!(
                "item {index}: {}",
                r["error"].as_str().unwrap_or("rejected")
            );
        }
    }
    println!(
        "pushed {} items: {accepted} stored, {duplicates} already stored, {rejected} rejected (dead-lettered)",
        items.len()
    );
    Ok(())
}

/// One JSON text per item.
fn file_items(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<Vec<String>> {
    let name = path.to_string_lossy();
    if name.ends_with(".json") {
        let decoded = connectors::text::decode(bytes, None)?;
        let value: Value = serde_json::from_str(&decoded.text)?;
        return Ok(match value {
            Value::Array(items) => items.iter().map(Value::to_string).collect(),
            other => vec![other.to_string()],
        });
    }
    let format = TableFormat::from_path(&name).unwrap_or(TableFormat::Jsonl);
    if format == TableFormat::Jsonl {
        let decoded = connectors::text::decode(bytes, None)?;
        return Ok(decoded
            .text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect());
    }
    let rows = read_table(bytes, format, &ColumnMap::new(), &Default::default())?;
    Ok(rows
        .into_iter()
        .map(|row| match row.parsed {
            Ok(item) => serde_json::to_string(&item).expect("items serialise"),
            // Send the row as it is so the gateway dead-letters it with its reason.
            Err(_) => serde_json::to_string(&String::from_utf8_lossy(&row.raw))
                .expect("strings serialise"),
        })
        .collect())
}

async fn send_batch(
    client: &reqwest::Client,
    endpoint: &str,
    secret: &[u8],
    body: Vec<u8>,
) -> anyhow::Result<Value> {
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=ATTEMPTS {
        let timestamp = chrono::Utc::now().timestamp();
        let response = client
            .post(endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, sign(secret, timestamp, &body))
            .body(body.clone())
            .send()
            .await;
        let wait = match response {
            Ok(r) if r.status().is_success() => return Ok(r.json().await?),
            Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                let secs = r
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                Duration::from_secs(secs)
            }
            Ok(r) if r.status().is_server_error() => delay,
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                anyhow::bail!("gateway answered {status}: {text}");
            }
            Err(error) if attempt < ATTEMPTS => {
                eprintln!("attempt {attempt}: {error}; retrying");
                delay
            }
            Err(error) => return Err(error.into()),
        };
        tokio::time::sleep(wait).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
    anyhow::bail!("gave up after {ATTEMPTS} attempts")
}
