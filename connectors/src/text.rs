//! Decoding bytes into text and normalising text.
//!
//! Chinese government systems still emit GB18030/GBK, often with a missing or wrong charset
//! label. [`decode`] trusts a label only when the bytes decode cleanly under it, and otherwise
//! detects the encoding; it never replaces undecodable bytes silently.
//!
//! Two levels of cleaning exist on purpose:
//! - [`clean_display`] keeps what a person reads (title and body): it removes export artefacts
//!   such as Excel's literal `_x000D_`, control characters and runs of blank lines, and keeps
//!   paragraphs and the original characters.
//! - [`normalize`] produces the matching form used by search, grouping and classification:
//!   Unicode NFKC (which folds full-width ASCII and the ideographic space), Traditional →
//!   Simplified Chinese, and every whitespace run collapsed to one space.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};
use unicode_normalization::UnicodeNormalization;

/// Text decoded from bytes, with the encoding that was used.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The decoded text, without a byte-order mark.
    pub text: String,
    /// The encoding the bytes were read as.
    pub encoding: &'static Encoding,
    /// True when the encoding was detected because no label was given or the label was wrong.
    pub detected: bool,
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The charset label is not one the WHATWG Encoding Standard knows.
    #[error("unknown charset `{0}`")]
    UnknownCharset(String),
    /// Neither the label nor detection gave a clean decoding.
    #[error("bytes are not valid {tried} text (byte offset {offset}) and no other encoding fits")]
    Malformed {
        /// The encoding that was tried last.
        tried: &'static str,
        /// Byte offset of the first undecodable sequence under the labelled (or guessed) encoding.
        offset: usize,
    },
}

/// Extracts the `charset` parameter of a `Content-Type` value.
pub fn charset_of_content_type(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// Decodes `bytes`, using `charset` when it fits and detection otherwise.
///
/// Order: a byte-order mark wins; then a label that decodes without error; then UTF-8 if the
/// bytes are valid UTF-8; then the encoding chardetng guesses. The result is an error only when
/// the final candidate still has undecodable sequences.
pub fn decode(bytes: &[u8], charset: Option<&str>) -> Result<Decoded, DecodeError> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return decode_strict(&bytes[bom_len..], encoding, false);
    }
    let mut labelled_failure = None;
    if let Some(label) = charset.filter(|l| !l.trim().is_empty()) {
        let encoding = Encoding::for_label(label.trim().as_bytes())
            .ok_or_else(|| DecodeError::UnknownCharset(label.to_string()))?;
        match decode_strict(bytes, encoding, false) {
            Ok(decoded) => return Ok(decoded),
            Err(err) => labelled_failure = Some(err),
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Decoded {
            text: text.to_string(),
            encoding: UTF_8,
            detected: charset.is_some(),
        });
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    match decode_strict(bytes, guess, true) {
        Ok(decoded) => Ok(decoded),
        Err(err) => Err(labelled_failure.unwrap_or(err)),
    }
}

fn decode_strict(
    bytes: &[u8],
    encoding: &'static Encoding,
    detected: bool,
) -> Result<Decoded, DecodeError> {
    match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok(Decoded {
            text: text.into_owned(),
            encoding,
            detected,
        }),
        None => Err(DecodeError::Malformed {
            tried: encoding.name(),
            offset: first_error_offset(bytes, encoding),
        }),
    }
}

fn first_error_offset(bytes: &[u8], encoding: &'static Encoding) -> usize {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad, _) => read.saturating_sub(bad as usize),
        _ => read,
    }
}

/// Encodes `text` back into `encoding`; used to keep per-item raw bytes of a non-UTF-8 batch
/// verbatim (GB18030 round-trips every character it decoded).
pub fn encode(text: &str, encoding: &'static Encoding) -> Vec<u8> {
    if encoding == UTF_8 {
        return text.as_bytes().to_vec();
    }
    encoding.encode(text).0.into_owned()
}

/// Cleans text for display: decodes Excel's `_xHHHH_` escapes of control characters (a literal
/// `_x000D_` in exports), unifies line ends, drops other control characters, trims trailing
/// spaces of each line, keeps at most one blank line between paragraphs, and trims the ends.
pub fn clean_display(input: &str) -> String {
    let unescaped = unescape_excel_controls(input);
    let mut out = String::with_capacity(unescaped.len());
    let mut blank_run = 0usize;
    // Most lines have no control character to drop: they are used as they are.
    let mut filtered = String::new();
    for line in unescaped.split('\n') {
        let line = if line.chars().any(|c| is_dropped_control(&c)) {
            filtered.clear();
            filtered.extend(line.chars().filter(|c| !is_dropped_control(c)));
            filtered.as_str()
        } else {
            line
        };
        // After `trim_end`, a line is blank exactly when it is empty.
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    // Every line pushed ends in a non-space, so only the first line's indent can remain.
    match out.trim_start() {
        trimmed if trimmed.len() == out.len() => out,
        trimmed => trimmed.to_string(),
    }
}

/// A control character that display cleaning drops (a tab stays).
fn is_dropped_control(c: &char) -> bool {
    *c != '\t' && c.is_control()
}

/// Replaces `_xHHHH_` (OOXML escapes for characters XML cannot carry) with the character, turning
/// `\r\n` and lone `\r` into `\n`. Borrows the input when it has neither (the usual case).
fn unescape_excel_controls(input: &str) -> Cow<'_, str> {
    if !input.bytes().any(|b| b == b'_' || b == b'\r') {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find("_x") {
        out.push_str(&rest[..pos]);
        let candidate = &rest[pos..];
        let escaped = candidate
            .get(2..6)
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .filter(|_| candidate.as_bytes().get(6) == Some(&b'_'))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32);
        match escaped {
            Some(c) => {
                out.push(c);
                rest = &candidate[7..];
            }
            None => {
                out.push_str("_x");
                rest = &candidate[2..];
            }
        }
    }
    out.push_str(rest);
    if out.contains('\r') {
        out = out.replace("\r\n", "\n").replace('\r', "\n");
    }
    Cow::Owned(out)
}

/// The matching form of a text: display cleaning, NFKC, Traditional → Simplified, whitespace
/// runs collapsed to a single space.
pub fn normalize(input: &str) -> String {
    let cleaned = clean_display(input);
    let nfkc: String = cleaned.nfkc().collect();
    let simplified = zhconv::zhconv(&nfkc, zhconv::Variant::ZhHans);
    collapse_whitespace(&simplified)
}

/// The matching form of a complaint: its title and body, normalised together.
pub fn matching_text(title: Option<&str>, body: &str) -> String {
    match title {
        Some(title) => normalize(&format!("{title}\n{body}")),
        None => normalize(body),
    }
}

/// Collapses every run of whitespace to one ASCII space and trims the ends.
pub fn collapse_whitespace(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for word in input.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The `encoding="…"` of an XML declaration, when the bytes start with one (after an optional
/// byte-order mark or whitespace).
pub fn xml_declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    let declaration = head.strip_prefix("<?xml")?.split("?>").next()?;
    let after = declaration
        .split("encoding")
        .nth(1)?
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    Some(after[1..].split(quote).next()?.trim().to_string())
}

/// Rewrites every XML declaration of already-decoded text to `<?xml version="1.0"?>`, without
/// an encoding, so a parser that honours declarations neither decodes the text a second time
/// nor switches encodings mid-document: quick-xml 0.42 (under feed-rs) panics when a
/// declaration naming another encoding appears after the start of the input (found by fuzzing).
pub fn strip_xml_encoding_declarations(text: &str) -> std::borrow::Cow<'_, str> {
    const NEUTRAL: &str = "<?xml version=\"1.0\"?>";
    let is_declaration = |at: usize| {
        text[at + 5..]
            .chars()
            .next()
            .is_some_and(|c| c.is_whitespace() || c == '?')
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("<?xml") {
        let start = search + found;
        search = start + 5;
        if !is_declaration(start) {
            continue;
        }
        let Some(end) = text[start..].find("?>").map(|e| start + e + 2) else {
            break;
        };
        let buffer = out.get_or_insert_with(|| String::with_capacity(text.len()));
        buffer.push_str(&text[copied..start]);
        buffer.push_str(NEUTRAL);
        copied = end;
        search = end;
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut buffer) => {
            buffer.push_str(&text[copied..]);
            std::borrow::Cow::Owned(buffer)
        }
    }
}

#[cfg(test)]
mod tests {
    /// The display cleaning as first written (one string per line, three passes over the
    /// text): the reference the faster version must match.
    fn reference_clean_display(input: &str) -> String {
        let mut unescaped = String::new();
        let mut rest = input;
        while let Some(pos) = rest.find("_x") {
            unescaped.push_str(&rest[..pos]);
            let candidate = &rest[pos..];
            let escaped = candidate
                .get(2..6)
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .filter(|_| candidate.as_bytes().get(6) == Some(&b'_'))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .and_then(char::from_u32);
            match escaped {
                Some(c) => {
                    unescaped.push(c);
                    rest = &candidate[7..];
                }
                None => {
                    unescaped.push_str("_x");
                    rest = &candidate[2..];
                }
            }
        }
        unescaped.push_str(rest);
        let unescaped = unescaped.replace("\r\n", "\n").replace('\r', "\n");
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
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 12) as usize;
            let text: String = (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect();
            assert_eq!(
                clean_display(&text),
                reference_clean_display(&text),
                "{text:?}"
            );
        }
    }

    use super::*;

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
}
