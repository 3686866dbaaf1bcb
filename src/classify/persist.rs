//! The model file format.
//!
//! ```text
//! magic    8 bytes   "CGMODEL\n"
//! length   u32 LE    length of the header
//! header   JSON      {"meta": ModelMeta, "payload": {"rows", "classes", "sha256"}}
//! payload  rows × (bucket u32 LE, idf f32 LE, classes × weight f32 LE), then classes × intercept f32 LE
//! ```
//!
//! The header is self-describing (`head -c 4096 model.cgm` shows the labels, configuration,
//! training date, size and metrics) and can be read without the weights. The payload's SHA-256
//! is in the header, so a truncated or altered file is refused rather than loaded into a model
//! that silently predicts nonsense. A file whose `format_version` this build does not know is
//! refused too.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::features::Featurizer;
use super::metadata::{FORMAT_VERSION, ModelMeta};
use super::model::{Model, UNUSED};

const MAGIC: &[u8; 8] = b"CGMODEL\n";
/// Headers are small (labels, configuration, a confusion matrix); a larger one is corruption.
const MAX_HEADER_BYTES: u32 = 16 << 20;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    meta: ModelMeta,
    payload: PayloadInfo,
}

#[derive(Debug, Serialize, Deserialize)]
struct PayloadInfo {
    rows: usize,
    classes: usize,
    sha256: String,
}

/// Why a model file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a model file (bad magic bytes)")]
    NotAModel,
    #[error("model format version {found} is not supported (this build reads version {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("invalid model header: {0}")]
    Header(String),
    #[error("corrupt model file: {0}")]
    Corrupt(String),
}

/// Writes `model` in the model file format.
pub fn write_model(model: &Model, out: &mut impl Write) -> std::io::Result<()> {
    let payload = encode_payload(model);
    let header = Header {
        meta: model.meta.clone(),
        payload: PayloadInfo {
            rows: model.buckets.len(),
            classes: model.meta.labels.len(),
            sha256: hex::encode(Sha256::digest(&payload)),
        },
    };
    let header = serde_json::to_vec_pretty(&header).map_err(std::io::Error::other)?;
    out.write_all(MAGIC)?;
    out.write_all(&(header.len() as u32).to_le_bytes())?;
    out.write_all(&header)?;
    out.write_all(&payload)
}

fn encode_payload(model: &Model) -> Vec<u8> {
    let stride = 1 + model.meta.labels.len();
    let mut payload = Vec::with_capacity(model.buckets.len() * (4 + 4 * stride) + 4 * stride);
    for (row, &bucket) in model.buckets.iter().enumerate() {
        payload.extend_from_slice(&bucket.to_le_bytes());
        for value in &model.rows[row * stride..(row + 1) * stride] {
            payload.extend_from_slice(&value.to_le_bytes());
        }
    }
    for value in &model.intercepts {
        payload.extend_from_slice(&value.to_le_bytes());
    }
    payload
}

/// Reads only the self-description of a model file.
pub fn read_meta(input: &mut impl Read) -> Result<ModelMeta, ModelFileError> {
    Ok(read_header(input)?.meta)
}

fn read_header(input: &mut impl Read) -> Result<Header, ModelFileError> {
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|_| ModelFileError::NotAModel)?;
    if &magic != MAGIC {
        return Err(ModelFileError::NotAModel);
    }
    let mut length = [0u8; 4];
    input.read_exact(&mut length)?;
    let length = u32::from_le_bytes(length);
    if length > MAX_HEADER_BYTES {
        return Err(ModelFileError::Corrupt(format!(
            "header length {length} is implausible"
        )));
    }
    let mut header = vec![0u8; length as usize];
    input.read_exact(&mut header)?;
    // Check the version before the rest of the header, whose shape may differ in other versions.
    let version = serde_json::from_slice::<serde_json::Value>(&header)
        .map_err(|e| ModelFileError::Header(e.to_string()))?
        .pointer("/meta/format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ModelFileError::Header("no meta.format_version".into()))?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(ModelFileError::UnsupportedVersion {
            found: u32::try_from(version).unwrap_or(u32::MAX),
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_slice(&header).map_err(|e| ModelFileError::Header(e.to_string()))
}

/// Reads a whole model file.
pub fn read_model(input: &mut impl Read) -> Result<Model, ModelFileError> {
    let header = read_header(input)?;
    let meta = header.meta;
    let k = meta.labels.len();
    if header.payload.classes != k || k < 2 {
        return Err(ModelFileError::Corrupt(format!(
            "{} labels but {} classes of weights",
            k, header.payload.classes
        )));
    }
    let featurizer = Featurizer::new(meta.features.clone())
        .map_err(|e| ModelFileError::Header(e.to_string()))?;
    let stride = 1 + k;
    let rows = header.payload.rows;
    let expected = rows
        .checked_mul(4 + 4 * stride)
        .and_then(|n| n.checked_add(4 * k))
        .ok_or_else(|| ModelFileError::Corrupt("row count overflows".into()))?;
    let mut payload = Vec::with_capacity(expected.min(1 << 30));
    input.take(expected as u64 + 1).read_to_end(&mut payload)?;
    if payload.len() != expected {
        return Err(ModelFileError::Corrupt(format!(
            "payload is {} bytes, the header announces {expected}",
            payload.len()
        )));
    }
    if hex::encode(Sha256::digest(&payload)) != header.payload.sha256 {
        return Err(ModelFileError::Corrupt("payload checksum mismatch".into()));
    }
    let bucket_count = meta.features.bucket_count();
    let mut index = vec![UNUSED; bucket_count];
    let mut buckets = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(rows * stride);
    let mut words = payload.chunks_exact(4).map(|b| [b[0], b[1], b[2], b[3]]);
    for row in 0..rows {
        let bucket = u32::from_le_bytes(words.next().expect("length checked"));
        if bucket as usize >= bucket_count || index[bucket as usize] != UNUSED {
            return Err(ModelFileError::Corrupt(format!(
                "bucket {bucket} out of range or repeated"
            )));
        }
        index[bucket as usize] = row as u32;
        buckets.push(bucket);
        values.extend(words.by_ref().take(stride).map(f32::from_le_bytes));
    }
    let intercepts: Vec<f32> = words.map(f32::from_le_bytes).collect();
    Ok(Model {
        meta,
        featurizer,
        index,
        buckets,
        rows: values,
        intercepts,
    })
}
