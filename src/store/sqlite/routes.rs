//! SQLite: the operations of [`crate::store::routes`]. Reads on the store run on the
//! derived-data connection (routing's tables are written there).

mod read;
mod subjects;
mod write;

use std::collections::HashMap;

use async_trait::async_trait;

use super::{SqliteStore, SqliteTx};
use crate::store::StoreError;
use crate::store::routes::{
    CaseRoute, ClassificationRecord, CorrectedExample, Correction, QueueCount, RouteEvent,
    RouteEventRecord, RouteFacets, RouteReads, RouteWrites,
};
use crate::store::subjects::{CaseSubject, NewSubject, SubjectRemoval};

/// A condition holding when the case `route_key` (an SQL expression) is within an
/// investigator's reach: its route's queue, one of the queues it informs, or the queue holding
/// it in the workflow (see `people::privacy`) is one of a JSON array of queue keys bound twice
/// (NULL = no restriction, an empty array = nothing).
pub(super) fn in_reach(route_key: &str) -> String {
    format!(
        "(? IS NULL OR EXISTS (
             SELECT 1 FROM json_each(?) q
             WHERE EXISTS (SELECT 1 FROM case_routes r
                           WHERE r.route_key = {route_key}
                             AND (r.queue = q.value
                                  OR instr(' ' || r.informed || ' ', ' ' || q.value || ' ') > 0))
                OR EXISTS (SELECT 1 FROM case_workflow w
                           WHERE w.case_id = {route_key} AND w.queue_key = q.value)))"
    )
}

/// The JSON array [`in_reach`] binds (twice).
pub(super) fn reach_param(queues: Option<&[String]>) -> Option<String> {
    queues.map(|q| serde_json::to_string(q).expect("strings serialise"))
}

#[async_trait]
impl RouteReads for SqliteStore {
    async fn classification(
        &self,
        complaint_id: &str,
    ) -> Result<Option<ClassificationRecord>, StoreError> {
        let mut conn = self.derived_pool.acquire().await?;
        Ok(read::classification(&mut conn, complaint_id).await?)
    }

    async fn case_route(&self, route_key: &str) -> Result<Option<CaseRoute>, StoreError> {
        let mut conn = self.derived_pool.acquire().await?;
        Ok(read::case_route(&mut conn, route_key).await?)
    }

    async fn correction(&self, complaint_id: &str) -> Result<Option<Correction>, StoreError> {
        let mut conn = self.derived_pool.acquire().await?;
        Ok(read::correction(&mut conn, complaint_id).await?)
    }

    async fn route_events(&self, route_key: &str) -> Result<Vec<RouteEventRecord>, StoreError> {
        let mut conn = self.derived_pool.acquire().await?;
        Ok(read::route_events(&mut conn, route_key).await?)
    }

    async fn corrected_examples(&self) -> Result<Vec<CorrectedExample>, StoreError> {
        let mut conn = self.derived_pool.acquire().await?;
        Ok(read::corrected_examples(&mut conn).await?)
    }

    async fn open_counts_by_queue(&self) -> Result<Vec<QueueCount>, StoreError> {
        let mut conn = self.derived_pool.acquire().await?;
        Ok(read::open_counts_by_queue(&mut conn).await?)
    }

    async fn case_subjects(&self, case_id: &str) -> Result<Vec<CaseSubject>, StoreError> {
        let mut conn = self.derived_pool.acquire().await?;
        let mut found = subjects::of_cases(&mut conn, &[case_id]).await?;
        Ok(found.remove(case_id).unwrap_or_default())
    }
}

#[async_trait]
impl RouteWrites for SqliteTx {
    async fn classification(
        &mut self,
        complaint_id: &str,
    ) -> Result<Option<ClassificationRecord>, StoreError> {
        Ok(read::classification(self.conn(), complaint_id).await?)
    }

    async fn case_route(&mut self, route_key: &str) -> Result<Option<CaseRoute>, StoreError> {
        Ok(read::case_route(self.conn(), route_key).await?)
    }

    async fn corrections(
        &mut self,
        complaint_ids: &[&str],
    ) -> Result<HashMap<String, Correction>, StoreError> {
        Ok(read::corrections(self.conn(), complaint_ids).await?)
    }

    async fn previous_route_keys(
        &mut self,
        complaint_ids: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        Ok(read::previous_route_keys(self.conn(), complaint_ids).await?)
    }

    async fn case_routes(
        &mut self,
        route_keys: &[&str],
    ) -> Result<HashMap<String, CaseRoute>, StoreError> {
        Ok(read::case_routes(self.conn(), route_keys).await?)
    }

    async fn save_correction(
        &mut self,
        complaint_id: &str,
        correction: &Correction,
    ) -> Result<(), StoreError> {
        Ok(write::save_correction(self.conn(), complaint_id, correction).await?)
    }

    async fn upsert_case_routes(&mut self, routes: &[&CaseRoute]) -> Result<(), StoreError> {
        Ok(write::upsert_case_routes(self.conn(), routes).await?)
    }

    async fn upsert_classifications(
        &mut self,
        records: &[&ClassificationRecord],
    ) -> Result<(), StoreError> {
        Ok(write::upsert_classifications(self.conn(), records).await?)
    }

    async fn add_route_events(&mut self, events: &[&RouteEvent]) -> Result<(), StoreError> {
        Ok(write::add_route_events(self.conn(), events).await?)
    }

    async fn set_route_facets(&mut self, cases: &[RouteFacets<'_>]) -> Result<(), StoreError> {
        Ok(write::set_route_facets(self.conn(), cases).await?)
    }

    async fn cases_subjects(
        &mut self,
        case_ids: &[&str],
    ) -> Result<HashMap<String, Vec<CaseSubject>>, StoreError> {
        Ok(subjects::of_cases(self.conn(), case_ids).await?)
    }

    async fn record_subjects(&mut self, found: &[NewSubject<'_>]) -> Result<usize, StoreError> {
        Ok(subjects::record(self.conn(), found).await?)
    }

    async fn name_subject(&mut self, subject: &NewSubject<'_>) -> Result<bool, StoreError> {
        Ok(subjects::name(self.conn(), subject).await?)
    }

    async fn remove_subject(&mut self, removal: &SubjectRemoval<'_>) -> Result<bool, StoreError> {
        Ok(subjects::remove(self.conn(), removal).await?)
    }

    async fn reset_routing(&mut self) -> Result<(), StoreError> {
        Ok(write::reset(self.conn()).await?)
    }
}
