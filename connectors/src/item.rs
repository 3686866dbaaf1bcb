//! The canonical complaint item and its parsing.
//!
//! Parsing is explicit about what it accepts: ids may be JSON numbers (many systems emit them)
//! and are kept as the text that was sent, numbers may arrive as strings, and timestamps may be
//! RFC 3339, `YYYY-MM-DD HH:MM[:SS]` or unix seconds. What cannot be read is an [`ItemError`]
//! that names the field, never a silent default. Unknown top-level fields are moved into `meta`:
//! nothing a sender gives is dropped. A key given twice is an error, not a choice made for the
//! sender (see [`crate::json`]).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::text::clean_display;

/// Longest accepted `external_id`, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;

/// One complaint as a channel delivered it, after parsing and display cleaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The source's own id; unique per source.
    pub external_id: String,
    /// Optional title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The complaint text; never empty.
    pub body: String,
    /// When the complainant submitted it, if the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<FixedOffset>>,
    /// Who complained: personal data, never shown to the unit complained about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complainant: Option<Complainant>,
    /// Where the problem is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The unit complained about, if the source names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_unit: Option<String>,
    /// Link to the original (media items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Attached files, by reference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Channel-specific fields and unknown top-level fields, verbatim.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub meta: Map<String, Value>,
}

/// The person who complained. Every field is personal data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Complainant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// An identity document number or the source's person id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// Other fields the source sent about the person.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Where the problem is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A file attached to a complaint, by reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// Why an item was not accepted. The `Display` text is what the sender and the dead-letter store
/// see, so it names the field and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ItemError {
    /// The bytes are not JSON.
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// The bytes could not be decoded as text.
    #[error("{0}")]
    Decode(#[from] crate::text::DecodeError),
    /// The JSON value is not an object.
    #[error("item must be a JSON object, found {0}")]
    NotObject(&'static str),
    /// A required field is absent or empty.
    #[error("missing required field `{0}`")]
    Missing(&'static str),
    /// A field has a value that cannot be used.
    #[error("field `{field}`: {problem}")]
    Invalid { field: String, problem: String },
    /// An object of the item holds the same key twice.
    #[error("duplicate key `{path}`: each key may appear only once")]
    DuplicateKey { path: String },
    /// A mapping (connector or column map) failed.
    #[error("{0}")]
    Mapping(String),
}

impl ItemError {
    fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ItemError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// A stable machine code for the kind of problem.
    pub fn code(&self) -> &'static str {
        match self {
            ItemError::Json { .. } => "malformed_json",
            ItemError::Decode(_) => "undecodable_body",
            ItemError::NotObject(_) => "not_an_object",
            ItemError::Missing(_) => "missing_field",
            ItemError::Invalid { .. } => "invalid_field",
            ItemError::DuplicateKey { .. } => "duplicate_key",
            ItemError::Mapping(_) => "mapping_failed",
        }
    }

    /// Builds the error of a strict JSON read.
    pub fn from_strict_json(err: crate::json::JsonError) -> Self {
        match err {
            crate::json::JsonError::Syntax(err) => ItemError::from_json(&err),
            crate::json::JsonError::DuplicateKey { path } => ItemError::DuplicateKey { path },
        }
    }

    /// Builds [`ItemError::Json`] from a serde_json error.
    pub fn from_json(err: &serde_json::Error) -> Self {
        ItemError::Json {
            line: err.line(),
            column: err.column(),
            message: strip_position(&err.to_string()),
        }
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_string(),
        None => message.to_string(),
    }
}

/// How to read values that carry no explicit information.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Offset applied to timestamps without one (China Standard Time by default).
    pub default_offset: FixedOffset,
    /// How far past the time of receipt a `submitted_at` may lie before it counts as
    /// future-dated: kept as given, but never used for a clock, a window, a ranking or a cursor.
    pub future_tolerance: chrono::Duration,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            default_offset: FixedOffset::east_opt(8 * 3600).expect("valid offset"),
            future_tolerance: chrono::Duration::days(1),
        }
    }
}

impl Item {
    /// Parses one item from JSON text (strictly: see [`crate::json::parse_item`]).
    pub fn from_json_str(text: &str, options: &ParseOptions) -> Result<Item, ItemError> {
        let value = crate::json::parse_item(text).map_err(ItemError::from_strict_json)?;
        Item::from_value(value, options)
    }

    /// Parses one item from a JSON value.
    pub fn from_value(value: Value, options: &ParseOptions) -> Result<Item, ItemError> {
        let mut object = match value {
            Value::Object(object) => object,
            other => return Err(ItemError::NotObject(json_kind(&other))),
        };
        let external_id =
            take_id(&mut object, "external_id")?.ok_or(ItemError::Missing("external_id"))?;
        check_external_id(&external_id)?;
        let title = take_text(&mut object, "title")?
            .map(|t| clean_display(&t))
            .filter(|t| !t.is_empty());
        let body = take_text(&mut object, "body")?
            .map(|b| clean_display(&b))
            .unwrap_or_default();
        if body.trim().is_empty() {
            return Err(ItemError::Missing("body"));
        }
        let submitted_at = match object.remove("submitted_at") {
            None | Some(Value::Null) => None,
            Some(v) => {
                Some(parse_time(&v, options).map_err(|p| ItemError::invalid("submitted_at", p))?)
            }
        };
        let complainant = take_object(&mut object, "complainant")?
            .map(parse_complainant)
            .transpose()?;
        let location = take_object(&mut object, "location")?
            .map(parse_location)
            .transpose()?;
        let target_unit = take_text(&mut object, "target_unit")?
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let url = take_text(&mut object, "url")?
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let attachments = parse_attachments(object.remove("attachments"))?;
        let mut meta = match object.remove("meta") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(other) => Map::from_iter([("meta".to_string(), other)]),
        };
        for (key, value) in object {
            let key = if meta.contains_key(&key) {
                format!("_{key}")
            } else {
                key
            };
            meta.insert(key, value);
        }
        Ok(Item {
            external_id,
            title,
            body,
            submitted_at,
            complainant,
            location,
            target_unit,
            url,
            attachments,
            meta,
        })
    }

    /// SHA-256 (hex) over the canonical serialisation: equal items hash equal whatever the key
    /// order or whitespace of the JSON they came from.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("an item always serialises");
        hex::encode(Sha256::digest(&canonical))
    }

    /// The normalised matching text of title and body.
    pub fn normalized_text(&self) -> String {
        crate::text::matching_text(self.title.as_deref(), &self.body)
    }
}

/// Name of a JSON value's kind, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks an id that was already trimmed: a length bound, and no character that a person cannot
/// see or that reorders what they see (control, bidi and zero-width characters would make two
/// ids that look the same differ, or one id look like another).
fn check_external_id(id: &str) -> Result<(), ItemError> {
    if id.chars().count() > MAX_EXTERNAL_ID_CHARS {
        return Err(ItemError::invalid(
            "external_id",
            format!("longer than {MAX_EXTERNAL_ID_CHARS} characters"),
        ));
    }
    if let Some((position, c)) = id.chars().enumerate().find(|(_, c)| is_invisible(*c)) {
        return Err(ItemError::invalid(
            "external_id",
            format!(
                "holds the invisible or control character U+{:04X} at character {}; ids may hold \
                 only visible characters and spaces",
                c as u32,
                position + 1
            ),
        ));
    }
    Ok(())
}

/// Control characters, and the format characters that are invisible or change the direction of
/// text: bidi embeddings, overrides, isolates and marks, zero-width spaces and joiners, the BOM,
/// soft hyphen, interlinear annotation and tag characters, line and paragraph separators.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Reads an id. A string is trimmed of surrounding whitespace (exports pad cells; `" 42"` and
/// `"42"` are one id); a number is taken as the text that was sent, which the strict reader keeps
/// for `external_id` and `complainant.id`; elsewhere (a connector's mapped record) only an integer
/// is exact, so a number with a fraction or an exponent is refused rather than rounded.
fn take_id(
    object: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, ItemError> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) if n.is_f64() => Err(ItemError::invalid(
            field,
            format!("the number {n} is not an exact id; send the id as a string"),
        )),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(ItemError::invalid(
            field,
            format!("expected a string or a number, found {}", json_kind(&other)),
        )),
    }
}

fn take_text(object: &mut Map<String, Value>, field: &str) -> Result<Option<String>, ItemError> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(ItemError::invalid(
            field,
            format!("expected a string, found {}", json_kind(&other)),
        )),
    }
}

fn take_object(
    object: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<Map<String, Value>>, ItemError> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(ItemError::invalid(
            field,
            format!("expected an object, found {}", json_kind(&other)),
        )),
    }
}

fn nested_text(
    object: &mut Map<String, Value>,
    parent: &str,
    field: &str,
) -> Result<Option<String>, ItemError> {
    take_text(object, field)
        .map(|v| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
        .map_err(|e| prefix_field(e, parent))
}

fn prefix_field(err: ItemError, parent: &str) -> ItemError {
    match err {
        ItemError::Invalid { field, problem } => ItemError::Invalid {
            field: format!("{parent}.{field}"),
            problem,
        },
        other => other,
    }
}

fn parse_complainant(mut object: Map<String, Value>) -> Result<Complainant, ItemError> {
    let p = "complainant";
    let anonymous = match object.remove("anonymous") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "y" | "是" | "匿名"
        ),
        Some(other) => {
            return Err(ItemError::invalid(
                "complainant.anonymous",
                format!("expected a boolean, found {}", json_kind(&other)),
            ));
        }
    };
    Ok(Complainant {
        name: nested_text(&mut object, p, "name")?,
        phone: nested_text(&mut object, p, "phone")?,
        email: nested_text(&mut object, p, "email")?,
        id: take_id(&mut object, "id").map_err(|e| prefix_field(e, p))?,
        address: nested_text(&mut object, p, "address")?,
        anonymous,
        extra: object,
    })
}

fn parse_location(mut object: Map<String, Value>) -> Result<Location, ItemError> {
    let p = "location";
    let lat = take_coordinate(&mut object, "lat", 90.0)?;
    let lon = take_coordinate(&mut object, "lon", 180.0)?;
    Ok(Location {
        address: nested_text(&mut object, p, "address")?,
        district: nested_text(&mut object, p, "district")?,
        lat,
        lon,
        extra: object,
    })
}

fn take_coordinate(
    object: &mut Map<String, Value>,
    field: &str,
    limit: f64,
) -> Result<Option<f64>, ItemError> {
    let value = match object.remove(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match value {
        Some(v) if v.is_finite() && v.abs() <= limit => Ok(Some(v)),
        _ => Err(ItemError::invalid(
            format!("location.{field}"),
            format!("expected a number between -{limit} and {limit}"),
        )),
    }
}

fn parse_attachments(value: Option<Value>) -> Result<Vec<Attachment>, ItemError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(ItemError::invalid(
                "attachments",
                format!("expected an array, found {}", json_kind(&other)),
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let field = format!("attachments[{i}]");
            match v {
                Value::String(url) if !url.trim().is_empty() => Ok(Attachment {
                    url: url.trim().to_string(),
                    ..Attachment::default()
                }),
                Value::Object(mut m) => {
                    let text = |m: &mut Map<String, Value>, k: &str| {
                        take_text(m, k)
                            .map(|v| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
                            .map_err(|e| prefix_field(e, &field))
                    };
                    let url = text(&mut m, "url")?
                        .ok_or_else(|| ItemError::invalid(format!("{field}.url"), "required"))?;
                    Ok(Attachment {
                        url,
                        name: text(&mut m, "name")?,
                        content_type: text(&mut m, "content_type")?,
                    })
                }
                other => Err(ItemError::invalid(
                    field,
                    format!("expected an object with `url`, found {}", json_kind(&other)),
                )),
            }
        })
        .collect()
}

/// Reads a timestamp: RFC 3339, `YYYY-MM-DD[ T]HH:MM[:SS]`, `YYYY/MM/DD …`, a bare date, or unix
/// seconds (milliseconds when the number is that large). Values without an offset take
/// `options.default_offset`.
pub fn parse_time(value: &Value, options: &ParseOptions) -> Result<DateTime<FixedOffset>, String> {
    let offset = options.default_offset;
    match value {
        Value::Number(n) => {
            let secs = n.as_i64().ok_or("expected whole unix seconds")?;
            let secs = if secs.abs() > 100_000_000_000 {
                secs / 1000
            } else {
                secs
            };
            offset
                .timestamp_opt(secs, 0)
                .single()
                .ok_or_else(|| format!("unix time {secs} is out of range"))
        }
        Value::String(s) => parse_time_str(s.trim(), offset),
        other => Err(format!(
            "expected a timestamp string, found {}",
            json_kind(other)
        )),
    }
}

fn parse_time_str(s: &str, offset: FixedOffset) -> Result<DateTime<FixedOffset>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    let unified = s.replace('/', "-");
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(&unified, format) {
            return offset
                .from_local_datetime(&naive)
                .single()
                .ok_or_else(|| format!("`{s}` is not a valid local time"));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(&unified, "%Y-%m-%d") {
        let naive = date.and_hms_opt(0, 0, 0).expect("midnight exists");
        return Ok(offset
            .from_local_datetime(&naive)
            .single()
            .expect("fixed offsets are unambiguous"));
    }
    Err(format!(
        "`{s}` is not a timestamp (expected RFC 3339 such as 2024-05-01T09:30:00+08:00)"
    ))
}

#[cfg(test)]
mod tests;
