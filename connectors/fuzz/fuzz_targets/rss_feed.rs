//! The feed wrapper (feed-rs, HTML to text, entry spans, watch list) on arbitrary bytes.
#![no_main]

use connectors::item::ParseOptions;
use connectors::rss::{html_to_text, parse_feed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let keywords = vec!["拖延".to_string(), "不作为".to_string()];
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let watch: &[String] = if selector & 1 == 0 { &keywords } else { &[] };
    if let Ok(page) = parse_feed(bytes, None, watch, true, &ParseOptions::default()) {
        for item in &page.items {
            if let Ok(parsed) = &item.parsed {
                assert_eq!(
                    parsed.meta.get("media_exposed"),
                    Some(&serde_json::Value::Bool(true))
                );
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = html_to_text(text);
    }
});
