//! How complaints' raw payloads are kept (`raw_encoding`): compressed with zstd when that saves
//! space, else as they came (NULL). Either way a read gives back the payload byte for byte: the
//! store keeps it verbatim, only smaller (real-length complaints' JSON shrinks by about a third).

use std::cell::RefCell;

use crate::store::StoreError;

/// The `raw_encoding` of a compressed payload.
pub const ZSTD: &str = "zstd";

/// zstd's default level: on payloads of a few kilobytes levels 1 to 9 differ by a few percent
/// of size and microseconds of time.
const LEVEL: i32 = 3;

/// Payloads shorter than this are kept as they came: a frame's header would eat the saving.
const MIN_LEN: usize = 128;

thread_local! {
    /// The writer's compressor, reused: a context per payload would cost more than the work.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
}

/// The bytes to store for `raw` and their `raw_encoding`.
pub fn encode(raw: &[u8]) -> (std::borrow::Cow<'_, [u8]>, Option<&'static str>) {
    if raw.len() < MIN_LEN {
        return (raw.into(), None);
    }
    let compressed = COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        cell.as_mut()?.compress(raw).ok()
    });
    match compressed {
        Some(bytes) if bytes.len() < raw.len() => (bytes.into(), Some(ZSTD)),
        _ => (raw.into(), None),
    }
}

/// The payload as it came, from a row's `raw` and `raw_encoding`.
pub fn decode(stored: Vec<u8>, encoding: Option<&str>) -> Result<Vec<u8>, StoreError> {
    match encoding {
        None => Ok(stored),
        Some(ZSTD) => zstd::stream::decode_all(stored.as_slice())
            .map_err(|e| StoreError::Corrupt(format!("raw payload (zstd): {e}"))),
        Some(other) => Err(StoreError::Corrupt(format!("raw_encoding `{other}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_come_back_byte_for_byte_and_long_ones_smaller() {
        let long = "{\"body\":\"小区门口道路施工三个月未完工，夜间噪音扰民，多次反映无果。\"}"
            .repeat(8)
            .into_bytes();
        let (stored, encoding) = encode(&long);
        assert_eq!(encoding, Some(ZSTD));
        assert!(
            stored.len() < long.len() / 2,
            "{} of {}",
            stored.len(),
            long.len()
        );
        assert_eq!(decode(stored.into_owned(), encoding).unwrap(), long);

        let short = b"{\"body\":\"x\"}".to_vec();
        let (stored, encoding) = encode(&short);
        assert_eq!((stored.as_ref(), encoding), (short.as_slice(), None));

        // GB18030 bytes, not UTF-8: kept exactly too.
        let gb: Vec<u8> = (0..400u32)
            .flat_map(|i| [0xB0 + (i % 7) as u8, 0xA1 + (i % 90) as u8])
            .collect();
        let (stored, encoding) = encode(&gb);
        assert_eq!(decode(stored.into_owned(), encoding).unwrap(), gb);

        assert!(matches!(
            decode(b"garbage".to_vec(), Some(ZSTD)),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            decode(Vec::new(), Some("lz9")),
            Err(StoreError::Corrupt(_))
        ));
    }
}
