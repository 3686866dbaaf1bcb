//! SQLite: the case writes, inside a derived-data transaction. Batches take a few statements
//! whatever their size (JSON1 binds and multi-row upserts): the pipeline's cost is dominated
//! by statement round trips, not by the work of each.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::super::SqliteTx;
use super::{DECISION_COLUMNS, decision, grouping_complaint_by_id};
use crate::store::cases::{
    CaseAggregate, CaseRow, CaseWrites, GroupingComplaint, GroupingState, MemberSeq, NewDecision,
    NewMember, StatusChange, StoredDecision,
};
use crate::store::{SNIPPET_SOURCE_CHARS, StoreError, text_norm_from_stored};

/// Rows per multi-row upsert (at most 10 bound values each, well under SQLite's variable
/// limit).
const UPSERT_CHUNK: usize = 500;

/// A list of strings as one JSON bind, for `json_each`.
fn json_list<T: serde::Serialize + ?Sized>(values: &T) -> Result<String, StoreError> {
    serde_json::to_string(values).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl CaseWrites for SqliteTx {
    async fn upsert_members(&mut self, members: &[NewMember]) -> Result<(), StoreError> {
        if members.is_empty() {
            return Ok(());
        }
        let tx = self.conn();
        for chunk in members.chunks(UPSERT_CHUNK / 2) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO case_members (complaint_id, case_id, seq, channel, submitted_ms,
                     complainant, public_support, media_exposed, reason) ",
            );
            query.push_values(chunk, |mut values, member| {
                values
                    .push_bind(member.complaint_id.as_str())
                    .push_bind(member.case_id.as_str())
                    .push_bind(member.seq)
                    .push_bind(member.channel.as_str())
                    .push_bind(member.submitted_ms)
                    .push_bind(member.complainant.as_deref())
                    .push_bind(member.public_support)
                    .push_bind(member.media_exposed)
                    .push_bind(member.reason_json.as_str());
            });
            query.push(
                " ON CONFLICT (complaint_id) DO UPDATE SET case_id = excluded.case_id,
                     seq = excluded.seq, channel = excluded.channel,
                     submitted_ms = excluded.submitted_ms, complainant = excluded.complainant,
                     public_support = excluded.public_support,
                     media_exposed = excluded.media_exposed, reason = excluded.reason",
            );
            query.build().execute(&mut *tx).await?;
        }
        let facets: Vec<(&str, &str, Option<&str>)> = members
            .iter()
            .map(|m| {
                (
                    m.complaint_id.as_str(),
                    m.case_id.as_str(),
                    m.duplicate_of.as_deref(),
                )
            })
            .collect();
        let facets = json_list(&facets)?;
        sqlx::query(
            "INSERT INTO complaint_facets (complaint_id)
             SELECT json_extract(value, '$[0]') FROM json_each(?) WHERE true
             ON CONFLICT DO NOTHING",
        )
        .bind(&facets)
        .execute(&mut *tx)
        .await?;
        let changed: Vec<String> = sqlx::query_scalar(
            "UPDATE complaint_facets SET case_id = v.case_id, duplicate_of = v.duplicate_of
             FROM (SELECT json_extract(value, '$[0]') AS id,
                       json_extract(value, '$[1]') AS case_id,
                       json_extract(value, '$[2]') AS duplicate_of FROM json_each(?)) AS v
             WHERE complaint_facets.complaint_id = v.id
               AND (complaint_facets.case_id IS NOT v.case_id
                    OR complaint_facets.duplicate_of IS NOT v.duplicate_of)
             RETURNING complaint_facets.complaint_id",
        )
        .bind(&facets)
        .fetch_all(&mut *tx)
        .await?;
        if !changed.is_empty() {
            sqlx::query("INSERT INTO index_queue (complaint_id) SELECT value FROM json_each(?)")
                .bind(json_list(&changed)?)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    async fn set_member_case(
        &mut self,
        complaint_id: &str,
        case_id: &str,
        reason_json: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE case_members SET case_id = ?, reason = ? WHERE complaint_id = ?")
            .bind(case_id)
            .bind(reason_json)
            .bind(complaint_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn members_of(&mut self, case_id: &str) -> Result<Vec<MemberSeq>, StoreError> {
        let rows = sqlx::query(
            "SELECT complaint_id, seq FROM case_members WHERE case_id = ? ORDER BY seq",
        )
        .bind(case_id)
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| MemberSeq {
                complaint_id: row.get("complaint_id"),
                seq: row.get("seq"),
            })
            .collect())
    }

    async fn member_cases(
        &mut self,
        complaint_ids: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT complaint_id, case_id FROM case_members
             WHERE complaint_id IN (SELECT value FROM json_each(?))",
        )
        .bind(json_list(complaint_ids)?)
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get("complaint_id"), row.get("case_id")))
            .collect())
    }

    async fn delete_empty_cases(&mut self, case_ids: &BTreeSet<String>) -> Result<(), StoreError> {
        if case_ids.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "DELETE FROM cases WHERE id IN (SELECT value FROM json_each(?))
                 AND NOT EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = cases.id)",
        )
        .bind(json_list(case_ids)?)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn case_aggregates(
        &mut self,
        case_ids: &BTreeSet<String>,
    ) -> Result<Vec<CaseAggregate>, StoreError> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT m.case_id AS case_id, COUNT(*) AS complaints,
                 COUNT(DISTINCT COALESCE(m.complainant, m.complaint_id)) AS complainants,
                 MIN(m.submitted_ms) AS first_ms, MAX(m.submitted_ms) AS last_ms,
                 COALESCE(SUM(m.public_support), 0) AS support,
                 COALESCE(MAX(m.media_exposed), 0) AS media,
                 group_concat(DISTINCT m.channel) AS channels,
                 (SELECT c.title FROM complaints c WHERE c.id = m.case_id) AS founder_title,
                 (SELECT c.text_norm FROM complaints c WHERE c.id = m.case_id) AS founder_text,
                 (SELECT substr(c.body, 1, ?) FROM complaints c WHERE c.id = m.case_id)
                     AS founder_body
             FROM case_members m WHERE m.case_id IN (SELECT value FROM json_each(?))
             GROUP BY m.case_id",
        )
        .bind(SNIPPET_SOURCE_CHARS)
        .bind(json_list(case_ids)?)
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let channels: Option<String> = row.get("channels");
                let founder_title: Option<String> = row.get("founder_title");
                CaseAggregate {
                    case_id: row.get("case_id"),
                    complaints: row.get("complaints"),
                    complainants: row.get("complainants"),
                    first_ms: row.get("first_ms"),
                    last_ms: row.get("last_ms"),
                    public_support: row.get("support"),
                    media_exposed: row.get::<i64, _>("media") != 0,
                    channels: channels
                        .as_deref()
                        .unwrap_or_default()
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_string)
                        .collect(),
                    founder_text: row
                        .get::<Option<String>, _>("founder_text")
                        .zip(row.get::<Option<String>, _>("founder_body"))
                        .map(|(text, body)| {
                            text_norm_from_stored(text, founder_title.as_deref(), &body)
                        }),
                    founder_title,
                }
            })
            .collect())
    }

    async fn case_rows(&mut self, case_ids: &BTreeSet<String>) -> Result<Vec<CaseRow>, StoreError> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT id, title, complaints, complainants, channels, first_seen, last_seen,
                 last_seen_ms, public_support, media_exposed
             FROM cases WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(json_list(case_ids)?)
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| CaseRow {
                id: row.get("id"),
                title: row.get("title"),
                complaints: row.get("complaints"),
                complainants: row.get("complainants"),
                channels: row
                    .get::<String, _>("channels")
                    .split(' ')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                first_seen: row.get("first_seen"),
                last_seen: row.get("last_seen"),
                last_seen_ms: row.get("last_seen_ms"),
                public_support: row.get("public_support"),
                media_exposed: row.get::<i64, _>("media_exposed") != 0,
            })
            .collect())
    }

    async fn complainants_present(
        &mut self,
        pairs: &BTreeSet<(String, String)>,
    ) -> Result<BTreeSet<(String, String)>, StoreError> {
        if pairs.is_empty() {
            return Ok(BTreeSet::new());
        }
        // One probe of the (case, complainant) index per pair: the cost does not grow with
        // the size of the case.
        let rows = sqlx::query(
            "SELECT json_extract(p.value, '$[0]') AS case_id,
                    json_extract(p.value, '$[1]') AS complainant
             FROM json_each(?) AS p
             WHERE EXISTS (SELECT 1 FROM case_members m INDEXED BY case_members_complainant
                           WHERE m.case_id = json_extract(p.value, '$[0]')
                             AND m.complainant = json_extract(p.value, '$[1]'))",
        )
        .bind(json_list(pairs)?)
        .fetch_all(self.conn())
        .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get("case_id"), row.get("complainant")))
            .collect())
    }

    async fn upsert_cases(&mut self, cases: &[CaseRow]) -> Result<(), StoreError> {
        let tx = self.conn();
        for chunk in cases.chunks(UPSERT_CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO cases (id, title, complaints, complainants, channels, first_seen,
                     last_seen, last_seen_ms, public_support, media_exposed) ",
            );
            query.push_values(chunk, |mut values, case| {
                values
                    .push_bind(case.id.as_str())
                    .push_bind(case.title.as_str())
                    .push_bind(case.complaints)
                    .push_bind(case.complainants)
                    .push_bind(case.channels.join(" "))
                    .push_bind(case.first_seen.as_str())
                    .push_bind(case.last_seen.as_str())
                    .push_bind(case.last_seen_ms)
                    .push_bind(case.public_support)
                    .push_bind(i64::from(case.media_exposed));
            });
            query.push(
                " ON CONFLICT (id) DO UPDATE SET title = excluded.title,
                     complaints = excluded.complaints, complainants = excluded.complainants,
                     channels = excluded.channels, first_seen = excluded.first_seen,
                     last_seen = excluded.last_seen, last_seen_ms = excluded.last_seen_ms,
                     public_support = excluded.public_support,
                     media_exposed = excluded.media_exposed",
            );
            query.build().execute(&mut *tx).await?;
        }
        Ok(())
    }

    async fn clear_cases(&mut self) -> Result<(), StoreError> {
        let tx = self.conn();
        sqlx::query("DELETE FROM case_members")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM cases").execute(&mut *tx).await?;
        Ok(())
    }

    async fn case_exists(&mut self, case_id: &str) -> Result<bool, StoreError> {
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM cases WHERE id = ?")
            .bind(case_id)
            .fetch_optional(self.conn())
            .await?;
        Ok(exists.is_some())
    }

    async fn record_decision(&mut self, decision: NewDecision<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO case_decisions (decision, actor, why, decided_at) VALUES (?, ?, ?, ?)",
        )
        .bind(decision.decision_json)
        .bind(decision.actor)
        .bind(decision.why)
        .bind(decision.decided_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn set_case_status(&mut self, change: StatusChange<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO case_status (case_id, status, actor, why, updated_at)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (case_id) DO UPDATE SET status = excluded.status,
                 actor = excluded.actor, why = excluded.why, updated_at = excluded.updated_at",
        )
        .bind(change.case_id)
        .bind(change.status)
        .bind(change.actor)
        .bind(change.why)
        .bind(change.updated_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    async fn decisions_after(&mut self, after_id: i64) -> Result<Vec<StoredDecision>, StoreError> {
        let sql = format!("{DECISION_COLUMNS} WHERE id > ? ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after_id)
            .fetch_all(self.conn())
            .await?;
        Ok(rows.iter().map(decision).collect())
    }

    async fn grouping_complaint(
        &mut self,
        complaint_id: &str,
    ) -> Result<Option<GroupingComplaint>, StoreError> {
        grouping_complaint_by_id(self.conn(), complaint_id).await
    }

    async fn grouping_state(
        &mut self,
        window_ms: i64,
        max_window: usize,
    ) -> Result<GroupingState, StoreError> {
        super::grouping_state(self.conn(), window_ms, max_window).await
    }
}
