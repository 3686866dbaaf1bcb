//! [`RawItem`]: what every path into the gateway hands to intake.

use serde_json::Value;

use crate::item::{Item, ItemError, ParseOptions};
use crate::text::encode;

/// One item as received: its verbatim bytes and the result of parsing them.
///
/// The gateway stores `raw` unchanged with the complaint, or in the dead-letter store with the
/// error when `parsed` is an error, so nothing a channel sent is ever lost.
#[derive(Debug, Clone)]
pub struct RawItem {
    /// The item's bytes exactly as the channel sent them (for one element of a batch, that
    /// element's bytes in the batch's original encoding).
    pub raw: Vec<u8>,
    /// Media type of `raw`, with its charset when it is not UTF-8.
    pub content_type: String,
    /// The parsed item, or why it could not be parsed.
    pub parsed: Result<Item, ItemError>,
    /// The source's id for the item when it could be read even though parsing failed.
    pub external_id_hint: Option<String>,
}

impl RawItem {
    /// Parses one JSON object given as text (strictly: see [`crate::json::parse_item`]),
    /// keeping `raw` as the verbatim bytes.
    pub fn from_json_text(
        text: &str,
        raw: Vec<u8>,
        content_type: String,
        options: &ParseOptions,
    ) -> RawItem {
        match crate::json::parse_item(text) {
            Ok(value) => RawItem::from_value(value, raw, content_type, options),
            Err(err) => {
                // A refused item still names its id where one can be read, so the dead letter
                // can be found by it.
                let external_id_hint = crate::json::parse_lenient(text)
                    .ok()
                    .as_ref()
                    .and_then(id_hint);
                RawItem {
                    raw,
                    content_type,
                    parsed: Err(ItemError::from_strict_json(err)),
                    external_id_hint,
                }
            }
        }
    }

    /// Parses an already-decoded JSON value (a connector's mapped record, a table row).
    pub fn from_value(
        value: Value,
        raw: Vec<u8>,
        content_type: String,
        options: &ParseOptions,
    ) -> RawItem {
        let external_id_hint = id_hint(&value);
        RawItem {
            raw,
            content_type,
            parsed: Item::from_value(value, options),
            external_id_hint,
        }
    }

    /// A raw item that failed before it could be parsed at all (undecodable bytes, a mapping
    /// error in a connector).
    pub fn failed(raw: Vec<u8>, content_type: String, error: ItemError) -> RawItem {
        RawItem {
            raw,
            content_type,
            parsed: Err(error),
            external_id_hint: None,
        }
    }

    /// A raw item built from a JSON value the caller produced itself (e.g. a spreadsheet row):
    /// the value's own serialisation is kept as the raw bytes.
    pub fn from_synthetic_json(value: Value, options: &ParseOptions) -> RawItem {
        let raw = serde_json::to_vec(&value).expect("a JSON value always serialises");
        RawItem::from_value(value, raw, "application/json".to_string(), options)
    }
}

fn id_hint(value: &Value) -> Option<String> {
    match value.get("external_id")? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The content type recorded for raw bytes of `media_type` in `encoding`.
pub fn content_type_for(media_type: &str, encoding: &'static encoding_rs::Encoding) -> String {
    if encoding == encoding_rs::UTF_8 {
        media_type.to_string()
    } else {
        format!("{media_type}; charset={}", encoding.name())
    }
}

/// Raw bytes of a slice of decoded text, re-encoded into the encoding it arrived in.
pub fn raw_bytes_of(text: &str, encoding: &'static encoding_rs::Encoding) -> Vec<u8> {
    encode(text, encoding)
}
