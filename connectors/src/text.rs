//! Decoding bytes into text and normalising text.
//!
//! Chinese government systems still emit GB18030/GBK, often with a missing or wrong charset
//! label. [`decode`] reads UTF-8, GB18030/GBK/GB2312, Big5 and UTF-16 with a byte-order mark by
//! a fixed rule (see its doc); it never guesses a Western code page and never replaces
//! undecodable bytes silently: what does not fit is an error, and the caller dead-letters it.
//!
//! Two levels of cleaning exist on purpose:
//! - [`clean_display`] keeps what a person reads (title and body): it removes export artefacts
//!   such as Excel's literal `_x000D_`, control characters and runs of blank lines, and keeps
//!   paragraphs and the original characters.
//! - [`normalize`] produces the matching form used by search, grouping and classification:
//!   Unicode NFKC (which folds full-width ASCII and the ideographic space), Traditional →
//!   Simplified Chinese, and every whitespace run collapsed to one space.

use std::borrow::Cow;

use encoding_rs::{BIG5, Encoding, GB18030, GBK, UTF_8, UTF_16BE, UTF_16LE};
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
    /// The label names an encoding the gateway does not read (a single-byte Western code page,
    /// Shift_JIS, …) and the bytes are not UTF-8 either.
    #[error(
        "charset `{0}` is not accepted and the bytes are not UTF-8 (accepted: UTF-8, GB18030, \
         GBK, GB2312, Big5, UTF-16 with a byte-order mark)"
    )]
    UnsupportedCharset(String),
    /// A NUL byte outside UTF-16: binary data, or UTF-16 without its byte-order mark.
    #[error("NUL byte at byte offset {offset}: binary data, or UTF-16 without a byte-order mark")]
    NulByte {
        /// Byte offset of the first NUL.
        offset: usize,
    },
    /// The bytes are not clean text in the encoding that applies.
    #[error("bytes are not valid {tried} text (byte offset {offset})")]
    Malformed {
        /// The encoding (or encodings) tried.
        tried: &'static str,
        /// Byte offset of the first undecodable sequence under the first encoding tried.
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

/// Decodes `bytes` by a fixed rule that never guesses a code page:
///
/// 1. A byte-order mark (UTF-8, UTF-16LE, UTF-16BE) decides, and the rest must decode cleanly.
/// 2. Labelled UTF-8 must be valid UTF-8 (overlong forms included: they are invalid).
/// 3. Labelled GB18030, GBK, GB2312 or Big5 is read so when it decodes cleanly; bytes that do
///    not, but are valid UTF-8, are UTF-8 (a wrong label is common; `detected` says so).
/// 4. Labelled UTF-16 without a mark is read in the labelled byte order.
/// 5. Any other label is honoured only for bytes that are valid UTF-8 (ASCII included).
/// 6. Unlabelled: UTF-8 when valid; otherwise bytes that look like UTF-8 with some sequences
///    broken are refused; otherwise GB18030 when the bytes decode cleanly as GB18030, then Big5
///    (GB18030 wins a tie).
///
/// Everything else, and a NUL byte outside UTF-16, is a [`DecodeError`]: never a single-byte
/// Western reading, and never a replacement character.
pub fn decode(bytes: &[u8], charset: Option<&str>) -> Result<Decoded, DecodeError> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return decode_strict(&bytes[bom_len..], encoding, false);
    }
    let label = match charset.map(str::trim).filter(|l| !l.is_empty()) {
        Some(label) => Some((
            label,
            Encoding::for_label(label.as_bytes())
                .ok_or_else(|| DecodeError::UnknownCharset(label.to_string()))?,
        )),
        None => None,
    };
    if let Some((_, encoding)) = label
        && (encoding == UTF_16LE || encoding == UTF_16BE)
    {
        return decode_strict(bytes, encoding, false);
    }
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(DecodeError::NulByte { offset });
    }
    let utf8 = std::str::from_utf8(bytes);
    let as_utf8 = |detected: bool| {
        utf8.as_ref().ok().map(|text| Decoded {
            text: text.to_string(),
            encoding: UTF_8,
            detected,
        })
    };
    match label {
        Some((_, encoding)) if encoding == UTF_8 => match &utf8 {
            Ok(_) => Ok(as_utf8(false).expect("valid")),
            Err(error) => Err(DecodeError::Malformed {
                tried: "UTF-8",
                offset: error.valid_up_to(),
            }),
        },
        Some((_, encoding)) if is_chinese(encoding) => {
            decode_strict(bytes, encoding, false).or_else(|error| as_utf8(true).ok_or(error))
        }
        Some((label, _)) => {
            as_utf8(true).ok_or_else(|| DecodeError::UnsupportedCharset(label.to_string()))
        }
        None => {
            if let Some(decoded) = as_utf8(false) {
                return Ok(decoded);
            }
            let utf8_error = utf8.expect_err("not valid UTF-8");
            if looks_like_broken_utf8(bytes) {
                return Err(DecodeError::Malformed {
                    tried: "UTF-8",
                    offset: utf8_error.valid_up_to(),
                });
            }
            decode_strict(bytes, GB18030, true)
                .or_else(|_| decode_strict(bytes, BIG5, true))
                .map_err(|_| DecodeError::Malformed {
                    tried: "UTF-8, GB18030 or Big5",
                    offset: utf8_error.valid_up_to(),
                })
        }
    }
}

/// The encoding a label names, when it is one the gateway reads whatever the bytes (a
/// configured `charset` must be one of these).
pub fn accepted_encoding(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
        .filter(|encoding| is_chinese(encoding) || [UTF_8, UTF_16LE, UTF_16BE].contains(encoding))
}

/// The Chinese encodings read when labelled (GB2312 and GBK labels name GBK in the Encoding
/// Standard; its decoder reads GB18030).
fn is_chinese(encoding: &'static Encoding) -> bool {
    encoding == GB18030 || encoding == GBK || encoding == BIG5
}

/// True when invalid bytes sit among mostly well-formed multi-byte UTF-8: text that was UTF-8
/// and got damaged (or holds overlong forms), not text in another encoding. GB18030 text read
/// as UTF-8 forms a valid multi-byte sequence only now and then by chance.
fn looks_like_broken_utf8(bytes: &[u8]) -> bool {
    let mut valid_multibyte = 0usize;
    // Adjacent invalid pieces (an overlong form is two or three) count as one damaged place.
    let mut damaged_places = 0usize;
    let mut in_damage = false;
    for chunk in bytes.utf8_chunks() {
        valid_multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.valid().is_empty() {
            in_damage = false;
        }
        if !chunk.invalid().is_empty() {
            damaged_places += usize::from(!in_damage);
            in_damage = true;
        }
    }
    valid_multibyte > 0 && valid_multibyte >= 2 * damaged_places
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
