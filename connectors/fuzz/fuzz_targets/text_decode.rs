//! `text::decode` with every kind of label, and the normalisers on what it returns.
#![no_main]

use connectors::text::{clean_display, decode, encode, normalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let label = match selector % 6 {
        0 => None,
        1 => Some("utf-8"),
        2 => Some("gb18030"),
        3 => Some("gbk"),
        4 => Some("big5"),
        _ => Some("x-unknown"),
    };
    if let Ok(decoded) = decode(bytes, label) {
        // What was decoded without replacement re-encodes to a decodable form (UTF-16 encodes
        // to UTF-8 in encoding_rs, so it is checked against its output encoding).
        let target = decoded.encoding.output_encoding();
        let round = encode(&decoded.text, target);
        assert!(
            target
                .decode_without_bom_handling_and_without_replacement(&round)
                .is_some()
        );
        let _ = clean_display(&decoded.text);
        let _ = normalize(&decoded.text);
    }
});
