//! Turning one JSON page into raw items: locate the records by JSON pointer, keep each record's
//! verbatim bytes, and map JSON pointers to canonical fields. Fields not mapped stay in `meta`.
//!
//! A page that is not JSON, or whose items pointer does not lead to an array, is an error for
//! the whole page (the cursor does not move). Inside the array, each record maps on its own: a
//! record that cannot be mapped is a [`RawItem`] with an error, and the others proceed.

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::item::{ItemError, ParseOptions, json_kind};
use crate::json::JsonError;
use crate::raw::{RawItem, content_type_for, raw_bytes_of};
use crate::text::decode;

/// Canonical fields a mapping may target; `meta.<name>` is accepted too.
pub const CANONICAL_FIELDS: &[&str] = &[
    "external_id",
    "title",
    "body",
    "submitted_at",
    "target_unit",
    "url",
    "complainant.name",
    "complainant.phone",
    "complainant.email",
    "complainant.id",
    "complainant.address",
    "complainant.anonymous",
    "location.address",
    "location.district",
    "location.lat",
    "location.lon",
];

/// How records are found in a page and mapped to canonical fields.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// JSON pointer to the array of records (`""`: the page is the array).
    pub items_pointer: String,
    /// Canonical field (dotted) → JSON pointer inside a record.
    pub fields: Vec<(String, String)>,
    /// Keep the record's unmapped top-level fields in `meta`.
    pub keep_unmapped: bool,
}

/// Why a whole page was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    Decode(#[from] crate::text::DecodeError),
    #[error("page is not JSON: line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("items pointer `{pointer}` not found in the answer (top-level keys: {keys})")]
    ItemsNotFound { pointer: String, keys: String },
    #[error("items pointer `{pointer}` leads to {found}, not an array")]
    ItemsNotArray {
        pointer: String,
        found: &'static str,
    },
}

/// A mapped page: the items, and the whole document for pagination pointers.
#[derive(Debug)]
pub struct MappedPage {
    pub items: Vec<RawItem>,
    /// The page as a JSON value.
    pub document: Value,
    /// The records as JSON values, in the same order as `items`.
    pub records: Vec<Value>,
}

/// Checks a JSON pointer's syntax (`""` or `/…`).
pub fn valid_pointer(pointer: &str) -> bool {
    pointer.is_empty() || pointer.starts_with('/')
}

/// Checks a mapping target.
pub fn valid_field(field: &str) -> bool {
    CANONICAL_FIELDS.contains(&field)
        || field
            .strip_prefix("meta.")
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('.'))
}

/// Decodes `body` (charset from the answer, detected if wrong or missing) and maps its records.
pub fn map_page(
    body: &[u8],
    charset: Option<&str>,
    mapping: &Mapping,
    options: &ParseOptions,
) -> Result<MappedPage, PageError> {
    let decoded = decode(body, charset)?;
    let text = decoded.text.as_str();
    let json_error = |e: serde_json::Error| PageError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    // Strict first; only a page that repeats a key somewhere is read leniently and its records
    // checked one by one, so a duplicate refuses its own record and no other.
    let (document, repeats_keys) = match crate::json::parse_document(text) {
        Ok(document) => (document, false),
        Err(JsonError::Syntax(error)) => return Err(json_error(error)),
        Err(JsonError::DuplicateKey { .. }) => {
            (crate::json::parse_lenient(text).map_err(json_error)?, true)
        }
    };
    let array = match document.pointer(&mapping.items_pointer) {
        None => {
            return Err(PageError::ItemsNotFound {
                pointer: mapping.items_pointer.clone(),
                keys: top_level_keys(&document),
            });
        }
        Some(Value::Null) => {
            return Ok(MappedPage {
                items: Vec::new(),
                document,
                records: Vec::new(),
            });
        }
        Some(Value::Array(array)) => array.clone(),
        Some(other) => {
            return Err(PageError::ItemsNotArray {
                pointer: mapping.items_pointer.clone(),
                found: json_kind(other),
            });
        }
    };
    let raw_elements =
        raw_array_at(text, &mapping.items_pointer).filter(|raw| raw.len() == array.len());
    let content_type = content_type_for("application/json", decoded.encoding);
    let items = array
        .iter()
        .enumerate()
        .map(|(index, record)| {
            // Verbatim bytes of the element; the re-serialised value only if the raw walk and the
            // value walk disagree (duplicate keys), which keeps every record accounted for.
            let raw_element = raw_elements.as_ref().and_then(|r| r.get(index));
            let raw = match raw_element {
                Some(raw) => raw_bytes_of(raw.get(), decoded.encoding),
                None => serde_json::to_vec(record).expect("a value always serialises"),
            };
            if repeats_keys
                && let Some(Err(JsonError::DuplicateKey { path })) =
                    raw_element.map(|r| crate::json::parse_document(r.get()))
            {
                return RawItem::failed(
                    raw,
                    content_type.clone(),
                    ItemError::DuplicateKey { path },
                );
            }
            map_record(record, mapping, raw, content_type.clone(), options)
        })
        .collect();
    Ok(MappedPage {
        items,
        document,
        records: array,
    })
}

fn top_level_keys(document: &Value) -> String {
    match document {
        Value::Object(map) if !map.is_empty() => {
            map.keys().take(10).cloned().collect::<Vec<_>>().join(", ")
        }
        other => format!("none, the answer is {}", json_kind(other)),
    }
}

/// Maps one record to a raw item.
pub fn map_record(
    record: &Value,
    mapping: &Mapping,
    raw: Vec<u8>,
    content_type: String,
    options: &ParseOptions,
) -> RawItem {
    let Value::Object(_) = record else {
        return RawItem::failed(raw, content_type, ItemError::NotObject(json_kind(record)));
    };
    let mut canonical = Map::new();
    let mut leftover = record.clone();
    for (field, pointer) in &mapping.fields {
        if let Some(value) = record.pointer(pointer).filter(|v| !v.is_null()) {
            insert_dotted(&mut canonical, field, value.clone());
        }
        remove_pointer(&mut leftover, pointer);
    }
    if mapping.keep_unmapped
        && let Value::Object(rest) = leftover
    {
        let meta = canonical
            .entry("meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            for (key, value) in rest {
                if !is_empty_container(&value) && !meta.contains_key(&key) {
                    meta.insert(key, value);
                }
            }
        }
    }
    RawItem::from_value(Value::Object(canonical), raw, content_type, options)
}

fn insert_dotted(object: &mut Map<String, Value>, field: &str, value: Value) {
    match field.split_once('.') {
        Some((parent, child)) => {
            let entry = object
                .entry(parent.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                inner.insert(child.to_string(), value);
            }
        }
        None => {
            object.insert(field.to_string(), value);
        }
    }
}

/// Removes the value at `pointer` (objects only), then prunes the containers it leaves empty.
fn remove_pointer(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    if let Some(Value::Object(map)) = value.pointer_mut(parent) {
        map.remove(&key);
        if map.is_empty() && !parent.is_empty() {
            remove_pointer(value, parent);
        }
    }
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// The verbatim text of each element of the array at `pointer`, walking the page as raw JSON.
/// `None` when the walk cannot follow (the caller falls back to re-serialised values).
fn raw_array_at<'a>(text: &'a str, pointer: &str) -> Option<Vec<&'a RawValue>> {
    let mut current: &'a RawValue = serde_json::from_str(text).ok()?;
    if !pointer.is_empty() {
        for token in pointer[1..].split('/') {
            let token = token.replace("~1", "/").replace("~0", "~");
            let trimmed = current.get().trim_start();
            let next = if trimmed.starts_with('{') {
                let object: HashMap<String, &'a RawValue> =
                    serde_json::from_str(current.get()).ok()?;
                object.get(&token).copied()
            } else if trimmed.starts_with('[') {
                let array: Vec<&'a RawValue> = serde_json::from_str(current.get()).ok()?;
                token
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| array.get(i).copied())
            } else {
                None
            };
            current = next?;
        }
    }
    serde_json::from_str(current.get()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping {
            items_pointer: "/data/list".into(),
            fields: vec![
                ("external_id".into(), "/orderNo".into()),
                ("body".into(), "/content".into()),
                ("complainant.phone".into(), "/citizen/mobile".into()),
                ("location.district".into(), "/area".into()),
            ],
            keep_unmapped: true,
        }
    }

    #[test]
    fn maps_fields_and_keeps_the_rest_in_meta() {
        let page = r#"{"code":0,"data":{"list":[
            {"orderNo":"GD-1","content":"施工噪音扰民","citizen":{"mobile":"13900001111","sex":"女"},"area":"A3区","urgent":true}
        ]}}"#;
        let mapped = map_page(page.as_bytes(), None, &mapping(), &ParseOptions::default()).unwrap();
        let item = mapped.items[0].parsed.as_ref().unwrap();
        assert_eq!(item.external_id, "GD-1");
        assert_eq!(
            item.complainant.as_ref().unwrap().phone.as_deref(),
            Some("13900001111")
        );
        assert_eq!(
            item.location.as_ref().unwrap().district.as_deref(),
            Some("A3区")
        );
        assert_eq!(item.meta["urgent"], true);
        assert_eq!(item.meta["citizen"], serde_json::json!({"sex": "女"}));
        assert!(!item.meta.contains_key("orderNo"));
        let raw = String::from_utf8(mapped.items[0].raw.clone()).unwrap();
        assert!(raw.starts_with("{\"orderNo\":\"GD-1\""), "{raw}");
    }

    #[test]
    fn a_page_without_the_items_pointer_names_what_it_found() {
        let err = map_page(
            br#"{"code":500,"msg":"busy"}"#,
            None,
            &mapping(),
            &ParseOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("/data/list") && err.contains("code, msg"),
            "{err}"
        );
        let err = map_page(
            br#"{"data":{"list":{}}}"#,
            None,
            &mapping(),
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            PageError::ItemsNotArray {
                found: "an object",
                ..
            }
        ));
    }

    #[test]
    fn field_names_and_pointers_are_checked() {
        assert!(valid_field("complainant.phone") && valid_field("meta.工单类型"));
        assert!(!valid_field("complainant.mobile") && !valid_field("meta.") && !valid_field("bdy"));
        assert!(valid_pointer("") && valid_pointer("/a/0") && !valid_pointer("a/b"));
    }
}
