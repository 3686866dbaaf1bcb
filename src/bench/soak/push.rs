//! The soak's webhook pushes: signed requests of 1–N generated complaints, with exact
//! re-deliveries, changed re-deliveries (revisions) and deliberately bad requests at fixed
//! proportions, each checked against the answer it calls for.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use chrono::{FixedOffset, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::load::{Ctx, Gen, outcome};
use crate::bench::corpus::CorpusGenerator;
use crate::webhook::auth::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

/// The soak's webhook source and its secret.
pub const SOURCE: &str = "soak";
pub const SECRET: &str = "soak-secret";

/// Percent of pushes of each kind; the rest are fresh complaints.
pub const MIX: [(Kind, u32); 6] = [
    (Kind::Duplicate, 5),
    (Kind::Revision, 5),
    (Kind::Malformed, 1),
    (Kind::BadSignature, 1),
    (Kind::Undecodable, 1),
    (Kind::InvalidItem, 1),
];

/// What a push is, and so which answer it calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// New complaints: 202, all accepted.
    Fresh,
    /// An earlier request sent again as it was (signed anew): 202, duplicates.
    Duplicate,
    /// An earlier complaint with its text changed: 202, a revision.
    Revision,
    /// A body that is not JSON: 400 malformed_json (dead-lettered).
    Malformed,
    /// Signed with the wrong secret: 401 signature_invalid.
    BadSignature,
    /// GB18030 bytes labelled UTF-8: 400 undecodable_body (dead-lettered).
    Undecodable,
    /// Fresh complaints and one item without a body: 202 with that item rejected.
    InvalidItem,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Fresh => "fresh",
            Kind::Duplicate => "duplicate",
            Kind::Revision => "revision",
            Kind::Malformed => "malformed-json",
            Kind::BadSignature => "bad-signature",
            Kind::Undecodable => "wrong-encoding",
            Kind::InvalidItem => "invalid-item",
        }
    }

    fn expected_status(self) -> u16 {
        match self {
            Kind::Fresh | Kind::Duplicate | Kind::Revision | Kind::InvalidItem => 202,
            Kind::Malformed | Kind::Undecodable => 400,
            Kind::BadSignature => 401,
        }
    }
}

/// One request to send.
pub struct Push {
    kind: Kind,
    body: Vec<u8>,
    content_type: &'static str,
    secret: &'static str,
}

/// Requests kept for re-delivery, and complaints kept for revision (bounded, so the
/// generator's memory does not grow with the run), each a sample of the fresh ones so that
/// they reach back tens of seconds, as a sender's retries and corrections do.
const RECENT_BODIES: usize = 128;
const KEEP_BODY: f64 = 0.1;
const RECENT_ITEMS: usize = 1024;
const KEEP_ITEM: f64 = 0.2;

/// Makes the pushes; seeded, so two runs send the same sequence.
pub struct PushGen {
    rng: StdRng,
    corpus: CorpusGenerator,
    max_items: usize,
    next_id: u64,
    /// A request and the second it was last signed: a re-delivery must be signed in a later
    /// second, or it would repeat the (timestamp, signature) pair and be refused as a replay.
    bodies: VecDeque<(Vec<u8>, i64)>,
    items: VecDeque<serde_json::Value>,
}

impl PushGen {
    pub fn new(seed: u64, max_items: usize) -> PushGen {
        PushGen {
            rng: StdRng::seed_from_u64(seed),
            corpus: CorpusGenerator::new(seed ^ 0x50a6),
            max_items: max_items.max(1),
            next_id: 0,
            bodies: VecDeque::new(),
            items: VecDeque::new(),
        }
    }

    /// The kind of the next push, by [`MIX`].
    fn kind(&mut self) -> Kind {
        let mut roll = self.rng.random_range(0..100);
        for (kind, percent) in MIX {
            if roll < percent {
                return kind;
            }
            roll -= percent;
        }
        Kind::Fresh
    }

    /// A new complaint, as a canonical item.
    fn item(&mut self) -> serde_json::Value {
        let (title, body, _) = self.corpus.complaint();
        let id = self.next_id;
        self.next_id += 1;
        let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
        let submitted = Utc::now() - chrono::Duration::minutes(self.rng.random_range(0..120));
        let mut item = serde_json::json!({
            "external_id": format!("soak-{id:09}"),
            "title": title,
            "body": body,
            "submitted_at": submitted.with_timezone(&cst).to_rfc3339(),
        });
        if self.rng.random_bool(0.5) {
            item["complainant"] = serde_json::json!({
                "name": "市民",
                "phone": format!("1390000{:04}", self.rng.random_range(0..5000)),
            });
        }
        item
    }

    fn remember_item(&mut self, item: &serde_json::Value) {
        if !self.rng.random_bool(KEEP_ITEM) {
            return;
        }
        if self.items.len() == RECENT_ITEMS {
            self.items.pop_front();
        }
        self.items.push_back(item.clone());
    }

    /// NDJSON or a JSON array, alternately.
    fn encode(&mut self, items: &[serde_json::Value]) -> (Vec<u8>, &'static str) {
        if self.rng.random_bool(0.5) {
            let mut body = Vec::new();
            for item in items {
                body.extend_from_slice(item.to_string().as_bytes());
                body.push(b'\n');
            }
            (body, "application/x-ndjson")
        } else {
            (
                serde_json::Value::Array(items.to_vec())
                    .to_string()
                    .into_bytes(),
                "application/json",
            )
        }
    }

    fn fresh(&mut self, kind: Kind, now: i64) -> Push {
        let count = self.rng.random_range(1..=self.max_items);
        let mut items: Vec<serde_json::Value> = (0..count).map(|_| self.item()).collect();
        // Complaints that will be stored may be revised later; a refused request's may not.
        if kind != Kind::BadSignature {
            for item in &items {
                self.remember_item(item);
            }
        }
        if kind == Kind::InvalidItem {
            let at = self.rng.random_range(0..=items.len());
            let id = self.next_id;
            self.next_id += 1;
            items.insert(
                at,
                serde_json::json!({"external_id": format!("soak-{id:09}"), "title": "没有正文"}),
            );
        }
        let (body, content_type) = self.encode(&items);
        if kind == Kind::Fresh && self.rng.random_bool(KEEP_BODY) {
            if self.bodies.len() == RECENT_BODIES {
                self.bodies.pop_front();
            }
            self.bodies.push_back((body.clone(), now));
        }
        Push {
            kind,
            body,
            content_type,
            secret: SECRET,
        }
    }

    /// The next push.
    pub fn next_push(&mut self) -> Push {
        self.next_push_at(Utc::now().timestamp())
    }

    /// The next push when the clock reads `now` (unix seconds).
    fn next_push_at(&mut self, now: i64) -> Push {
        let kind = self.kind();
        let resend = match self.bodies.len() {
            0 => None,
            n => Some(self.rng.random_range(0..n)).filter(|&i| self.bodies[i].1 < now - 1),
        };
        match kind {
            Kind::Duplicate if resend.is_some() => {
                let entry = &mut self.bodies[resend.unwrap_or_default()];
                entry.1 = now;
                let body = entry.0.clone();
                let content_type = if body.first() == Some(&b'[') {
                    "application/json"
                } else {
                    "application/x-ndjson"
                };
                Push {
                    kind,
                    body,
                    content_type,
                    secret: SECRET,
                }
            }
            Kind::Revision if !self.items.is_empty() => {
                let at = self.rng.random_range(0..self.items.len());
                let mut item = self.items[at].clone();
                let text = item["body"].as_str().unwrap_or_default().to_string();
                let addition = self.corpus.complaint().1;
                let note: String = addition.chars().take(40).collect();
                item["body"] = format!("{text}补充情况：{note}。").into();
                // The next revision of this complaint builds on this one.
                self.items[at] = item.clone();
                Push {
                    kind,
                    body: item.to_string().into_bytes(),
                    content_type: "application/json",
                    secret: SECRET,
                }
            }
            Kind::Malformed => {
                let mut body = self.item().to_string().into_bytes();
                body.pop(); // the closing brace
                body.extend_from_slice(b",\"note\":");
                Push {
                    kind,
                    body,
                    content_type: "application/json",
                    secret: SECRET,
                }
            }
            Kind::BadSignature => Push {
                secret: "not-the-secret",
                ..self.fresh(kind, now)
            },
            Kind::Undecodable => {
                let text = self.item().to_string();
                Push {
                    kind,
                    body: encoding_rs::GB18030.encode(&text).0.into_owned(),
                    content_type: "application/json; charset=utf-8",
                    secret: SECRET,
                }
            }
            Kind::InvalidItem => self.fresh(kind, now),
            Kind::Fresh | Kind::Duplicate | Kind::Revision => self.fresh(Kind::Fresh, now),
        }
    }
}

/// Sends one push and records its answer.
pub async fn send(ctx: Arc<Ctx>, push: Push) {
    let ts = Utc::now().timestamp();
    let signature = sign(push.secret.as_bytes(), ts, &push.body);
    let kind = push.kind;
    let started = Instant::now();
    let response = ctx
        .client
        .post(format!("{}/v1/webhooks/{SOURCE}", ctx.base))
        .header("content-type", push.content_type)
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(SIGNATURE_HEADER, signature)
        .body(push.body)
        .send()
        .await;
    let (status, body) = match response {
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Ok(body) => (status, body),
                Err(e) => {
                    let what = format!("{} answer cut short: {}", kind.name(), e.without_url());
                    ctx.stats.answer(Gen::Push, what, false, None);
                    return;
                }
            }
        }
        Err(e) => {
            let what = format!("{} not answered: {}", kind.name(), e.without_url());
            ctx.stats.answer(Gen::Push, what, false, None);
            return;
        }
    };
    let latency = started.elapsed();
    let mut ok = status == kind.expected_status();
    if status == 202 {
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let list = |name: &str| answer[name].as_array().cloned().unwrap_or_default();
        let (accepted, rejected) = (list("accepted"), list("rejected"));
        let duplicates = accepted.iter().filter(|a| a["duplicate"] == true).count();
        let revisions = accepted.iter().filter(|a| a["revision"].is_i64()).count();
        let rejected_expected = usize::from(kind == Kind::InvalidItem);
        ok &= rejected.len() == rejected_expected;
        ctx.stats.items(
            accepted.len() as u64,
            duplicates as u64,
            revisions as u64,
            rejected.len() as u64,
        );
    }
    let what = format!("{} {}", kind.name(), outcome(status, &body));
    ctx.stats
        .answer(Gen::Push, what, ok, (status == 202).then_some(latency));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_holds_every_kind_at_its_proportion() {
        let mut generator = PushGen::new(7, 5);
        let mut counts = std::collections::HashMap::new();
        // 50 pushes a second.
        for n in 0..20_000 {
            *counts
                .entry(generator.next_push_at(n / 50).kind)
                .or_insert(0u32) += 1;
        }
        for (kind, percent) in MIX {
            let share = f64::from(counts[&kind]) / 200.0;
            assert!(
                (share - f64::from(percent)).abs() < 1.0,
                "{kind:?}: {share}%"
            );
        }
        assert!(counts[&Kind::Fresh] > 15_000);
        assert!(generator.bodies.len() <= RECENT_BODIES);
        assert!(generator.items.len() <= RECENT_ITEMS);
    }

    #[test]
    fn bad_requests_are_bad_in_the_intended_way() {
        let mut generator = PushGen::new(11, 5);
        let mut seen = std::collections::HashSet::new();
        for n in 0..100_000 {
            if seen.len() == 7 {
                break;
            }
            let push = generator.next_push_at(n / 50);
            seen.insert(push.kind);
            match push.kind {
                Kind::Malformed => {
                    assert!(serde_json::from_slice::<serde_json::Value>(&push.body).is_err())
                }
                Kind::Undecodable => assert!(std::str::from_utf8(&push.body).is_err()),
                Kind::BadSignature => assert_ne!(push.secret, SECRET),
                Kind::Revision => {
                    let item: serde_json::Value = serde_json::from_slice(&push.body).unwrap();
                    assert!(item["body"].as_str().unwrap().contains("补充情况"));
                }
                Kind::InvalidItem => {
                    let text = String::from_utf8(push.body).unwrap();
                    assert!(text.contains("没有正文"));
                }
                Kind::Fresh | Kind::Duplicate => {
                    assert!(std::str::from_utf8(&push.body).is_ok());
                }
            }
        }
        assert_eq!(seen.len(), 7, "{seen:?}");
    }
}
