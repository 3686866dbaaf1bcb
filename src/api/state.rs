//! What every request handler shares.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::calendar::SharedCalendar;
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
    /// Service-account tokens of `api.token_envs`.
    pub api_tokens: Arc<Vec<crate::config::ServiceToken>>,
    /// Verified token secrets and when each token's use was last recorded.
    pub auth: Arc<super::auth::Authenticator>,
    /// Login attempts per account name and client address.
    pub login_limits: Arc<super::session::LoginLimits>,
    /// Set once the indexer has caught up with the store after start.
    pub index_ready: Arc<AtomicBool>,
    /// Status of every pull source and webhook sender.
    pub sources: Arc<SourceRegistry>,
    /// Queues and routing rules (corrections are routed with them).
    pub routing: Arc<crate::routing::RoutingConfig>,
    /// The sources that take answers back by callback.
    pub callbacks: Arc<crate::answers::Callbacks>,
    /// The working-day calendar deadlines are computed on.
    pub calendar: Arc<SharedCalendar>,
    /// The email templates, loaded and checked at start.
    pub templates: Arc<crate::notify::templates::MailTemplates>,
    /// The Open311 server: its services, key checks and POST limits.
    pub open311: Arc<crate::open311::Open311Runtime>,
}

impl AppState {
    /// What deadlines that follow a staff step need.
    pub fn clocks(&self) -> crate::workflow::clocks::Clocks<'_> {
        crate::workflow::clocks::Clocks {
            config: &self.config,
            calendar: self.calendar.current(),
            routing: &self.routing,
            templates: &self.templates,
        }
    }
}
