//! Reading Open311 GeoReport v2 documents (JSON and XML) into records, leniently.
//!
//! Real servers, and the spec's own examples, deviate from strict JSON: numbers with leading
//! zeros (`"service_code":006`) are rejected by every strict parser. [`quote_leading_zero_numbers`]
//! turns such tokens into strings before parsing, which also keeps the zeros of a code. Each
//! record keeps its verbatim upstream text (the pre-pass is undone for it).
//!
//! The parser accepts every document kind of the spec (service lists, service definitions,
//! request lists, POST and token answers, error lists): a top-level array (or a `<root>` whose
//! children repeat one name) is a list of records, a single object is one record. Whether a
//! record is a usable service request is the mapper's business, not the parser's.

use std::borrow::Cow;
use std::collections::HashMap;

use quick_xml::events::Event;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::json::JsonError;

/// One record with its verbatim text.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record as JSON (XML elements become strings, nested objects and arrays).
    pub value: Value,
    /// The record's text exactly as it appeared upstream.
    pub raw: String,
    /// The path of a key the record holds twice (JSON only; such a record is refused).
    pub duplicate_key: Option<String>,
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The XML root element's name (`service_requests`, `errors`, …); `None` for JSON.
    pub root: Option<String>,
    pub records: Vec<Record>,
}

/// Why a whole document could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("JSON: line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("XML at byte {offset}: {message}")]
    Xml { offset: u64, message: String },
    #[error("XML: the document has no root element")]
    NoRoot,
}

/// Wraps every number token that starts with a redundant zero (`006`, `-01.5`) in quotes.
/// Returns the text unchanged (borrowed) when there is none, and the byte offsets (in the
/// returned text) of the quotes it inserted.
pub fn quote_leading_zero_numbers(text: &str) -> (Cow<'_, str>, Vec<usize>) {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut inserted = Vec::new();
    let mut copied = 0;
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let starts_number = b.is_ascii_digit() || b == b'-';
        let previous_is_word =
            i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.');
        if starts_number && !previous_is_word {
            let start = i;
            let mut end = i + 1;
            while end < bytes.len()
                && matches!(bytes[end], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
            {
                end += 1;
            }
            let digits = &text[start..end];
            let unsigned = digits.strip_prefix('-').unwrap_or(digits);
            let redundant_zero = unsigned.len() > 1
                && unsigned.as_bytes()[0] == b'0'
                && unsigned.as_bytes()[1].is_ascii_digit();
            if redundant_zero {
                let buffer = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                buffer.push_str(&text[copied..start]);
                inserted.push(buffer.len());
                buffer.push('"');
                buffer.push_str(digits);
                inserted.push(buffer.len());
                buffer.push('"');
                copied = end;
            }
            i = end;
            continue;
        }
        i += 1;
    }
    match out {
        None => (Cow::Borrowed(text), inserted),
        Some(mut buffer) => {
            buffer.push_str(&text[copied..]);
            (Cow::Owned(buffer), inserted)
        }
    }
}

/// Parses a JSON document (already decoded to text).
pub fn parse_json(text: &str) -> Result<Document, ParseError> {
    let (lenient, inserted) = quote_leading_zero_numbers(text);
    let lenient: &str = &lenient;
    let json_error = |e: serde_json::Error| ParseError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let top: &RawValue = serde_json::from_str(lenient).map_err(json_error)?;
    let elements = list_elements(top).map_err(json_error)?;
    let original = |slice: &str| -> String {
        // Map the slice of the lenient text back to the upstream text: subtract the quotes
        // inserted before each end.
        let start = slice.as_ptr() as usize - lenient.as_ptr() as usize;
        let end = start + slice.len();
        let before = |pos: usize| inserted.iter().take_while(|&&q| q < pos).count();
        text[start - before(start)..end - before(end)].to_string()
    };
    let records = elements
        .into_iter()
        .map(|raw| {
            let (value, duplicate_key) = match crate::json::parse_document(raw.get()) {
                Ok(value) => (value, None),
                Err(JsonError::Syntax(error)) => return Err(json_error(error)),
                Err(JsonError::DuplicateKey { path }) => (
                    crate::json::parse_lenient(raw.get()).map_err(json_error)?,
                    Some(path),
                ),
            };
            Ok(Record {
                value,
                raw: original(raw.get()),
                duplicate_key,
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    Ok(Document {
        root: None,
        records,
    })
}

/// The list a JSON document holds: a top-level array, the array of an object's only key
/// (`{"service_requests": […]}`), or a single object as a one-record list.
fn list_elements(top: &RawValue) -> Result<Vec<&RawValue>, serde_json::Error> {
    let text = top.get().trim_start();
    if text.starts_with('[') {
        return serde_json::from_str(top.get());
    }
    if text.starts_with('{')
        && let Ok(object) = serde_json::from_str::<HashMap<String, &RawValue>>(top.get())
        && object.len() == 1
        && let Some(inner) = object.into_values().next()
        && inner.get().trim_start().starts_with('[')
    {
        return serde_json::from_str(inner.get());
    }
    Ok(vec![top])
}

/// Deepest XML nesting accepted. GeoReport documents are four levels deep; the limit keeps a
/// hostile document from exhausting the stack of the recursive tree walk.
pub const MAX_XML_DEPTH: usize = 64;

/// An XML element as a tree, with its span in the text.
#[derive(Debug, Default)]
struct Element {
    name: String,
    children: Vec<Element>,
    text: String,
    start: usize,
    end: usize,
}

/// Parses an XML document (already decoded to text).
pub fn parse_xml(text: &str) -> Result<Document, ParseError> {
    let root = xml_tree(text)?;
    let list = !root.children.is_empty()
        && root
            .children
            .iter()
            .all(|c| c.name == root.children[0].name)
        && root.children.iter().any(|c| !c.children.is_empty());
    let empty_list = root.children.is_empty() && root.text.trim().is_empty();
    let records = if empty_list {
        Vec::new()
    } else if list {
        root.children
            .iter()
            .map(|child| Record {
                value: element_value(child),
                raw: text[child.start..child.end].to_string(),
                duplicate_key: None,
            })
            .collect()
    } else {
        vec![Record {
            value: element_value(&root),
            raw: text[root.start..root.end].to_string(),
            duplicate_key: None,
        }]
    };
    Ok(Document {
        root: Some(root.name),
        records,
    })
}

fn xml_tree(text: &str) -> Result<Element, ParseError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let xml_error = |reader: &quick_xml::Reader<&[u8]>, message: String| ParseError::Xml {
        offset: reader.error_position(),
        message,
    };
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| xml_error(&reader, e.to_string()))?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(xml_error(&reader, "content after the root element".into()));
                }
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(xml_error(
                        &reader,
                        format!("elements nested deeper than {MAX_XML_DEPTH} levels"),
                    ));
                }
                stack.push(Element {
                    name: start.local_name().as_ref().to_string(),
                    start: before,
                    ..Element::default()
                });
            }
            Event::Empty(empty) => {
                let element = Element {
                    name: empty.local_name().as_ref().to_string(),
                    start: before,
                    end: after,
                    ..Element::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => {
                        return Err(xml_error(&reader, "content after the root element".into()));
                    }
                }
            }
            Event::End(_) => {
                let mut element = stack
                    .pop()
                    .ok_or_else(|| xml_error(&reader, "unexpected end tag".into()))?;
                element.end = after;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&c);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match &*r {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => {
                            return Err(xml_error(&reader, format!("unknown entity `&{other};`")));
                        }
                    },
                    Err(e) => return Err(xml_error(&reader, e.to_string())),
                };
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(ParseError::Xml {
            offset: text.len() as u64,
            message: format!("element `{}` is not closed", stack[stack.len() - 1].name),
        });
    }
    root.ok_or(ParseError::NoRoot)
}

/// An element as JSON: text for a leaf (null when empty), an object of children otherwise,
/// repeated child names collected into an array.
fn element_value(element: &Element) -> Value {
    if element.children.is_empty() {
        let text = element.text.trim();
        return if text.is_empty() {
            Value::Null
        } else {
            Value::String(text.to_string())
        };
    }
    let mut object = Map::new();
    for child in &element.children {
        let value = element_value(child);
        match object.get_mut(&child.name) {
            None => {
                object.insert(child.name.clone(), value);
            }
            // element_value never returns an array, so an array here is one this loop built.
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    Value::Object(object)
}
