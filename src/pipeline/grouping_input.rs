//! What the grouping engine sees of a stored complaint, and the keyed hashes that identify a
//! complainant without storing who it is.
//!
//! The HMAC key is generated once per store and kept in `gateway_state`; derived tables hold
//! only `HMAC(key, kind:value)`, so the same phone matches across complaints while the value
//! never leaves the complaint's own record.

use super::PipelineError;
use crate::grouping::ComplaintInput;
use crate::store::DerivedTx;
use chrono::{DateTime, Utc};
use connectors::{Channel, Item};
use hmac::{KeyInit, Mac};
use rand::RngCore;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// `gateway_state` key of the complainant HMAC key (hex).
const KEY_STATE: &str = "grouping.complainant_key";

/// `meta` fields that carry likes, signatures or co-signers.
const SUPPORT_FIELDS: &[&str] = &[
    "likes",
    "signatures",
    "supporters",
    "cosigners",
    "votes",
    "support",
    "点赞数",
    "附议数",
];

/// The store's complainant key, generated on first use.
pub async fn complainant_key(tx: &mut (dyn DerivedTx + '_)) -> Result<Vec<u8>, PipelineError> {
    let stored = tx.state(KEY_STATE).await?;
    if let Some(key) = stored.and_then(|hex_key| hex::decode(hex_key).ok()) {
        return Ok(key);
    }
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    tx.set_state(KEY_STATE, &hex::encode(&key)).await?;
    Ok(key)
}

fn keyed(key: &[u8], kind: &str, value: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(kind.as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// Keyed hashes of the complainant's phone, id number and email (normalised first), none for
/// an anonymous complaint.
pub fn complainant_keys(item: &Item, key: &[u8]) -> Vec<String> {
    let Some(person) = item.complainant.as_ref().filter(|p| !p.anonymous) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    if let Some(phone) = &person.phone {
        let mut digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 13 && digits.starts_with("86") {
            digits.drain(..2);
        }
        if digits.len() >= 7 {
            keys.push(keyed(key, "phone", &digits));
        }
    }
    if let Some(id) = &person.id {
        let id: String = id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase();
        if id.len() >= 6 {
            keys.push(keyed(key, "id", &id));
        }
    }
    if let Some(email) = &person.email {
        let email = email.trim().to_lowercase();
        if email.contains('@') {
            keys.push(keyed(key, "email", &email));
        }
    }
    keys
}

fn support_of(item: &Item) -> Option<u64> {
    let total: u64 = SUPPORT_FIELDS
        .iter()
        .filter_map(|field| item.meta.get(*field))
        .filter_map(|value| match value {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .sum();
    (total > 0).then_some(total)
}

fn is_media_tagged(item: &Item) -> bool {
    item.meta
        .get("tags")
        .and_then(|tags| tags.as_array())
        .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some("media_exposed")))
}

/// The engine's view of a stored complaint.
pub struct StoredComplaint<'a> {
    pub id: &'a str,
    pub channel: &'a str,
    /// The effective time (`submitted_ms`), never a future-dated `submitted_at`: the engine's
    /// clock follows the latest time it sees, and one item must not move it for all.
    pub effective_at: DateTime<Utc>,
    pub title: Option<&'a str>,
    pub text_norm: &'a str,
    pub item: &'a Item,
}

/// Builds the engine input of a complaint.
pub fn input_of(complaint: &StoredComplaint<'_>, key: &[u8]) -> ComplaintInput {
    let channel: Channel = complaint.channel.parse().unwrap_or(Channel::Other);
    ComplaintInput {
        complaint_id: complaint.id.to_string(),
        text: complaint.text_norm.to_string(),
        title: complaint.title.unwrap_or_default().to_string(),
        submitted_at: complaint.effective_at,
        channel,
        complainant_keys: complainant_keys(complaint.item, key),
        district: complaint
            .item
            .location
            .as_ref()
            .and_then(|l| l.district.as_deref())
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        public_support: support_of(complaint.item),
        media_exposed: channel == Channel::Media || is_media_tagged(complaint.item),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: serde_json::Value) -> Item {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_same_person_gets_the_same_keys_and_the_values_never_appear() {
        let key = b"0123456789abcdef0123456789abcdef";
        let first = item(serde_json::json!({"external_id": "a", "body": "x",
            "complainant": {"phone": "+86 138-0013-8000", "email": " Li@Example.cn "}}));
        let second = item(serde_json::json!({"external_id": "b", "body": "y",
            "complainant": {"phone": "13800138000", "email": "li@example.cn"}}));
        let first_keys = complainant_keys(&first, key);
        assert_eq!(first_keys.len(), 2);
        assert_eq!(first_keys, complainant_keys(&second, key));
        assert!(first_keys.iter().all(|k| !k.contains("13800138000")));
        assert_ne!(first_keys, complainant_keys(&first, b"another key"));
        let anonymous = item(serde_json::json!({"external_id": "c", "body": "z",
            "complainant": {"phone": "13800138000", "anonymous": true}}));
        assert!(complainant_keys(&anonymous, key).is_empty());
    }

    #[test]
    fn support_sums_known_meta_fields() {
        let with_support = item(serde_json::json!({"external_id": "a", "body": "x",
            "meta": {"likes": 12, "附议数": "30", "other": 5}}));
        assert_eq!(support_of(&with_support), Some(42));
    }
}
