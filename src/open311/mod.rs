//! The Open311 GeoReport v2 server: existing Open311 apps file complaints and follow them.
//!
//! - [`clients`]: the clients and their api_keys (argon2 hashes; registered at the command
//!   line); every endpoint needs a key, and a client sees only the requests it filed.
//! - [`services`]: what an app can choose from (tag rules of the routing file, and `general`).
//! - [`filing`]: a POST's form → a canonical item through intake (source `open311:<client>`,
//!   channel `online`) → the client's filing.
//! - [`requests`]: a filed complaint as a service request (status from the workflow, notes
//!   from the answer, agency from the queue; complainant never shown, reports never shown).
//! - [`query`]: `GET requests`' filters and the requests they select.
//! - [`limits`]: POSTs per client and per client address.
//! - [`format`]: JSON and XML answers.
//!
//! The handlers are `api::open311`.

pub mod clients;
pub mod config;
pub mod filing;
pub mod format;
pub mod limits;
pub mod query;
pub mod requests;
pub mod services;

use format::Node;
use requests::ServiceRequest;
use services::Service;

/// The specification every endpoint implements, as discovery names it.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

/// When this server's endpoints last changed (discovery's `changeset`).
pub const CHANGESET: &str = "2026-12-07T00:00:00Z";

/// Most requests one list answers, and the longest window it covers (the spec's defaults).
pub const MAX_RESULTS: usize = 1000;
pub const MAX_WINDOW_DAYS: i64 = 90;

/// What the server holds between requests.
pub struct Open311Runtime {
    pub services: Vec<Service>,
    pub keys: clients::Keys,
    pub limits: limits::PostLimits,
}

impl Open311Runtime {
    /// Checks the services against the routing file; the error names what does not fit.
    pub fn new(
        settings: &config::Open311Settings,
        routing: &crate::routing::RoutingConfig,
    ) -> Result<Open311Runtime, String> {
        Ok(Open311Runtime {
            services: services::catalogue(settings, routing)?,
            keys: clients::Keys::default(),
            limits: limits::PostLimits::new(settings),
        })
    }
}

/// `discovery`: one production endpoint at `url`.
pub fn discovery(url: &str, contact: &str) -> Node {
    let formats = Node::List(vec![
        Node::Text("application/json".into()),
        Node::Text("text/xml".into()),
    ]);
    Node::Fields(vec![
        ("changeset", Node::Text(CHANGESET.into())),
        ("contact", Node::Text(contact.into())),
        (
            "key_service",
            Node::Text("keys are issued by the complaint centre (open311 client add)".into()),
        ),
        (
            "endpoints",
            Node::List(vec![Node::Fields(vec![
                ("specification", Node::Text(SPECIFICATION.into())),
                ("url", Node::Text(url.into())),
                ("changeset", Node::Text(CHANGESET.into())),
                ("type", Node::Text("production".into())),
                ("formats", formats),
            ])]),
        ),
    ])
}

/// `services`: every service, realtime, without metadata.
pub fn service_list(services: &[Service]) -> Node {
    Node::List(
        services
            .iter()
            .map(|s| {
                Node::Fields(vec![
                    ("service_code", Node::Text(s.code.clone())),
                    ("service_name", Node::Text(s.name.clone())),
                    ("description", Node::Text(s.description.clone())),
                    ("metadata", Node::Bool(false)),
                    ("type", Node::Text("realtime".into())),
                    ("keywords", Node::Text(s.keywords.join(","))),
                    ("group", Node::Text(s.group.clone())),
                ])
            })
            .collect(),
    )
}

/// One service request, its fields in the spec's order.
pub fn request(r: &ServiceRequest) -> Node {
    let number = |n: Option<f64>| n.map_or(Node::Null, Node::Number);
    Node::Fields(vec![
        (
            "service_request_id",
            Node::Text(r.service_request_id.clone()),
        ),
        ("status", Node::Text(r.status.into())),
        ("status_notes", Node::text(r.status_notes.clone())),
        ("service_name", Node::text(r.service_name.clone())),
        ("service_code", Node::Text(r.service_code.clone())),
        ("description", Node::Text(r.description.clone())),
        (
            "agency_responsible",
            Node::text(r.agency_responsible.clone()),
        ),
        ("service_notice", Node::Null),
        (
            "requested_datetime",
            Node::Text(r.requested_datetime.clone()),
        ),
        ("updated_datetime", Node::Text(r.updated_datetime.clone())),
        ("expected_datetime", Node::text(r.expected_datetime.clone())),
        ("address", Node::text(r.address.clone())),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", number(r.lat)),
        ("long", number(r.long)),
        ("media_url", Node::text(r.media_url.clone())),
    ])
}

/// The answer to a POST: the new request's id and its token.
pub fn filed(filed: &filing::Filed) -> Node {
    Node::List(vec![Node::Fields(vec![
        (
            "service_request_id",
            Node::Text(filed.service_request_id.clone()),
        ),
        ("token", Node::Text(filed.token.clone())),
        ("service_notice", Node::Null),
        ("account_id", Node::Null),
    ])])
}

/// `tokens/{token}`: the request a token stands for.
pub fn token(service_request_id: &str, token: &str) -> Node {
    Node::List(vec![Node::Fields(vec![
        ("service_request_id", Node::Text(service_request_id.into())),
        ("token", Node::Text(token.into())),
    ])])
}

/// An error answer: `[{code, description}]` / `<errors><error>…`.
pub fn errors(code: u16, description: &str) -> Node {
    Node::List(vec![Node::Fields(vec![
        ("code", Node::Int(i64::from(code))),
        ("description", Node::Text(description.into())),
    ])])
}
