//! Decoding, display cleaning and normalisation, the fast paths checked against references.

use super::*;

/// `count` texts of up to `max_pieces - 1` pieces each, drawn by a small deterministic
/// generator (xorshift) from `seed`, so that a failure reproduces.
fn generated_texts(seed: u64, pieces: &[&str], max_pieces: u64, count: usize) -> Vec<String> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..count)
        .map(|_| {
            let len = next() % max_pieces;
            (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect()
        })
        .collect()
}

/// The display cleaning as first written (one string per line): the reference the faster
/// line handling must match.
fn reference_clean_display(input: &str) -> String {
    let unescaped = unescape_excel_controls(input);
    let mut out = String::new();
    let mut blank_run = 0usize;
    for line in unescaped.split('\n') {
        let line: String = line
            .chars()
            .filter(|c| *c == '\t' || !c.is_control())
            .collect();
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out.trim().to_string()
}

#[test]
fn inert_characters_are_their_own_nfkc_and_start_a_segment() {
    use unicode_normalization::char::canonical_combining_class;
    use unicode_normalization::{IsNormalized, is_nfkc_quick};
    let inert = (0u32..0x3_0000)
        .filter_map(char::from_u32)
        .filter(|c| is_inert(*c));
    let mut count = 0;
    for c in inert {
        assert_eq!(
            is_nfkc_quick(std::iter::once(c)),
            IsNormalized::Yes,
            "{c:?}"
        );
        assert_eq!(canonical_combining_class(c), 0, "{c:?}");
        count += 1;
    }
    assert!(count > 20_000, "{count}");
}

#[test]
fn fast_nfkc_matches_the_normaliser_on_generated_texts() {
    // Inert text next to what NFKC changes or combines: full-width forms, marks that
    // compose with the letter before them, Hangul jamo, compatibility characters.
    const PIECES: &[&str] = &[
        "投诉", "小区", "e", "\u{0301}", "\u{0308}", "\u{0344}", "\u{0327}", "Ａ", "１", "，",
        "！", "\u{3000}", "。", "、", "《", "》", "“", "”", "\u{1100}", "\u{1161}", "\u{11A8}",
        "가", "ﬁ", "①", "㎡", "Å", "\u{212B}", "\u{F900}", "\u{2F00}", " ", "\n", "a", "\u{0345}",
        "\u{0F73}", "\u{1E9B}", "\u{0323}", "ｶ", "\u{FF9E}",
    ];
    for text in generated_texts(0x2545_F491_4F6C_DD1D, PIECES, 10, 50_000) {
        let expected: String = text.nfkc().collect();
        assert_eq!(nfkc(&text), expected, "{text:?}");
    }
}

#[test]
fn display_cleaning_matches_the_reference_on_generated_texts() {
    // Pieces that exercise every branch: escapes (valid, invalid, truncated), line ends,
    // controls, tabs, Unicode spaces, blank lines, CJK and full-width text.
    const PIECES: &[&str] = &[
        "投诉",
        "小区噪音",
        "_x000D_",
        "_x0009_",
        "_x00",
        "_xZZZZ_",
        "_",
        "x",
        "\r\n",
        "\r",
        "\n",
        "\n\n\n",
        " ",
        "\t",
        "\u{3000}",
        "\u{0007}",
        "\u{0085}",
        "\u{200B}",
        "ＡＢＣ１２３",
        "Noise",
        "\u{feff}",
        "。",
        "_x005F_x000D_",
    ];
    // A small deterministic generator (xorshift), so a failure reproduces.
    for text in generated_texts(0x9E37_79B9_7F4A_7C15, PIECES, 12, 20_000) {
        assert_eq!(
            clean_display(&text),
            reference_clean_display(&text),
            "{text:?}"
        );
    }
}

const SAMPLE: &str = "市民投诉：小区噪音扰民，物业不作为。";

#[test]
fn decodes_utf8_with_and_without_bom() {
    let plain = decode(SAMPLE.as_bytes(), None).unwrap();
    assert_eq!(plain.text, SAMPLE);
    let mut with_bom = vec![0xEF, 0xBB, 0xBF];
    with_bom.extend_from_slice(SAMPLE.as_bytes());
    let bom = decode(&with_bom, None).unwrap();
    assert_eq!(bom.text, SAMPLE);
    assert_eq!(bom.encoding, UTF_8);
}

#[test]
fn decodes_gb18030_from_label_and_by_detection() {
    let bytes = encode(SAMPLE, encoding_rs::GB18030);
    assert_ne!(bytes, SAMPLE.as_bytes());
    let labelled = decode(&bytes, Some("GBK")).unwrap();
    assert_eq!(labelled.text, SAMPLE);
    assert!(!labelled.detected);
    let detected = decode(&bytes, None).unwrap();
    assert_eq!(detected.text, SAMPLE);
    assert!(detected.detected);
    // A wrong label (the bytes are not UTF-8) falls back to detection.
    let wrong = decode(&bytes, Some("utf-8")).unwrap();
    assert_eq!(wrong.text, SAMPLE);
    assert!(wrong.detected);
}

#[test]
fn unknown_charset_is_an_error() {
    let err = decode(b"{}", Some("klingon")).unwrap_err();
    assert_eq!(err, DecodeError::UnknownCharset("klingon".into()));
}

#[test]
fn xml_declaration_encoding_is_read_and_rewritten() {
    let xml = b"<?xml version=\"1.0\" encoding='GB2312' ?>\n<rss/>";
    assert_eq!(xml_declared_encoding(xml).as_deref(), Some("GB2312"));
    assert_eq!(xml_declared_encoding(b"<rss/>"), None);
    let text = std::str::from_utf8(xml).unwrap();
    assert_eq!(
        strip_xml_encoding_declarations(text),
        "<?xml version=\"1.0\"?>\n<rss/>"
    );
    // Every declaration, not only a leading one; other processing instructions stay.
    let late = "<?xmlish x?><?lmx a?>\0<?xml version=\"1.0\" encoding=\"GB2312\"?><rss/><?xml";
    assert_eq!(
        strip_xml_encoding_declarations(late),
        "<?xmlish x?><?lmx a?>\0<?xml version=\"1.0\"?><rss/><?xml"
    );
    assert!(matches!(
        strip_xml_encoding_declarations("<rss/>"),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn charset_parameter_is_found() {
    assert_eq!(
        charset_of_content_type("application/json; charset=\"GB18030\""),
        Some("GB18030")
    );
    assert_eq!(charset_of_content_type("application/json"), None);
}

#[test]
fn display_cleaning_removes_excel_artefacts() {
    let raw = "第一段_x000D_\n第二段  \r\n\r\n\r\n\u{0007}第三段_xZZ_";
    assert_eq!(clean_display(raw), "第一段\n第二段\n\n第三段_xZZ_");
}

#[test]
fn normalisation_folds_width_script_and_whitespace() {
    assert_eq!(
        normalize("ＡＢＣ１２３\u{3000}投訴  電話"),
        "ABC123 投诉 电话"
    );
    assert_eq!(normalize(" 多行\n\n文本\t内容 "), "多行 文本 内容");
}
