//! Stable hashing and a seeded random generator.
//!
//! Feature indices are persisted inside model files, so the hash of a feature must never change
//! between builds, platforms or Rust versions: `std`'s hashers promise none of that, hence this
//! small, fixed implementation (the splitmix64 finaliser). The generator is splitmix64 too, so a
//! seed gives the same shuffles and folds forever.

/// Mixes a 64-bit value into a well-distributed 64-bit value (splitmix64 finaliser).
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Extends hash state `h` with one more 64-bit value.
#[inline]
pub(crate) fn combine(h: u64, value: u64) -> u64 {
    mix64(h.rotate_left(23) ^ value.wrapping_add(0x9e37_79b9_7f4a_7c15))
}

/// Hashes a byte string, eight bytes at a time, starting from `seed`.
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = combine(seed, bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        h = combine(h, u64::from_le_bytes(chunk.try_into().expect("chunk of 8")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = combine(h, u64::from_le_bytes(last));
    }
    h
}

/// A small deterministic generator (splitmix64); enough for shuffles and fold assignment.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.state)
    }

    /// A uniform integer in `0..bound` (bound > 0), by Lemire's multiply-shift.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_hash_depends_on_every_byte_and_on_the_seed() {
        let base = hash_bytes(1, b"complaint");
        assert_ne!(base, hash_bytes(1, b"complainT"));
        assert_ne!(base, hash_bytes(2, b"complaint"));
        // Zero padding of the last chunk must not make a shorter string collide with a longer one.
        assert_ne!(hash_bytes(1, b"ab"), hash_bytes(1, b"ab\0"));
    }

    #[test]
    fn shuffle_is_a_permutation_and_repeats_for_a_seed() {
        let mut a: Vec<u32> = (0..100).collect();
        let mut b = a.clone();
        SplitMix64::new(7).shuffle(&mut a);
        SplitMix64::new(7).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(3);
        assert!((0..1000).all(|_| rng.below(5) < 5));
    }
}
