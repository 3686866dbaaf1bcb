//! The soak's staff: searches at a steady rate, and one decision every few seconds in turn —
//! a workflow transition of a case, a merge of two cases, a classification correction, a split, the hot
//! issues — each on what the gateway lists at that moment, as a person at the console would.

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::load::{Ctx, Gen, outcome};
use crate::bench::corpus::CorpusGenerator;

/// Words staff search for (all occur in the generated complaints).
const WORDS: &[&str] = &[
    "噪音",
    "物业",
    "电梯",
    "拖欠工资",
    "停水",
    "暖气",
    "违章搭建",
    "占道经营",
    "垃圾",
    "投诉",
    "小区",
    "油烟",
    "施工",
    "工单号",
    "\"夜间施工\"",
    "物業 電梯",
    "供暖 -暖气",
];
const CHANNELS: &[&str] = &["online", "hotline", "petition", "media"];

/// Makes the search requests (query parameters).
pub struct SearchGen {
    rng: StdRng,
    corpus: CorpusGenerator,
}

impl SearchGen {
    pub fn new(seed: u64) -> SearchGen {
        SearchGen {
            rng: StdRng::seed_from_u64(seed ^ 0x5ea7c4),
            corpus: CorpusGenerator::new(seed ^ 0xfeed),
        }
    }

    /// A word, a place from a complaint's title, or a word within one channel; some sorted by
    /// time.
    pub fn next_query(&mut self) -> Vec<(&'static str, String)> {
        let mut query = vec![("limit", "20".to_string())];
        let word = WORDS[self.rng.random_range(0..WORDS.len())].to_string();
        match self.rng.random_range(0..3) {
            0 => query.push(("q", word)),
            1 => {
                let title = self.corpus.complaint().0;
                query.push(("q", title.chars().take(5).collect()));
            }
            _ => {
                query.push(("q", word));
                let channel = CHANNELS[self.rng.random_range(0..CHANNELS.len())];
                query.push(("channel", channel.to_string()));
            }
        }
        if self.rng.random_bool(0.2) {
            query.push(("sort", "newest".to_string()));
        }
        query
    }
}

/// Sends one search and records its answer.
pub async fn search(ctx: Arc<Ctx>, query: Vec<(&'static str, String)>) {
    let started = Instant::now();
    let response = ctx
        .client
        .get(format!("{}/v1/search", ctx.base))
        .query(&query)
        .send()
        .await;
    match response {
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.bytes().await.unwrap_or_default();
            let ok = status == 200;
            ctx.stats.answer(
                Gen::Search,
                outcome(status, &body),
                ok,
                ok.then(|| started.elapsed()),
            );
        }
        Err(e) => ctx.stats.answer(
            Gen::Search,
            format!("not answered: {}", e.without_url()),
            false,
            None,
        ),
    }
}

/// A GET whose JSON answer the next step needs; a failure is recorded as an error.
async fn read(ctx: &Ctx, what: &str, path: &str) -> Option<Value> {
    let response = ctx.client.get(format!("{}{path}", ctx.base)).send().await;
    let failed = |detail: String| {
        ctx.stats
            .answer(Gen::Staff, format!("{what} {detail}"), false, None);
    };
    match response {
        Ok(r) if r.status().is_success() => match r.json::<Value>().await {
            Ok(value) => Some(value),
            Err(e) => {
                failed(format!("unreadable answer: {}", e.without_url()));
                None
            }
        },
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.bytes().await.unwrap_or_default();
            failed(outcome(status, &body));
            None
        }
        Err(e) => {
            failed(format!("not answered: {}", e.without_url()));
            None
        }
    }
}

/// The decision itself: a POST whose latency is the staff figure.
async fn decide(ctx: &Ctx, what: &str, path: &str, body: Value) {
    let started = Instant::now();
    let response = ctx
        .client
        .post(format!("{}{path}", ctx.base))
        .json(&body)
        .send()
        .await;
    match response {
        Ok(r) => {
            let status = r.status().as_u16();
            let answer = r.bytes().await.unwrap_or_default();
            let ok = (200..300).contains(&status);
            ctx.stats.answer(
                Gen::Staff,
                format!("{what} {}", outcome(status, &answer)),
                ok,
                Some(started.elapsed()),
            );
        }
        Err(e) => ctx.stats.answer(
            Gen::Staff,
            format!("{what} not answered: {}", e.without_url()),
            false,
            None,
        ),
    }
}

/// Nothing to act on yet (e.g. no case with two complaints): counted, not an error.
fn nothing(ctx: &Ctx, what: &str) {
    ctx.stats.answer(
        Gen::Staff,
        format!("{what} skipped (nothing to act on)"),
        true,
        None,
    );
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i[field].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Staff action number `n` (they take turns).
pub async fn act(ctx: Arc<Ctx>, n: u64, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let who = json!("soak-staff");
    let why = json!("soak test");
    match n % 5 {
        0 => {
            let Some(cases) = read(&ctx, "status", "/v1/cases?limit=20").await else {
                return;
            };
            let cases = ids(&cases, "id");
            if cases.is_empty() {
                return nothing(&ctx, "status");
            }
            let case = &cases[rng.random_range(0..cases.len())];
            let path = format!("/v1/cases/{case}/workflow");
            let Some(flow) = read(&ctx, "transition", &path).await else {
                return;
            };
            // Any step the case allows that needs no other case or person.
            let steps: Vec<&str> = flow["yours"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|a| !matches!(*a, "assign" | "merge" | "assign_investigator"))
                .collect();
            if steps.is_empty() {
                return nothing(&ctx, "transition");
            }
            let action = steps[rng.random_range(0..steps.len())];
            let body = json!({
                "action": action,
                "reason": "not_our_remit",
                "note": why,
                "finding": "substantiated",
                "reply": "已核实处理，感谢监督。",
            });
            let path = format!("/v1/cases/{case}/transitions");
            decide(&ctx, "transition", &path, body).await;
        }
        1 => {
            let Some(cases) = read(&ctx, "merge", "/v1/cases?limit=50").await else {
                return;
            };
            let cases = ids(&cases, "id");
            if cases.len() < 2 {
                return nothing(&ctx, "merge");
            }
            let a = rng.random_range(0..cases.len());
            let b = (a + rng.random_range(1..cases.len())) % cases.len();
            let body = json!({"with": cases[b], "by": who, "why": why});
            decide(
                &ctx,
                "merge",
                &format!("/v1/cases/{}/merge", cases[a]),
                body,
            )
            .await;
        }
        2 => {
            let Some(found) = read(
                &ctx,
                "correction",
                "/v1/search?q=%E6%8A%95%E8%AF%89&limit=10",
            )
            .await
            else {
                return;
            };
            let complaints = ids(&found["hits"], "id");
            if complaints.is_empty() {
                return nothing(&ctx, "correction");
            }
            let id = &complaints[rng.random_range(0..complaints.len())];
            let priority = ["urgent", "high", "normal", "low"][rng.random_range(0..4)];
            let body = json!({"priority": priority, "note": why, "corrected_by": who});
            decide(
                &ctx,
                "correction",
                &format!("/v1/complaints/{id}/classification"),
                body,
            )
            .await;
        }
        3 => {
            let listed = read(&ctx, "split", "/v1/cases?min_complaints=2&limit=20").await;
            let cases = ids(&listed.unwrap_or_default(), "id");
            if cases.is_empty() {
                return nothing(&ctx, "split");
            }
            let case = &cases[rng.random_range(0..cases.len())];
            let Some(detail) = read(&ctx, "split", &format!("/v1/cases/{case}")).await else {
                return;
            };
            let members = ids(&detail["members"], "complaint_id");
            if members.len() < 2 {
                return nothing(&ctx, "split");
            }
            let member = &members[rng.random_range(0..members.len())];
            let body = json!({"complaint_id": member, "by": who, "why": why});
            decide(&ctx, "split", &format!("/v1/cases/{case}/split"), body).await;
        }
        _ => {
            let started = Instant::now();
            if read(&ctx, "hot-issues", "/v1/hot-issues?window=1d&limit=10")
                .await
                .is_some()
            {
                ctx.stats.answer(
                    Gen::Staff,
                    "hot-issues 200".to_string(),
                    true,
                    Some(started.elapsed()),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_carry_a_text_and_a_limit() {
        let mut generator = SearchGen::new(3);
        for _ in 0..200 {
            let query = generator.next_query();
            let q = query
                .iter()
                .find(|(k, _)| *k == "q")
                .map(|(_, v)| v.as_str());
            assert!(q.is_some_and(|q| !q.trim().is_empty()), "{query:?}");
            assert!(query.contains(&("limit", "20".to_string())));
        }
    }
}
