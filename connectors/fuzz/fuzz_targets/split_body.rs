//! `body::split_body` on arbitrary bytes, as JSON and as JSON Lines, with and without a charset.
#![no_main]

use connectors::body::{BodyFormat, split_body};
use connectors::item::ParseOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = if selector & 1 == 0 {
        BodyFormat::Json
    } else {
        BodyFormat::JsonLines
    };
    let charset = match (selector >> 1) % 4 {
        0 => None,
        1 => Some("utf-8"),
        2 => Some("gb18030"),
        _ => Some("GBK"),
    };
    if let Ok(items) = split_body(bytes, format, charset, 1000, &ParseOptions::default()) {
        assert!(
            !items.is_empty(),
            "a successful split holds at least one item"
        );
        for item in &items {
            if let Ok(parsed) = &item.parsed {
                assert!(!parsed.external_id.is_empty());
                assert!(!parsed.body.trim().is_empty());
                let _ = parsed.content_hash();
            }
        }
    }
});
