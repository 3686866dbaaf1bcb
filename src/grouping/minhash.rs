//! MinHash signatures over character shingles, for reposts and edited copies.
//!
//! One-permutation hashing with densification: every shingle is hashed once and falls into
//! one of [`SIGNATURE_LEN`] bins, each bin keeps its minimum. Empty bins (short texts) borrow
//! the value of a non-empty bin chosen by a fixed probe sequence, which keeps the estimator
//! unbiased (Shrivastava, "Optimal densification for fast and accurate minwise hashing", 2017).
//! This costs one hash per shingle instead of one per shingle and signature value.
//!
//! Only the low 16 bits of each minimum are kept: two different minima then collide with
//! probability 2⁻¹⁶ per bin, which is negligible against the estimator's own error, and the
//! signature fits in 128 bytes.

use super::hash::{hash_bytes, mix64, seed};

/// Values per signature.
pub const SIGNATURE_LEN: usize = 64;

/// A MinHash signature.
pub type Signature = [u16; SIGNATURE_LEN];

const BIN_BITS: u32 = SIGNATURE_LEN.trailing_zeros();
const _: () = assert!(SIGNATURE_LEN.is_power_of_two());

/// Is this a character that carries content: a letter or digit of any script (CJK
/// included)? Spaces and punctuation do not, so re-punctuated copies still match. Common CJK
/// ideographs are answered without the slow Unicode table lookup.
pub(crate) fn is_content_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        ('\u{4E00}'..='\u{9FFF}').contains(&c) || c.is_alphanumeric()
    }
}

fn content_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars()
        .filter(|&c| is_content_char(c))
        .map(|c| c.to_ascii_lowercase())
}

/// Longest shingle supported, in characters.
pub const MAX_SHINGLE_CHARS: usize = 3;

/// Computes the signature of `text` over shingles of `shingle_chars` characters (clamped to
/// 1..=[`MAX_SHINGLE_CHARS`]); `None` when the text has no content character at all.
pub fn signature(text: &str, shingle_chars: usize) -> Option<Signature> {
    let shingle_chars = shingle_chars.clamp(1, MAX_SHINGLE_CHARS);
    let mut mins = [u32::MAX; SIGNATURE_LEN];
    let mut filled = [false; SIGNATURE_LEN];
    let mut add = |shingle: u64| {
        let hashed = mix64(shingle ^ seed::SHINGLE);
        let bin = (hashed >> (64 - BIN_BITS)) as usize;
        mins[bin] = mins[bin].min(hashed as u32);
        filled[bin] = true;
    };
    // A code point fits in 21 bits, so a shingle of up to three characters packs losslessly
    // into one u64 and costs a single mix.
    let mask = (1u64 << (21 * shingle_chars)) - 1;
    let mut packed = 0u64;
    let mut seen = 0usize;
    for c in content_chars(text) {
        packed = ((packed << 21) | u64::from(c)) & mask;
        seen += 1;
        if seen >= shingle_chars {
            add(packed);
        }
    }
    match seen {
        0 => return None,
        // Shorter than one shingle: the whole text is the only shingle.
        n if n < shingle_chars => add(packed),
        _ => {}
    }
    Some(densify(&mins, &filled))
}

fn densify(mins: &[u32; SIGNATURE_LEN], filled: &[bool; SIGNATURE_LEN]) -> Signature {
    let mut out = [0u16; SIGNATURE_LEN];
    for bin in 0..SIGNATURE_LEN {
        let source = if filled[bin] {
            bin
        } else {
            let mut attempt = 0u64;
            loop {
                let probe = (mix64(((bin as u64) << 32) | attempt) >> (64 - BIN_BITS)) as usize;
                if filled[probe] {
                    break probe;
                }
                attempt += 1;
            }
        };
        out[bin] = mins[source] as u16;
    }
    out
}

/// Estimated Jaccard similarity of the shingle sets behind two signatures.
pub fn estimate_jaccard(a: &Signature, b: &Signature) -> f32 {
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f32 / SIGNATURE_LEN as f32
}

/// The LSH band keys of a signature: two signatures share a band key when all `rows` values
/// of that band are equal. The band index is part of the key.
pub fn band_keys(
    signature: &Signature,
    bands: usize,
    rows: usize,
) -> impl Iterator<Item = u64> + '_ {
    (0..bands).map(move |band| {
        let mut bytes = [0u8; 2 * SIGNATURE_LEN + 8];
        bytes[..8].copy_from_slice(&(band as u64).to_le_bytes());
        let values = &signature[band * rows..(band + 1) * rows];
        for (i, value) in values.iter().enumerate() {
            bytes[8 + 2 * i..10 + 2 * i].copy_from_slice(&value.to_le_bytes());
        }
        hash_bytes(seed::BAND, &bytes[..8 + 2 * rows])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LETTER: &str = "我是景湖苑小区的业主，小区北门外的烧烤店每天营业到凌晨两点，油烟直接排进\
        三号楼的窗户，噪音吵得老人孩子无法入睡，多次向街道反映都没有结果，请环保部门尽快处理。";

    #[test]
    fn identical_texts_have_identical_signatures() {
        let a = signature(LETTER, 3).unwrap();
        assert_eq!(estimate_jaccard(&a, &signature(LETTER, 3).unwrap()), 1.0);
    }

    #[test]
    fn an_edited_copy_scores_high_and_an_unrelated_text_low() {
        let edited = LETTER
            .replace("两点", "三点")
            .replace("尽快处理", "尽快处理，谢谢！");
        let other = "建议在梅林大道与西环路交叉口增设红绿灯，早晚高峰车辆抢行，行人过马路非常危险，\
            上周还发生了一起电动车与货车相撞的事故，请交警部门实地查看。";
        let base = signature(LETTER, 3).unwrap();
        let near = estimate_jaccard(&base, &signature(&edited, 3).unwrap());
        let far = estimate_jaccard(&base, &signature(other, 3).unwrap());
        assert!(near >= 0.7, "edited copy estimated at {near}");
        assert!(far <= 0.1, "unrelated text estimated at {far}");
    }

    #[test]
    fn punctuation_and_spacing_do_not_matter() {
        let respaced = LETTER.replace('，', " ").replace('。', "!");
        assert_eq!(
            signature(LETTER, 3).unwrap(),
            signature(&respaced, 3).unwrap()
        );
    }

    #[test]
    fn short_and_empty_texts() {
        assert!(signature("，。！", 3).is_none());
        let short = signature("如题", 3).unwrap();
        assert_eq!(
            estimate_jaccard(&short, &signature("如题！", 3).unwrap()),
            1.0
        );
        assert!(estimate_jaccard(&short, &signature("同上", 3).unwrap()) < 0.2);
    }

    #[test]
    fn band_keys_are_shared_exactly_when_a_band_is_equal() {
        let a = signature(LETTER, 3).unwrap();
        let mut b = a;
        b[0] ^= 1; // changes band 0 only
        let keys_a: Vec<u64> = band_keys(&a, 8, 4).collect();
        let keys_b: Vec<u64> = band_keys(&b, 8, 4).collect();
        assert_ne!(keys_a[0], keys_b[0]);
        assert_eq!(keys_a[1..], keys_b[1..]);
        // The band index is part of the key: equal values in two bands give two keys.
        let flat = [7u16; SIGNATURE_LEN];
        let keys: Vec<u64> = band_keys(&flat, 2, 4).collect();
        assert_ne!(keys[0], keys[1]);
    }
}
