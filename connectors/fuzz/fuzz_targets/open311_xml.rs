//! The Open311 XML reader on arbitrary bytes; every record's raw text must be a slice of the
//! document and map without panicking.
#![no_main]

use connectors::item::ParseOptions;
use connectors::open311::{Open311Format, map_request, parse_answer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((document, _)) = parse_answer(data, None, Open311Format::Xml) {
        for record in &document.records {
            assert!(
                record.raw.starts_with('<'),
                "a record's raw text starts with its tag"
            );
            let _ = map_request(
                &record.value,
                record.raw.clone().into_bytes(),
                "application/xml".into(),
                &ParseOptions::default(),
            );
        }
    }
});
