//! The http_json page mapper on arbitrary bytes with a fixed, realistic mapping.
#![no_main]

use connectors::http_json::{Mapping, map_page};
use connectors::item::ParseOptions;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let mapping = Mapping {
        items_pointer: if selector & 1 == 0 {
            "/data/list".into()
        } else {
            String::new()
        },
        fields: vec![
            ("external_id".into(), "/id".into()),
            ("body".into(), "/content".into()),
            ("complainant.phone".into(), "/citizen/mobile".into()),
            ("location.lat".into(), "/geo/0".into()),
            ("meta.类型".into(), "/a~1b".into()),
        ],
        keep_unmapped: selector & 2 == 0,
    };
    let charset = if selector & 4 == 0 {
        None
    } else {
        Some("gb18030")
    };
    if let Ok(page) = map_page(bytes, charset, &mapping, &ParseOptions::default()) {
        assert_eq!(page.items.len(), page.records.len());
    }
});
