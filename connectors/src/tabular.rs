//! Reading exports (JSON Lines, a JSON array or pretty-printed JSON items, CSV, XLSX) into raw
//! items, one per record.
//!
//! Column names are canonical field names; nested fields use dots (`complainant.phone`,
//! `location.district`). A column map renames a source's own headers (`来信人电话` →
//! `complainant.phone`) first. Columns that are neither canonical nor mapped end up in `meta`.
//! Empty cells are absent values.
//!
//! Raw bytes per record: the line for JSON Lines and CSV (in the file's own encoding); for XLSX,
//! which has no per-row bytes, the row as a JSON object of header → cell text.

use std::collections::HashMap;
use std::io::Cursor;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::body::{BodyError, BodyFormat, split_text};
use crate::item::{ItemError, ParseOptions};
use crate::raw::{RawItem, content_type_for, raw_bytes_of};
use crate::text::{DecodeError, decode};

/// A file format for batch import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Jsonl,
    Csv,
    Xlsx,
}

impl TableFormat {
    /// Guesses the format from a file name's extension.
    pub fn from_path(path: &str) -> Option<TableFormat> {
        let ext = path.rsplit('.').next()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(TableFormat::Jsonl),
            "csv" | "tsv" | "txt" => Some(TableFormat::Csv),
            "xlsx" | "xlsm" | "xls" => Some(TableFormat::Xlsx),
            _ => None,
        }
    }
}

impl std::str::FromStr for TableFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonl" | "json" | "ndjson" => Ok(TableFormat::Jsonl),
            "csv" => Ok(TableFormat::Csv),
            "xlsx" => Ok(TableFormat::Xlsx),
            other => Err(format!(
                "unknown format `{other}`; expected jsonl (or json), csv or xlsx"
            )),
        }
    }
}

/// Why a whole file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("CSV: {0}")]
    Csv(String),
    #[error("spreadsheet: {0}")]
    Xlsx(String),
    #[error("the file has no header row")]
    NoHeader,
    #[error("{0}")]
    Body(#[from] BodyError),
}

/// Renames source columns to canonical (dotted) field names.
pub type ColumnMap = HashMap<String, String>;

/// Reads every record of `bytes`.
pub fn read_table(
    bytes: &[u8],
    format: TableFormat,
    columns: &ColumnMap,
    options: &ParseOptions,
) -> Result<Vec<RawItem>, TableError> {
    match format {
        TableFormat::Jsonl => read_json(bytes, options),
        TableFormat::Csv => read_csv(bytes, columns, options),
        TableFormat::Xlsx => read_xlsx(bytes, columns, options),
    }
}

/// Reads a JSON file of any of the shapes exports take: JSON Lines, one JSON array of items, one
/// (pretty-printed) item, or items written one after another across lines. Each record is one
/// raw item with its own bytes, so a bad record is one dead letter, not one per line.
fn read_json(bytes: &[u8], options: &ParseOptions) -> Result<Vec<RawItem>, TableError> {
    let decoded = decode(bytes, None)?;
    let text = decoded.text.as_str();
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let format = match json_shape(text) {
        JsonShape::Document => BodyFormat::Json,
        JsonShape::Lines => BodyFormat::JsonLines,
        JsonShape::Sequence(values) => {
            let content_type = content_type_for("application/json", decoded.encoding);
            return Ok(values
                .into_iter()
                .map(|value| {
                    RawItem::from_json_text(
                        value,
                        raw_bytes_of(value, decoded.encoding),
                        content_type.clone(),
                        options,
                    )
                })
                .collect());
        }
    };
    match split_text(text, decoded.encoding, format, usize::MAX, options) {
        Err(BodyError::Empty) => Ok(Vec::new()),
        other => Ok(other?),
    }
}

/// How a JSON file holds its records.
#[derive(Debug, PartialEq)]
enum JsonShape<'a> {
    /// The whole file is one value: an array of items, or a single item.
    Document,
    /// Several values one after another, at least one spanning lines (pretty-printed items).
    Sequence(Vec<&'a str>),
    /// One item per line (a line that is not JSON is a record of its own that fails).
    Lines,
}

fn json_shape(text: &str) -> JsonShape<'_> {
    let trimmed = text.trim();
    if trimmed.starts_with('[') || serde_json::from_str::<&RawValue>(trimmed).is_ok() {
        // An array that is not valid JSON is reported as such, with its position.
        return JsonShape::Document;
    }
    let values: Result<Vec<&RawValue>, _> = serde_json::Deserializer::from_str(trimmed)
        .into_iter::<&RawValue>()
        .collect();
    match values {
        Ok(values) if values.iter().any(|v| v.get().contains('\n')) => {
            JsonShape::Sequence(values.into_iter().map(RawValue::get).collect())
        }
        _ => JsonShape::Lines,
    }
}

fn read_csv(
    bytes: &[u8],
    columns: &ColumnMap,
    options: &ParseOptions,
) -> Result<Vec<RawItem>, TableError> {
    let decoded = decode(bytes, None)?;
    let text = decoded.text.as_str();
    let content_type = content_type_for("text/csv", decoded.encoding);
    let delimiter = if text
        .lines()
        .next()
        .is_some_and(|h| h.contains('\t') && !h.contains(','))
    {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| TableError::Csv(e.to_string()))?
        .iter()
        .map(|h| canonical_column(h, columns))
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(TableError::NoHeader);
    }
    let mut items = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let start = reader.position().byte() as usize;
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let end = reader.position().byte() as usize;
                let raw_text = text[start..end].trim_end_matches(['\r', '\n']);
                let raw = raw_bytes_of(raw_text, decoded.encoding);
                if record.len() > headers.len() {
                    items.push(RawItem::failed(
                        raw,
                        content_type.clone(),
                        ItemError::Mapping(format!(
                            "CSV line {line}: {} fields but the header has {}",
                            record.len(),
                            headers.len()
                        )),
                    ));
                    continue;
                }
                let cells = headers
                    .iter()
                    .zip(record.iter())
                    .map(|(h, v)| (h.as_str(), v.to_string()));
                items.push(RawItem::from_value(
                    row_to_value(cells),
                    raw,
                    content_type.clone(),
                    options,
                ));
            }
            Err(err) => {
                let end = err
                    .position()
                    .map(|p| p.byte() as usize)
                    .unwrap_or(text.len())
                    .max(start);
                let raw = raw_bytes_of(&text[start..end.min(text.len())], decoded.encoding);
                items.push(RawItem::failed(
                    raw,
                    content_type.clone(),
                    ItemError::Mapping(format!("CSV line {line}: {err}")),
                ));
                if err.is_io_error() {
                    break;
                }
            }
        }
    }
    Ok(items)
}

fn read_xlsx(
    bytes: &[u8],
    columns: &ColumnMap,
    options: &ParseOptions,
) -> Result<Vec<RawItem>, TableError> {
    use calamine::{Reader, Xlsx};
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| TableError::Xlsx(e.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| TableError::Xlsx("the workbook has no worksheet".into()))?
        .map_err(|e| TableError::Xlsx(e.to_string()))?;
    let mut rows = range.rows();
    let headers: Vec<String> = rows
        .next()
        .ok_or(TableError::NoHeader)?
        .iter()
        .map(|cell| canonical_column(&cell_text(cell), columns))
        .collect();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(TableError::NoHeader);
    }
    let mut items = Vec::new();
    for row in rows {
        let cells: Vec<(&str, String)> = headers
            .iter()
            .zip(row)
            .map(|(h, c)| (h.as_str(), cell_text(c)))
            .collect();
        if cells.iter().all(|(_, v)| v.trim().is_empty()) {
            continue;
        }
        let verbatim: Map<String, Value> = cells
            .iter()
            .filter(|(h, _)| !h.is_empty())
            .map(|(h, v)| (h.to_string(), Value::String(v.clone())))
            .collect();
        let raw = serde_json::to_vec(&verbatim).expect("a map always serialises");
        items.push(RawItem::from_value(
            row_to_value(cells.into_iter()),
            raw,
            "application/json".into(),
            options,
        ));
    }
    Ok(items)
}

fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| dt.to_string()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn canonical_column(header: &str, columns: &ColumnMap) -> String {
    let header = header.trim().trim_start_matches('\u{feff}').trim();
    columns
        .get(header)
        .cloned()
        .unwrap_or_else(|| header.to_string())
}

/// Builds a (nested) JSON object from `header → cell` pairs; empty cells are skipped.
pub fn row_to_value<'a>(cells: impl Iterator<Item = (&'a str, String)>) -> Value {
    let mut object = Map::new();
    for (header, cell) in cells {
        if header.is_empty() || cell.trim().is_empty() {
            continue;
        }
        insert_path(&mut object, header, Value::String(cell));
    }
    Value::Object(object)
}

fn insert_path(object: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        Some((head, rest)) if matches!(head, "complainant" | "location" | "meta") => {
            let child = object
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(child) = child {
                insert_path(child, rest, value);
            }
        }
        _ => {
            object.insert(path.to_string(), value);
        }
    }
}

#[cfg(test)]
mod tests;
