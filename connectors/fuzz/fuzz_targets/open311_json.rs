//! The lenient Open311 JSON reader: the leading-zero pre-pass must only insert quotes, and
//! every record the parser returns must map without panicking.
#![no_main]

use connectors::item::ParseOptions;
use connectors::open311::{Open311Format, map_request, parse_answer, quote_leading_zero_numbers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (lenient, inserted) = quote_leading_zero_numbers(text);
        let mut restored = lenient.to_string().into_bytes();
        for &position in inserted.iter().rev() {
            assert_eq!(restored[position], b'"');
            restored.remove(position);
        }
        assert_eq!(
            restored,
            text.as_bytes(),
            "the pre-pass changed more than quotes"
        );
    }
    if let Ok((document, _)) = parse_answer(data, None, Open311Format::Json) {
        for record in &document.records {
            let item = map_request(
                &record.value,
                record.raw.clone().into_bytes(),
                "application/json".into(),
                &ParseOptions::default(),
            );
            if let Ok(parsed) = item.parsed {
                assert!(!parsed.external_id.is_empty());
            }
        }
    }
});
