//! Mapping GeoReport v2 records to canonical items, and reading what an answer says besides
//! its records (error lists, the newest `updated_datetime`).
//!
//! Servers disagree on types and spacing: ids are numbers or strings, values carry stray
//! spaces, empty values are `""`, `null` or an empty element. Every value is trimmed and an
//! empty one is absent; nothing the server sent is dropped (unmapped fields go to `meta`).

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value, json};

use super::{Document, Record};
use crate::item::{ItemError, ParseOptions, json_kind, parse_time};
use crate::raw::RawItem;

/// The message of an Open311 error answer (`<errors>` or a list of `{code, description}`).
pub(super) fn error_answer(document: &Document) -> Option<String> {
    let is_error = |v: &Value| {
        v.get("description").is_some()
            && v.get("code").is_some()
            && v.get("service_request_id").is_none()
    };
    let errors = document.root.as_deref() == Some("errors")
        || (!document.records.is_empty() && document.records.iter().all(|r| is_error(&r.value)));
    errors.then(|| {
        document
            .records
            .iter()
            .filter_map(|r| {
                let code = scalar_text(r.value.get("code")?).unwrap_or_default();
                let description = scalar_text(r.value.get("description")?).unwrap_or_default();
                Some(format!("{code} {description}"))
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

pub(super) fn newer_updated(
    current: Option<String>,
    record: &Value,
    options: &ParseOptions,
) -> Option<String> {
    let candidate = record.get("updated_datetime").and_then(scalar_text);
    let time = |s: &String| -> Option<DateTime<FixedOffset>> {
        parse_time(&Value::String(s.clone()), options).ok()
    };
    match (current, candidate) {
        (Some(c), Some(n)) => match (time(&c), time(&n)) {
            (Some(ct), Some(nt)) if nt > ct => Some(n),
            (None, Some(_)) => Some(n),
            _ => Some(c),
        },
        (c, n) => c.or(n),
    }
}

/// A scalar as trimmed text (numbers as written); `None` for empty, null or structured values.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Fields of a GeoReport v2 request that map to canonical fields.
const MAPPED: &[&str] = &[
    "service_request_id",
    "description",
    "requested_datetime",
    "agency_responsible",
    "address",
    "lat",
    "long",
    "media_url",
    "zipcode",
    "address_id",
];

/// Maps one parsed record to a raw item: refused when it repeats a key, else [`map_request`].
pub fn map_record(
    record: &Record,
    raw: Vec<u8>,
    content_type: String,
    options: &ParseOptions,
) -> RawItem {
    match &record.duplicate_key {
        Some(path) => RawItem::failed(
            raw,
            content_type,
            ItemError::DuplicateKey { path: path.clone() },
        ),
        None => map_request(&record.value, raw, content_type, options),
    }
}

/// Maps one GeoReport v2 service request to a raw item. Ids may be numbers or strings, values
/// are trimmed, empty values are absent; a request without description is read by its
/// `service_name` (many 311 requests carry only their type).
pub fn map_request(
    record: &Value,
    raw: Vec<u8>,
    content_type: String,
    options: &ParseOptions,
) -> RawItem {
    let Value::Object(fields) = record else {
        return RawItem::failed(raw, content_type, ItemError::NotObject(json_kind(record)));
    };
    let text = |key: &str| fields.get(key).and_then(scalar_text);
    let mut item = Map::new();
    let mut meta = Map::new();
    if let Some(id) = text("service_request_id") {
        item.insert("external_id".into(), json!(id));
    }
    let service_name = text("service_name");
    if let Some(name) = &service_name {
        item.insert("title".into(), json!(name));
    }
    match (text("description"), &service_name) {
        (Some(description), _) => {
            item.insert("body".into(), json!(description));
        }
        (None, Some(name)) => {
            item.insert("body".into(), json!(name));
            meta.insert("body_from".into(), json!("service_name"));
        }
        (None, None) => {}
    }
    if let Some(requested) = text("requested_datetime") {
        item.insert("submitted_at".into(), json!(requested));
    }
    if let Some(agency) = text("agency_responsible") {
        item.insert("target_unit".into(), json!(agency));
    }
    let mut location = Map::new();
    for (from, to) in [
        ("address", "address"),
        ("lat", "lat"),
        ("long", "lon"),
        ("zipcode", "zipcode"),
        ("address_id", "address_id"),
    ] {
        if let Some(value) = text(from) {
            location.insert(to.into(), json!(value));
        }
    }
    if !location.is_empty() {
        item.insert("location".into(), Value::Object(location));
    }
    if let Some(media) = text("media_url") {
        item.insert("attachments".into(), json!([{ "url": media }]));
    }
    for (key, value) in fields {
        if MAPPED.contains(&key.as_str()) {
            continue;
        }
        let value = match value {
            Value::String(s) if s.trim().is_empty() => continue,
            Value::String(s) => json!(s.trim()),
            Value::Null => continue,
            other => other.clone(),
        };
        meta.insert(key.clone(), value);
    }
    if !meta.is_empty() {
        item.insert("meta".into(), Value::Object(meta));
    }
    RawItem::from_value(Value::Object(item), raw, content_type, options)
}
