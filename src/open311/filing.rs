//! A POSTed service request, from its form (`application/x-www-form-urlencoded`, UTF-8) to a
//! complaint stored through intake like any other channel's item, and the filing that makes it
//! the client's.
//!
//! The canonical item: `external_id` is the request's token, `o311-` and 24 hex digits of the
//! SHA-256 of the client, the UTC day and the form's fields (the key left out), so an app that
//! sends the same request again that day (a retry after a timeout) gets the same request back
//! (intake's dedup) instead of a second complaint; `title` is the service's name, `body` the
//! description, `complainant` the name, phone and e-mail, `location` the address and
//! coordinates, `attachments` the media_url, `meta.open311` the service code, `attribute[…]`
//! values, `device_id` and `account_id`. The raw bytes kept are the form without the api_key.

use std::collections::BTreeMap;

use chrono::Utc;
use connectors::{Channel, RawItem};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::services::Service;
use crate::config::Config;
use crate::intake::{Origin, ingest};
use crate::store::open311::Open311Filing;
use crate::store::{Store, StoreError};

/// The fields of a POST the spec names; anything else is refused (400), so a misspelt field
/// is not silently lost.
const FIELDS: &[&str] = &[
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
];

/// A POST's form, decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    /// Field → value (the last value of a repeated field wins), `attribute[…]` included.
    fields: BTreeMap<String, String>,
}

/// Why a POST was refused before anything was stored (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the body is not a form of UTF-8 text: {0}")]
    Encoding(String),
    #[error("`{0}` is required")]
    Missing(&'static str),
    #[error("`{field}`: {why}")]
    Invalid { field: String, why: String },
}

impl Form {
    /// Decodes `application/x-www-form-urlencoded` bytes, strictly: bytes that are not UTF-8
    /// after decoding are refused, never replaced; a field a service request does not have is
    /// refused.
    pub fn parse(body: &[u8]) -> Result<Form, FormError> {
        let text = std::str::from_utf8(body).map_err(|e| FormError::Encoding(e.to_string()))?;
        let form = Form::parse_query(text)?;
        if let Some(name) = form
            .names()
            .find(|name| !FIELDS.contains(name) && attribute_code(name).is_none())
        {
            return Err(FormError::Invalid {
                why: format!(
                    "not a field of a service request (one of {})",
                    FIELDS.join(", ")
                ),
                field: name.to_string(),
            });
        }
        Ok(form)
    }

    /// Decodes a query string (any names; the caller checks them).
    pub fn parse_query(text: &str) -> Result<Form, FormError> {
        let mut fields = BTreeMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|e| FormError::Encoding(e.to_string()))
            };
            let (name, value) = (decode(name)?, decode(value)?);
            fields.insert(name, value);
        }
        Ok(Form { fields })
    }

    /// The names given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// A field's value, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The form without the api_key, encoded again: the raw bytes kept with the complaint.
    fn without_key(&self) -> Vec<u8> {
        let encode = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        self.fields
            .iter()
            .filter(|(name, _)| name.as_str() != "api_key")
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    }
}

/// `attribute[CODE]` → `CODE`.
fn attribute_code(name: &str) -> Option<&str> {
    name.strip_prefix("attribute[")?
        .strip_suffix(']')
        .filter(|c| !c.is_empty())
}

/// What a stored POST answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filed {
    pub service_request_id: String,
    pub token: String,
    /// The same request was filed before (that day): the earlier request is answered.
    pub duplicate: bool,
}

/// Why a POST was not filed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Form(#[from] FormError),
    /// Intake refused the item: it is kept as a dead letter.
    #[error("the request could not be accepted: {reason}")]
    Refused {
        reason: String,
        dead_letter_id: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The canonical item of a POST (see the module's documentation), or why the form is not one.
pub fn canonical_item(
    client: &str,
    form: &Form,
    services: &[Service],
    today: chrono::NaiveDate,
) -> Result<(Value, String, String), FormError> {
    let code = form
        .get("service_code")
        .ok_or(FormError::Missing("service_code"))?;
    let service = services
        .iter()
        .find(|s| s.code == code)
        .ok_or_else(|| FormError::Invalid {
            field: "service_code".into(),
            why: format!(
                "no service `{code}` (services.json lists {})",
                services
                    .iter()
                    .map(|s| s.code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
    let description = form
        .get("description")
        .ok_or(FormError::Missing("description"))?;
    let coordinate = |field: &'static str, range: f64| -> Result<Option<f64>, FormError> {
        form.get(field)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && n.abs() <= range)
                    .ok_or_else(|| FormError::Invalid {
                        field: field.into(),
                        why: format!("`{v}` is not a coordinate in degrees"),
                    })
            })
            .transpose()
    };
    let (lat, lon) = (coordinate("lat", 90.0)?, coordinate("long", 180.0)?);
    if lat.is_some() != lon.is_some() {
        return Err(FormError::Missing(if lat.is_some() {
            "long"
        } else {
            "lat"
        }));
    }
    let mut hasher = Sha256::new();
    hasher.update(client.as_bytes());
    hasher.update([0]);
    hasher.update(today.to_string().as_bytes());
    for (name, value) in form.fields.iter().filter(|(n, _)| n.as_str() != "api_key") {
        hasher.update([0]);
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(value.trim().as_bytes());
    }
    let token = format!("o311-{}", &hex::encode(hasher.finalize())[..24]);

    let mut item = Map::new();
    item.insert("external_id".into(), json!(token));
    item.insert("title".into(), json!(service.name));
    item.insert("body".into(), json!(description));
    let name = person_name(form.get("first_name"), form.get("last_name"));
    let mut complainant = Map::new();
    for (key, value) in [
        ("name", name.as_deref()),
        ("phone", form.get("phone")),
        ("email", form.get("email")),
    ] {
        if let Some(value) = value {
            complainant.insert(key.into(), json!(value));
        }
    }
    if !complainant.is_empty() {
        item.insert("complainant".into(), Value::Object(complainant));
    }
    let mut location = Map::new();
    if let Some(address) = form.get("address_string") {
        location.insert("address".into(), json!(address));
    }
    if let (Some(lat), Some(lon)) = (lat, lon) {
        location.insert("lat".into(), json!(lat));
        location.insert("lon".into(), json!(lon));
    }
    if !location.is_empty() {
        item.insert("location".into(), Value::Object(location));
    }
    if let Some(url) = form.get("media_url") {
        item.insert("attachments".into(), json!([{"url": url}]));
    }
    let attributes: Map<String, Value> = form
        .fields
        .iter()
        .filter_map(|(name, value)| Some((attribute_code(name)?.to_string(), json!(value.trim()))))
        .collect();
    let mut open311 = Map::new();
    open311.insert("service_code".into(), json!(service.code));
    for field in ["address_id", "device_id", "account_id", "jurisdiction_id"] {
        if let Some(value) = form.get(field) {
            open311.insert(field.into(), json!(value));
        }
    }
    if !attributes.is_empty() {
        open311.insert("attributes".into(), Value::Object(attributes));
    }
    item.insert("meta".into(), json!({ "open311": open311 }));
    Ok((Value::Object(item), token, service.code.clone()))
}

/// A person's name from the spec's two fields: Chinese names family name first and without a
/// space (张 + 三 → 张三), others given name first.
fn person_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let cjk = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    match (first, last) {
        (Some(f), Some(l)) if cjk(f) || cjk(l) => Some(format!("{l}{f}")),
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (one, other) => one.or(other).map(str::to_string),
    }
}

/// Files a POST of `client`: the complaint through intake (source `open311:<client>`, channel
/// `online`), then the filing.
pub async fn file(
    store: &Store,
    config: &Config,
    services: &[Service],
    client: &str,
    form: &Form,
) -> Result<Filed, FileError> {
    let now = Utc::now();
    let (value, token, service_code) = canonical_item(client, form, services, now.date_naive())?;
    let raw = RawItem::from_value(
        value,
        form.without_key(),
        "application/x-www-form-urlencoded".into(),
        &config.parse_options(),
    );
    let origin = Origin {
        source: source_of(client),
        channel: Channel::Online,
        historical: false,
    };
    let report = ingest(store, &origin, vec![raw], None).await?;
    if let Some(rejected) = report.rejected.first() {
        return Err(FileError::Refused {
            reason: rejected.error.clone(),
            dead_letter_id: rejected.dead_letter_id.clone(),
        });
    }
    let accepted = report
        .accepted
        .first()
        .ok_or_else(|| StoreError::Commit("intake answered nothing for the request".into()))?;
    let filing = Open311Filing {
        complaint_id: accepted.id.clone(),
        client: client.to_string(),
        token,
        service_code,
        filed_ms: now.timestamp_millis(),
    };
    let mut tx = store.begin_decision().await?;
    let recorded = tx.record_open311_filing(&filing).await?;
    tx.commit().await?;
    let token = if recorded {
        filing.token
    } else {
        store
            .open311_filing(client, &accepted.id)
            .await?
            .map_or(filing.token, |f| f.token)
    };
    Ok(Filed {
        service_request_id: accepted.id.clone(),
        token,
        duplicate: accepted.duplicate || !recorded,
    })
}

/// What every Open311 client's intake source starts with.
pub const SOURCE_PREFIX: &str = "open311:";

/// The intake source of a client's requests.
pub fn source_of(client: &str) -> String {
    format!("{SOURCE_PREFIX}{client}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Vec<Service> {
        vec![Service {
            code: "general".into(),
            name: "其他效能问题".into(),
            description: String::new(),
            keywords: Vec::new(),
            group: "分拣组".into(),
        }]
    }

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    #[test]
    fn a_form_becomes_a_canonical_item_with_the_complainant_and_without_the_key() {
        let body = "api_key=o311_secret&service_code=general&description=%E7%AA%97%E5%8F%A3%E6%8E%A8%E8%AF%BF\
                    &first_name=%E4%B8%89&last_name=%E5%BC%A0&phone=13800000000&lat=30.5&long=114.3\
                    &address_string=Main+St+1&attribute%5Bfloor%5D=3&media_url=https%3A%2F%2Fm.example%2Fa.jpg";
        let form = Form::parse(body.as_bytes()).unwrap();
        let (item, token, code) = canonical_item("app", &form, &services(), day()).unwrap();
        assert_eq!(code, "general");
        assert_eq!(item["external_id"], json!(token));
        assert_eq!(item["title"], "其他效能问题");
        assert_eq!(item["body"], "窗口推诿");
        assert_eq!(
            item["complainant"],
            json!({"name": "张三", "phone": "13800000000"})
        );
        assert_eq!(
            item["location"],
            json!({"address": "Main St 1", "lat": 30.5, "lon": 114.3})
        );
        assert_eq!(
            item["attachments"],
            json!([{"url": "https://m.example/a.jpg"}])
        );
        assert_eq!(item["meta"]["open311"]["attributes"], json!({"floor": "3"}));
        let raw = String::from_utf8(form.without_key()).unwrap();
        assert!(!raw.contains("api_key") && !raw.contains("secret"), "{raw}");

        // The same form the same day is the same request; another day or client is not.
        let again = canonical_item("app", &form, &services(), day()).unwrap().1;
        assert_eq!(again, token);
        let other_client = canonical_item("other", &form, &services(), day())
            .unwrap()
            .1;
        assert_ne!(other_client, token);
        let next_day = canonical_item("app", &form, &services(), day().succ_opt().unwrap())
            .unwrap()
            .1;
        assert_ne!(next_day, token);
    }

    #[test]
    fn missing_unknown_and_malformed_fields_are_named() {
        let refused = |body: &str| {
            Form::parse(body.as_bytes())
                .and_then(|f| canonical_item("app", &f, &services(), day()).map(|_| ()))
                .unwrap_err()
        };
        assert_eq!(refused("description=x"), FormError::Missing("service_code"));
        assert_eq!(
            refused("service_code=general"),
            FormError::Missing("description")
        );
        assert_eq!(
            refused("service_code=general&description=x&lat=1"),
            FormError::Missing("long")
        );
        assert!(matches!(refused("service_code=nope&description=x"),
            FormError::Invalid { field, .. } if field == "service_code"));
        assert!(
            matches!(refused("service_code=general&description=x&lat=91&long=0"),
            FormError::Invalid { field, .. } if field == "lat")
        );
        assert!(matches!(refused("service_code=general&descripton=x"),
            FormError::Invalid { field, .. } if field == "descripton"));
        assert!(matches!(
            refused("service_code=general&description=%FF"),
            FormError::Encoding(_)
        ));
    }
}
