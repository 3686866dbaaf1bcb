//! `tabular::read_table` on arbitrary bytes as CSV, XLSX and JSON Lines.
#![no_main]

use connectors::item::ParseOptions;
use connectors::tabular::{ColumnMap, TableFormat, read_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = match selector % 3 {
        0 => TableFormat::Csv,
        1 => TableFormat::Xlsx,
        _ => TableFormat::Jsonl,
    };
    let columns: ColumnMap = [
        ("编号", "external_id"),
        ("内容", "body"),
        ("电话", "complainant.phone"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    if let Ok(items) = read_table(bytes, format, &columns, &ParseOptions::default()) {
        for item in &items {
            if let Ok(parsed) = &item.parsed {
                assert!(!parsed.external_id.is_empty());
            }
        }
    }
});
