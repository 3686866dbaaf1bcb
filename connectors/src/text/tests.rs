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
fn decodes_gb18030_from_label_and_unlabelled() {
    let bytes = encode(SAMPLE, encoding_rs::GB18030);
    assert_ne!(bytes, SAMPLE.as_bytes());
    for label in ["GBK", "gb2312", "GB18030"] {
        let labelled = decode(&bytes, Some(label)).unwrap();
        assert_eq!(labelled.text, SAMPLE);
        assert!(!labelled.detected);
    }
    let unlabelled = decode(&bytes, None).unwrap();
    assert_eq!(unlabelled.text, SAMPLE);
    assert_eq!(unlabelled.encoding, encoding_rs::GB18030);
    assert!(unlabelled.detected);
    // A Chinese label on bytes that are UTF-8 (and not GBK): UTF-8, marked as not labelled.
    let mislabelled = decode("服务热线：拖欠工资".as_bytes(), Some("GBK")).unwrap();
    assert_eq!(mislabelled.text, "服务热线：拖欠工资");
    assert_eq!(mislabelled.encoding, UTF_8);
    assert!(mislabelled.detected);
}

#[test]
fn invalid_bytes_labelled_utf8_are_refused_not_guessed() {
    let bytes = encode(SAMPLE, encoding_rs::GB18030);
    assert_eq!(
        decode(&bytes, Some("utf-8")).unwrap_err(),
        DecodeError::Malformed {
            tried: "UTF-8",
            offset: 0
        }
    );
    // One broken byte in the middle of UTF-8 text, labelled or not.
    let mut damaged = "市民投诉：小区".as_bytes().to_vec();
    damaged.push(0xFF);
    damaged.extend_from_slice("噪音扰民，物业不作为".as_bytes());
    for charset in [Some("UTF-8"), None] {
        assert_eq!(
            decode(&damaged, charset).unwrap_err(),
            DecodeError::Malformed {
                tried: "UTF-8",
                offset: 21
            },
            "{charset:?}"
        );
    }
}

#[test]
fn overlong_utf8_is_refused() {
    // `/` as the overlong pair C0 AF, and as the overlong triple E0 80 AF.
    for overlong in [&[0xC0, 0xAF][..], &[0xE0, 0x80, 0xAF][..]] {
        let mut bytes = "投诉".as_bytes().to_vec();
        bytes.extend_from_slice(overlong);
        bytes.extend_from_slice("内容".as_bytes());
        let expected = DecodeError::Malformed {
            tried: "UTF-8",
            offset: 6,
        };
        assert_eq!(decode(&bytes, Some("utf-8")).unwrap_err(), expected);
        assert_eq!(decode(&bytes, None).unwrap_err(), expected);
    }
}

#[test]
fn western_single_byte_text_is_never_guessed() {
    // Windows-1252 and KOI8-R text that is not GB18030 either: refused, not read as a code page.
    for bytes in [
        &b"caf\xE9 cr\xE8me"[..],
        &b"\xF0\xD2\xC9\xD7\xC5\xD4\xFF"[..],
    ] {
        let error = decode(bytes, None).unwrap_err();
        assert!(
            matches!(
                error,
                DecodeError::Malformed {
                    tried: "UTF-8, GB18030 or Big5",
                    ..
                }
            ),
            "{error:?}"
        );
    }
    // A Western label is honoured for UTF-8 (and so ASCII) bytes only.
    assert_eq!(decode(b"plain", Some("iso-8859-1")).unwrap().text, "plain");
    assert_eq!(
        decode(b"caf\xE9", Some("windows-1252")).unwrap_err(),
        DecodeError::UnsupportedCharset("windows-1252".into())
    );
}

#[test]
fn big5_is_read_when_labelled_or_when_gb18030_does_not_fit() {
    let traditional = "市民投訴：社區噪音擾民";
    let bytes = encode(traditional, encoding_rs::BIG5);
    let labelled = decode(&bytes, Some("big5")).unwrap();
    assert_eq!(labelled.text, traditional);
    // Big5 bytes also decode cleanly as GB18030 (its byte ranges hold Big5's): a tie, and
    // GB18030 wins, as the rule says; a sender of Big5 labels it.
    let unlabelled = decode(&bytes, None).unwrap();
    assert_eq!(unlabelled.encoding, encoding_rs::GB18030);
    assert_eq!(unlabelled.text, encoding_rs::GB18030.decode(&bytes).0);
}

#[test]
fn longer_gb18030_texts_are_not_mistaken_for_damaged_utf8() {
    let texts = [
        "关于某街道拆迁补偿款迟迟不到位的投诉，已向有关部门反映多次，至今无人答复，请尽快处理。",
        "小区门口的路灯坏了三个月，晚上出行很不方便，希望市政部门来修理。谢谢！",
        "办理营业执照时窗口工作人员态度恶劣，材料齐全却被要求反复补交，耽误了开业时间。",
    ];
    for text in texts {
        let bytes = encode(text, encoding_rs::GB18030);
        let decoded = decode(&bytes, None).unwrap();
        assert_eq!(decoded.text, text);
        assert_eq!(decoded.encoding, encoding_rs::GB18030);
    }
}

#[test]
fn utf16_needs_its_byte_order_mark_or_a_label() {
    let mut le = vec![0xFF, 0xFE];
    for unit in "投诉".encode_utf16() {
        le.extend_from_slice(&unit.to_le_bytes());
    }
    let decoded = decode(&le, None).unwrap();
    assert_eq!(decoded.text, "投诉");
    assert_eq!(decoded.encoding, encoding_rs::UTF_16LE);
    // Labelled without a mark: read in the labelled order.
    assert_eq!(decode(&le[2..], Some("utf-16le")).unwrap().text, "投诉");
    // ASCII in UTF-16 without a mark holds NUL bytes: refused, never read as text with NULs.
    let bare: Vec<u8> = "{\"a\":1}"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    assert_eq!(
        decode(&bare, None).unwrap_err(),
        DecodeError::NulByte { offset: 1 }
    );
    // A mark followed by an odd byte: an error, not a replacement character.
    assert!(decode(&[0xFF, 0xFE, 0x41], None).is_err());
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
