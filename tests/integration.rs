//! The gateway's integration tests: one binary, a module per area (faster linking, shared
//! setup). `common` starts the app in a temporary directory on a free loopback port.

mod common;

mod integration {
    mod access;
    mod accountability;
    mod answers;
    mod assignment;
    mod calendar;
    mod cases;
    mod cases_api;
    mod console_case;
    mod console_replies;
    mod crash;
    mod dead_letters;
    mod deadlines;
    mod edge;
    mod follow_ups;
    mod full_store;
    mod full_store_pull;
    mod future_dates;
    mod historical;
    mod holder_reach;
    mod import_export;
    mod input_honesty;
    mod logs;
    mod mail;
    mod mail_server;
    mod mail_tls;
    mod monthly_report;
    mod notify_api;
    mod notify_support;
    mod open311;
    mod open311_flow;
    mod operations;
    mod people_cli;
    mod privacy;
    mod received;
    mod routing;
    mod scope;
    mod search;
    mod sessions;
    mod sources;
    mod sources_crash;
    mod sources_demo;
    mod sources_protocols;
    mod subjects;
    mod templates;
    mod upstream;
    mod webhook;
    mod workflow;
}
