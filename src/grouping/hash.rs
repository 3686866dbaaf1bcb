//! Stable, seedless 64-bit hashing for grouping state.
//!
//! Grouping must give the same cases for the same input order on every run and every machine,
//! so nothing here may depend on a random seed (unlike `std`'s `RandomState`). The values live
//! only in memory: they are never stored, so the function may change between releases.

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 finaliser: spreads every input bit over the whole output.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Hashes `bytes` under a `seed` (different seeds give independent hash families).
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut state = mix64(seed ^ (bytes.len() as u64).wrapping_mul(MULTIPLIER));
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunk of eight bytes"));
        state = (state ^ word).wrapping_mul(MULTIPLIER).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        state = (state ^ u64::from_le_bytes(last))
            .wrapping_mul(MULTIPLIER)
            .rotate_left(29);
    }
    mix64(state)
}

/// Hashes a string under a seed.
pub(crate) fn hash_str(seed: u64, text: &str) -> u64 {
    hash_bytes(seed, text.as_bytes())
}

/// Seeds of the hash families, one per kind of key, so a term and a place with the same
/// spelling never share a postings entry by accident.
pub(crate) mod seed {
    pub(crate) const EXACT: u64 = 0x01;
    pub(crate) const TERM: u64 = 0x02;
    pub(crate) const PLACE: u64 = 0x03;
    pub(crate) const AREA: u64 = 0x04;
    pub(crate) const SHINGLE: u64 = 0x05;
    pub(crate) const BAND: u64 = 0x06;
    pub(crate) const COMPLAINANT: u64 = 0x07;
    pub(crate) const DISTRICT: u64 = 0x08;
    pub(crate) const COMPLAINT_ID: u64 = 0x09;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_input_equal_hash_and_seeds_separate_families() {
        assert_eq!(
            hash_str(seed::TERM, "油烟扰民"),
            hash_str(seed::TERM, "油烟扰民")
        );
        assert_ne!(
            hash_str(seed::TERM, "油烟扰民"),
            hash_str(seed::PLACE, "油烟扰民")
        );
        assert_ne!(hash_str(seed::TERM, "油烟"), hash_str(seed::TERM, "噪音"));
    }

    #[test]
    fn trailing_bytes_and_length_change_the_hash() {
        // Same first eight bytes, different tails, and a zero-padded tail versus none.
        assert_ne!(hash_bytes(0, b"abcdefgh1"), hash_bytes(0, b"abcdefgh2"));
        assert_ne!(hash_bytes(0, b"abcdefgh"), hash_bytes(0, b"abcdefgh\0"));
    }
}
