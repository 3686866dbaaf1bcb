//! `complaint-gateway deadline show|extend|answer|tick` and `outbox list|deliver`.

use chrono::Utc;
use clap::Subcommand;

use crate::config::Config;
use crate::notify::deadline::{self, ExtendRequest};
use crate::notify::delivery::{Mailer, deliver_due};
use crate::notify::outbox::OutboxFilter;
use crate::notify::templates::MailTemplates;
use crate::store::Store;
use crate::store::audit::NewAuditEvent;

use super::people::{AsUser, actor};

/// The audit entry of a deadline decision taken at the command line.
fn decision(who: &str, action: &str, case_id: &str, detail: serde_json::Value) -> NewAuditEvent {
    NewAuditEvent {
        at: crate::store::format_utc(Utc::now()),
        actor: who.into(),
        action: action.into(),
        case_id: Some(case_id.into()),
        complaint_ids: Vec::new(),
        detail: detail.to_string(),
    }
}

#[derive(Debug, Subcommand)]
pub enum DeadlineCommand {
    /// Show a case's deadline, its extensions and its audit trail.
    Show { case_id: String },
    /// Extend a case's deadline (recorded with who and why).
    Extend {
        case_id: String,
        #[command(flatten)]
        actor: AsUser,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Working days to add.
        #[arg(long, conflicts_with = "hours")]
        working_days: Option<u32>,
        /// Clock hours to add.
        #[arg(long)]
        hours: Option<u32>,
    },
    /// Record the unit's answer (status `answered`, reminders stop).
    Answer {
        case_id: String,
        #[command(flatten)]
        actor: AsUser,
        #[arg(long, default_value = "")]
        summary: String,
    },
    /// Run the scheduler once now (reminders, overdue notices, digests) and print what it did.
    Tick,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List notifications with per-recipient delivery status, newest first.
    List {
        /// `pending`, `sent` or `failed`.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Deliver every due notification once now (uses `[email]`, even when disabled for serve).
    Deliver,
}

pub async fn run_deadline(config: &Config, command: DeadlineCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let (calendar, _) =
        crate::notify::calendar_years::load(&store, &config.deadlines.calendar_dir).await?;
    let result = async {
        match command {
            DeadlineCommand::Show { case_id } => {
                let Some(d) = store.case_deadline(&case_id).await? else {
                    anyhow::bail!("case `{case_id}` has no deadline");
                };
                println!("{}", serde_json::to_string_pretty(&d)?);
                for e in store.deadline_extensions(&case_id).await? {
                    println!(
                        "extended {} → {} by {}: {}",
                        e.old_due_at, e.new_due_at, e.requested_by, e.reason
                    );
                }
                for a in store.deadline_audit(&case_id).await? {
                    println!("{}  {}  {}  {}", a.at, a.actor, a.action, a.detail);
                }
            }
            DeadlineCommand::Extend {
                case_id,
                actor: as_user,
                reason,
                working_days,
                hours,
            } => {
                let by = actor(&store, &as_user).await?.to_string();
                let request = ExtendRequest {
                    requested_by: by.clone(),
                    reason,
                    working_days,
                    hours,
                    until: None,
                };
                let mut tx = store.begin_decision().await?;
                let d =
                    deadline::extend(&mut *tx, config, &calendar, &case_id, &request, Utc::now())
                        .await?;
                let detail = serde_json::json!({"reason": request.reason,
                    "working_days": working_days, "hours": hours});
                tx.append_audit(&[decision(&by, "deadline.extend", &case_id, detail)])
                    .await?;
                tx.commit().await?;
                println!("case {case_id}: new deadline {}", d.due_at);
            }
            DeadlineCommand::Answer {
                case_id,
                actor: as_user,
                summary,
            } => {
                let who = actor(&store, &as_user).await?;
                let by = who.to_string();
                let routing = config.routing.load()?;
                let mut tx = store.begin_decision().await?;
                deadline::answer(&mut *tx, &case_id, &by, &summary, Utc::now()).await?;
                crate::workflow::transition::answered_on_behalf(
                    &mut *tx,
                    &routing,
                    &case_id,
                    &summary,
                    &who,
                    Utc::now(),
                )
                .await?;
                let entry = decision(
                    &by,
                    "case.answer",
                    &case_id,
                    serde_json::json!({"summary": summary}),
                );
                tx.append_audit(&[entry]).await?;
                tx.commit().await?;
                println!("case {case_id}: answered");
            }
            DeadlineCommand::Tick => {
                let templates = MailTemplates::load(&config.notify.templates_dir)?;
                let r = crate::notify::scheduler::tick(
                    &store,
                    config,
                    &calendar,
                    &templates,
                    Utc::now(),
                )
                .await?;
                println!(
                    "reminders {}, not accepted in time {}, overdue notices {}, escalations {}, \
                     digests {}",
                    r.reminders, r.accept_overdue, r.overdue_notices, r.escalations, r.digests
                );
            }
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}

pub async fn run_outbox(config: &Config, command: OutboxCommand) -> anyhow::Result<()> {
    let store = Store::open(&config.data_dir, crate::app::commit_settings(config)).await?;
    let result = async {
        match command {
            OutboxCommand::List { state, limit } => {
                for (state, n) in store.notification_counts().await? {
                    println!("{state}: {n}");
                }
                let filter = OutboxFilter {
                    state,
                    case_id: None,
                    limit,
                    queues: None,
                };
                for entry in store.notifications(&filter).await? {
                    println!(
                        "{}  {}  {:<10} {:<8} attempts {}  {}",
                        entry.id,
                        entry.created_at,
                        entry.kind,
                        entry.state,
                        entry.attempts,
                        entry.subject
                    );
                    for r in entry.recipients {
                        println!(
                            "    {:<8} {}  (attempts {})",
                            r.state, r.address, r.attempts
                        );
                    }
                }
            }
            OutboxCommand::Deliver => {
                let mailer = Mailer::from_config(&config.email)?;
                let owner = format!("cli-{}", uuid::Uuid::now_v7());
                let r = deliver_due(&store, &config.email, &mailer, &owner, Utc::now()).await?;
                println!(
                    "messages {}, sent {}, retried later {}, failed {}",
                    r.messages, r.sent, r.retried, r.failed
                );
            }
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
