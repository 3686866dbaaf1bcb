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
    let nfkc = nfkc(&cleaned);
    let simplified = zhconv::zhconv(&nfkc, zhconv::Variant::ZhHans);
    collapse_whitespace(&simplified)
}

/// NFKC, passing through the characters that NFKC leaves as they are and that start a
/// normalisation segment of their own (ASCII, the CJK Unified Ideographs, common CJK
/// punctuation): only the segments around other characters go through the normaliser. Most
/// of a Chinese complaint is such characters.
pub fn nfkc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Start of the text not yet written, whether it holds a character to normalise, and the
    // last inert character seen (a boundary: text before it normalises on its own; never
    // before `start`).
    let (mut start, mut slow, mut last_inert) = (0, false, 0);
    for (at, c) in text.char_indices() {
        match (is_inert(c), slow) {
            (true, true) => {
                out.extend(text[start..at].nfkc());
                (start, slow, last_inert) = (at, false, at);
            }
            (true, false) => last_inert = at,
            (false, true) => {}
            (false, false) => {
                // A mark may combine with the inert character before it: start there.
                out.push_str(&text[start..last_inert]);
                (start, slow) = (last_inert, true);
            }
        }
    }
    if slow {
        out.extend(text[start..].nfkc());
    } else {
        out.push_str(&text[start..]);
    }
    out
}

/// A character NFKC maps to itself (quick check "yes") with combining class 0, so that it
/// begins a segment that normalises independently of what precedes it (UAX #15).
fn is_inert(c: char) -> bool {
    c.is_ascii()
        || ('\u{4E00}'..='\u{9FFF}').contains(&c)
        || ('\u{3001}'..='\u{3002}').contains(&c)
        || ('\u{3008}'..='\u{3011}').contains(&c)
        || ('\u{2018}'..='\u{2019}').contains(&c)
        || ('\u{201C}'..='\u{201D}').contains(&c)
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
mod tests;
