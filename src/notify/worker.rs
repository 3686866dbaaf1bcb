//! The background tasks `serve` runs: the scheduler ticks every `tick_interval_secs` at the
//! real time, and — when `[email] enabled` — the delivery worker drains the outbox every
//! `poll_interval_secs`. Failures are logged and retried on the next round; nothing is skipped
//! because the state lives in the store.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::NotifyError;
use super::delivery::{Mailer, deliver_due};
use super::scheduler::tick;
use super::templates::MailTemplates;
use crate::calendar::SharedCalendar;
use crate::config::Config;
use crate::store::Store;

/// Starts the scheduler and (when enabled) the delivery worker; they stop when `shutdown` is
/// cancelled.
pub fn start(
    config: &Arc<Config>,
    store: &Store,
    calendar: &Arc<SharedCalendar>,
    templates: &Arc<MailTemplates>,
    shutdown: &CancellationToken,
) -> Result<Vec<JoinHandle<()>>, NotifyError> {
    let mut tasks = Vec::new();
    {
        let (config, store, calendar, templates, shutdown) = (
            config.clone(),
            store.clone(),
            calendar.clone(),
            templates.clone(),
            shutdown.clone(),
        );
        let interval = Duration::from_secs(config.deadlines.tick_interval_secs.max(1));
        tasks.push(tokio::spawn(async move {
            loop {
                // A year stored by another process (`calendar import` beside the gateway).
                if let Err(error) = super::calendar_years::refresh(
                    &store,
                    &calendar,
                    &config.deadlines.calendar_dir,
                )
                .await
                {
                    tracing::error!(%error, "reading the stored calendar years failed");
                }
                match tick(&store, &config, &calendar.current(), &templates, Utc::now()).await {
                    Ok(report) if report != Default::default() => tracing::info!(
                        reminders = report.reminders,
                        accept_overdue = report.accept_overdue,
                        overdue = report.overdue_notices,
                        escalations = report.escalations,
                        digests = report.digests,
                        "deadline scheduler queued notifications"
                    ),
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "deadline scheduler failed; retrying"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }));
    }
    if !config.email.enabled {
        tracing::info!("email delivery disabled; notifications accumulate in the outbox");
        return Ok(tasks);
    }
    let mailer = Mailer::from_config(&config.email)?;
    let (config, store, shutdown) = (config.clone(), store.clone(), shutdown.clone());
    let owner = format!("worker-{}", uuid::Uuid::now_v7());
    let interval = Duration::from_secs(config.email.poll_interval_secs.max(1));
    tasks.push(tokio::spawn(async move {
        loop {
            let pass = deliver_due(&store, &config.email, &mailer, &owner, Utc::now());
            // A pass in flight finishes its current recipient before shutdown.
            match pass.await {
                Ok(report) if report.messages > 0 => tracing::info!(
                    sent = report.sent,
                    retried = report.retried,
                    failed = report.failed,
                    "outbox delivered"
                ),
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "outbox delivery failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }));
    Ok(tasks)
}
