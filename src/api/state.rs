//! What every request handler shares.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::calendar::Calendar;
use crate::config::Config;
use crate::index::SearchIndex;
use crate::sources::status::SourceRegistry;
use crate::store::Store;
use crate::webhook::WebhookRuntime;

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub index: SearchIndex,
    pub webhooks: Arc<BTreeMap<String, Arc<WebhookRuntime>>>,
    /// How many refused webhook requests each source and client address may still cause.
    pub refusals: Arc<crate::webhook::refusals::Refusals>,
    /// Bearer tokens for staff endpoints; empty = open.
    pub api_tokens: Arc<Vec<String>>,
    /// Set once the indexer has caught up with the store after start.
    pub index_ready: Arc<AtomicBool>,
    /// Status of every pull source and webhook sender.
    pub sources: Arc<SourceRegistry>,
    /// Queues and routing rules (corrections are routed with them).
    pub routing: Arc<crate::routing::RoutingConfig>,
    /// The working-day calendar deadlines are computed on.
    pub calendar: Arc<Calendar>,
}
