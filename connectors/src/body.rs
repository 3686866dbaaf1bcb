//! Splitting a pushed body into raw items.
//!
//! A body is one JSON object, a JSON array of objects, or JSON Lines. A body that is not JSON at
//! all is one error for the whole request (the caller dead-letters it and answers 400); inside a
//! valid array or JSON Lines, each element succeeds or fails on its own.

use crate::item::{ItemError, ParseOptions};
use crate::json::JsonError;
use crate::raw::{RawItem, content_type_for, raw_bytes_of};
use crate::text::{DecodeError, decode};

/// The shape of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// One object or an array of objects.
    Json,
    /// One object per line.
    JsonLines,
}

impl BodyFormat {
    /// Chooses the format from a `Content-Type` value.
    pub fn from_content_type(content_type: Option<&str>) -> BodyFormat {
        let media = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match media.as_str() {
            "application/x-ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines" => BodyFormat::JsonLines,
            _ => BodyFormat::Json,
        }
    }
}

/// Why a whole body was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BodyError {
    /// The bytes are not text in any encoding that fits.
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// The body is not valid JSON.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// The body is valid JSON but neither an object nor an array.
    #[error("body must be a JSON object, an array of objects or JSON Lines, found {0}")]
    Shape(&'static str),
    /// The body holds no item.
    #[error("body holds no item")]
    Empty,
    /// More items than one request may carry.
    #[error("batch holds {count} items; at most {max} are accepted per request")]
    TooManyItems { count: usize, max: usize },
}

/// Splits `bytes` into raw items. `charset` is the HTTP charset parameter, if any.
pub fn split_body(
    bytes: &[u8],
    format: BodyFormat,
    charset: Option<&str>,
    max_items: usize,
    options: &ParseOptions,
) -> Result<Vec<RawItem>, BodyError> {
    let decoded = decode(bytes, charset)?;
    split_text(&decoded.text, decoded.encoding, format, max_items, options)
}

/// Splits text already decoded from bytes in `encoding` (each item's raw bytes are re-encoded
/// into it).
pub fn split_text(
    text: &str,
    encoding: &'static encoding_rs::Encoding,
    format: BodyFormat,
    max_items: usize,
    options: &ParseOptions,
) -> Result<Vec<RawItem>, BodyError> {
    match format {
        BodyFormat::Json => split_json(text, encoding, max_items, options),
        BodyFormat::JsonLines => split_lines(text, encoding, max_items, options),
    }
}

fn split_json(
    text: &str,
    encoding: &'static encoding_rs::Encoding,
    max_items: usize,
    options: &ParseOptions,
) -> Result<Vec<RawItem>, BodyError> {
    let content_type = content_type_for("application/json", encoding);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(BodyError::Empty);
    }
    let to_body_error = |e: serde_json::Error| match ItemError::from_json(&e) {
        ItemError::Json {
            line,
            column,
            message,
        } => BodyError::Json {
            line,
            column,
            message,
        },
        _ => unreachable!("from_json only builds Json errors"),
    };
    if trimmed.starts_with('[') {
        let elements: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(text).map_err(to_body_error)?;
        if elements.is_empty() {
            return Err(BodyError::Empty);
        }
        if elements.len() > max_items {
            return Err(BodyError::TooManyItems {
                count: elements.len(),
                max: max_items,
            });
        }
        Ok(elements
            .into_iter()
            .map(|element| {
                let text = element.get();
                RawItem::from_json_text(
                    text,
                    raw_bytes_of(text, encoding),
                    content_type.clone(),
                    options,
                )
            })
            .collect())
    } else {
        match crate::json::parse_item(text) {
            Err(JsonError::Syntax(error)) => Err(to_body_error(error)),
            // Valid JSON whose item repeats a key: that item is refused (read again to name its
            // id), as it would be inside a batch.
            Err(JsonError::DuplicateKey { .. }) => Ok(vec![RawItem::from_json_text(
                text,
                raw_bytes_of(text, encoding),
                content_type,
                options,
            )]),
            Ok(value) if !value.is_object() => {
                Err(BodyError::Shape(crate::item::json_kind(&value)))
            }
            Ok(value) => Ok(vec![RawItem::from_value(
                value,
                raw_bytes_of(text, encoding),
                content_type,
                options,
            )]),
        }
    }
}

fn split_lines(
    text: &str,
    encoding: &'static encoding_rs::Encoding,
    max_items: usize,
    options: &ParseOptions,
) -> Result<Vec<RawItem>, BodyError> {
    let content_type = content_type_for("application/json", encoding);
    let lines: Vec<(usize, &str)> = text
        .split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return Err(BodyError::Empty);
    }
    if lines.len() > max_items {
        return Err(BodyError::TooManyItems {
            count: lines.len(),
            max: max_items,
        });
    }
    Ok(lines
        .into_iter()
        .map(|(line_number, line)| {
            let mut item = RawItem::from_json_text(
                line,
                raw_bytes_of(line, encoding),
                content_type.clone(),
                options,
            );
            if let Err(ItemError::Json { line, .. }) = &mut item.parsed {
                *line = line_number;
            }
            item
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ParseOptions {
        ParseOptions::default()
    }

    #[test]
    fn single_object_array_and_lines() {
        let one = split_body(
            br#"{"external_id":"1","body":"a"}"#,
            BodyFormat::Json,
            None,
            10,
            &opts(),
        )
        .unwrap();
        assert_eq!(one.len(), 1);
        assert!(one[0].parsed.is_ok());

        let body = r#"[{"external_id":"1","body":"a"}, {"external_id":"2"}, 7]"#;
        let many = split_body(body.as_bytes(), BodyFormat::Json, None, 10, &opts()).unwrap();
        assert_eq!(many.len(), 3);
        assert!(many[0].parsed.is_ok());
        assert_eq!(many[1].external_id_hint.as_deref(), Some("2"));
        assert!(matches!(many[1].parsed, Err(ItemError::Missing("body"))));
        assert_eq!(many[2].raw, b"7");

        let lines = "{\"external_id\":\"1\",\"body\":\"a\"}\n\n{broken\n{\"external_id\":\"3\",\"body\":\"c\"}\r\n";
        let items = split_body(lines.as_bytes(), BodyFormat::JsonLines, None, 10, &opts()).unwrap();
        assert_eq!(items.len(), 3);
        assert!(matches!(
            items[1].parsed,
            Err(ItemError::Json { line: 3, .. })
        ));
        assert_eq!(items[1].raw, b"{broken");
    }

    #[test]
    fn whole_body_errors() {
        let err = split_body(b"{\"a\":\n  tru}", BodyFormat::Json, None, 10, &opts()).unwrap_err();
        assert!(matches!(err, BodyError::Json { line: 2, .. }), "{err}");
        let err = split_body(b"\"text\"", BodyFormat::Json, None, 10, &opts()).unwrap_err();
        assert_eq!(err, BodyError::Shape("a string"));
        let err = split_body(b"[]", BodyFormat::Json, None, 10, &opts()).unwrap_err();
        assert_eq!(err, BodyError::Empty);
        let err = split_body(b"[1,2,3]", BodyFormat::Json, None, 2, &opts()).unwrap_err();
        assert_eq!(err, BodyError::TooManyItems { count: 3, max: 2 });
    }

    #[test]
    fn gb18030_batch_keeps_verbatim_element_bytes() {
        let text = r#"[{"external_id":"g1","body":"供暖不热，投诉无果"}]"#;
        let bytes = crate::text::encode(text, encoding_rs::GB18030);
        let items = split_body(&bytes, BodyFormat::Json, Some("gb18030"), 10, &opts()).unwrap();
        assert_eq!(items[0].parsed.as_ref().unwrap().body, "供暖不热，投诉无果");
        assert_eq!(items[0].content_type, "application/json; charset=gb18030");
        let element = crate::text::encode(&text[1..text.len() - 1], encoding_rs::GB18030);
        assert_eq!(items[0].raw, element);
    }

    #[test]
    fn content_type_selects_format() {
        assert_eq!(
            BodyFormat::from_content_type(Some("application/x-ndjson; charset=utf-8")),
            BodyFormat::JsonLines
        );
        assert_eq!(
            BodyFormat::from_content_type(Some("application/json")),
            BodyFormat::Json
        );
        assert_eq!(BodyFormat::from_content_type(None), BodyFormat::Json);
    }
}
