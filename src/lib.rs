//! complaint-gateway: one durable, searchable place for every complaint channel of a city
//! government — petitions, the 12345 hotline, the online portal, news media.
//!
//! Data flow: items arrive by webhook ([`webhook`]), pull connectors ([`sources`]) or file
//! import ([`cli`]), pass through [`intake`] (validate, decode, normalise) into the [`store`]
//! (the system of record, group-committed; SQLite by default), and are followed by the search [`index`]
//! (tantivy, rebuildable). The [`api`] serves search, complaints, dead letters and source
//! status; [`app`] wires it all and shuts down gracefully.
//!
//! Modules:
//! - [`config`]: the TOML configuration, strict, defaults in one place.
//! - [`store`]: the system of record and every SQL statement: its operations as traits
//!   reached through one handle ([`store::Store`]), the SQLite backend (schema, group-commit
//!   writer, queries), and the conformance suite every backend passes.
//! - [`intake`]: raw items → stored complaints or dead letters.
//! - [`replay`]: replaying dead letters after a fix.
//! - [`pipeline`]: derived data and `reprocess`.
//! - [`index`]: Chinese full-text search (bigrams + jieba, folding), the indexer, queries.
//! - [`webhook`]: signed webhook intake (HMAC, replay protection, rate limits).
//! - [`sources`]: the intake loop that polls the pull connectors, with per-source status.
//! - [`api`]: the HTTP API and its OpenAPI document.
//! - [`console`]: the staff's pages in the browser under `/console` (Chinese, server-rendered).
//! - [`app`]: running the server and shutting it down.
//! - [`http`]: the HTTP edge: connection and request timeouts, the connection cap.
//! - [`background`]: low-priority threads for indexing and derived stages.
//! - [`cli`]: the command line.
//! - [`classify`]: the trainable complaint classifier (features, training, calibrated
//!   prediction, evaluation, versioned model files).
//! - [`routing`]: categories, tags and the route of each case to an investigation queue;
//!   corrections.
//! - [`cases`]: the rules of cases: members and why, staff merges, splits and status, hot
//!   issues (the store keeps them).
//! - [`grouping`]: the engine that assigns complaints to cases (duplicates, same issue), heat
//!   scores and grouping evaluation.
//! - [`people`]: accounts, roles and permissions, secrets, personal-data detection and who
//!   sees a complainant's identity.
//! - [`workflow`]: the case workflow's states and transitions (交办, 签收, 办结, 退单, 重办) and
//!   who may take each.
//! - [`accountability`]: 责任追究 records of substantiated cases (recorded by the
//!   supervision queue, audited) and their counts.
//! - [`reports`]: the monthly report to the city government (HTML and CSV), from the
//!   statistics' own figures.
//! - [`calendar`]: the working-day calendar (holidays, 调休) from yearly files.
//! - [`notify`]: case deadlines, the reminder/overdue scheduler, the email outbox and its
//!   SMTP delivery worker.
//! - [`bench`]: benchmarks run as subcommands, and their generated corpora.
//! - [`progress`]: the progress bars of long commands and benchmarks.
//! - [`telemetry`]: logs and Prometheus metrics as named events.

pub mod accountability;
pub mod answers;
pub mod api;
pub mod app;
pub mod background;
pub mod bench;
pub mod calendar;
pub mod cases;
pub mod classify;
pub mod cli;
pub mod config;
pub mod console;
pub mod dictionary;
pub mod grouping;
pub mod http;
pub mod index;
pub mod intake;
pub mod memory;
pub mod notify;
pub mod open311;
pub mod people;
pub mod pipeline;
pub mod progress;
pub mod replay;
pub mod reports;
pub mod routing;
pub mod sources;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod webhook;
pub mod workflow;
