//! Chinese email templates: 交办/待分拣/移送通知 (assignment), 知会 (units informed), 催办通知
//! (reminder), 催签收 (not accepted in time), 逾期通知 (overdue, to the supervisor), 逾期升级
//! (escalation), 退单 (returned), 重新办理 (reopened) and the daily digest of a queue. Every
//! case email links to the case in the console.
//!
//! The texts are files an admin can edit ([`files`]: `config/templates/mail/`, embedded, each
//! replaced by a file of the same name in `notify.templates_dir`), rendered by minijinja with
//! the context this module computes.
//!
//! Contract: a template never reads the complainant directly; it receives the section and the
//! scrubbed title and text from [`super::pii`] and `people::pii`, chosen for the recipient
//! unit, and nothing else of the case.

mod files;
mod sample;

use chrono::{DateTime, FixedOffset};
use minijinja::Value;
use serde::Serialize;

pub use files::{Checked, MailTemplates, Notice, Origin, TemplateError};

use super::pii::{complainant_section, scrub};
use super::{Assignment, NotifyError};

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Which case email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseMail<'a> {
    /// To the members of the responsible queue.
    Assignment,
    /// To a unit informed of the case (e.g. the press office for media-exposed problems).
    Informed,
    /// Before the deadline, to the queue members.
    Reminder,
    /// After the deadline, to the queue supervisor; `notice` counts from 1.
    Overdue { notice: u32 },
    /// After repeated overdue notices.
    Escalation { notices: u32 },
    /// Past the accept-by time without the unit's 签收, to its members and supervisor (the
    /// date given is the accept-by time).
    AcceptOverdue,
    /// 退单: the unit handed the case back, to the triage queue, with the unit's reason.
    Returned { reason: &'a str },
    /// 重新办理: the centre reopened the case, to its unit, with the reopen's note and the new
    /// deadline.
    Reopened { reason: &'a str },
}

/// Formats a deadline for people: `2026年02月28日 17:30`.
pub fn human_time(time: &DateTime<FixedOffset>) -> String {
    time.format("%Y年%m月%d日 %H:%M").to_string()
}

/// [`human_time`] with the zone written out: `2026年02月28日 17:30（北京时间，UTC+08:00）`.
pub fn human_time_zoned(time: &DateTime<FixedOffset>) -> String {
    let offset = time.format("%:z").to_string();
    if offset == "+08:00" {
        format!("{}（北京时间，UTC+08:00）", human_time(time))
    } else {
        format!("{}（UTC{offset}）", human_time(time))
    }
}

/// A channel's name as staff know it.
pub fn channel_label(channel: &str) -> &str {
    match channel {
        "petition" => "信访举报",
        "hotline" => "12345热线",
        "online" => "网上政府在线",
        "media" => "新闻媒体",
        "economic" => "经济发展投诉中心",
        "transfer" => "移送",
        "email" => "电子邮件",
        "other" => "其他",
        other => other,
    }
}

/// Characters of the complaint's text an email quotes.
const TEXT_CHARS: usize = 600;

/// The console link of a case.
pub fn case_link(console_url: &str, case_id: &str) -> String {
    format!("{}/cases/{case_id}", console_url.trim_end_matches('/'))
}

fn priority_label(priority: &str) -> &str {
    match priority {
        "urgent" => "特急",
        "high" => "紧急",
        "normal" => "一般",
        "low" => "较低",
        other => other,
    }
}

impl MailTemplates {
    /// Renders a case email for `unit` (whose disclosure decides what is said of the
    /// complainant).
    pub fn case_mail(
        &self,
        mail: CaseMail<'_>,
        a: &Assignment,
        unit: &str,
        due: &DateTime<FixedOffset>,
        console_url: &str,
    ) -> Result<Rendered, NotifyError> {
        let context = case_context(mail, a, unit, due, console_url);
        self.render(mail.notice(a), &Value::from_serialize(&context))
    }

    /// The daily digest of a queue. Titles are scrubbed by the caller; no complainant data.
    pub fn digest(
        &self,
        queue_name: &str,
        day: &str,
        lines: &[DigestLine],
        console_url: &str,
    ) -> Result<Rendered, NotifyError> {
        let context = digest_context(queue_name, day, lines, console_url);
        self.render(Notice::Digest, &Value::from_serialize(&context))
    }
}

impl CaseMail<'_> {
    /// The template of this email about `a`.
    pub fn notice(self, a: &Assignment) -> Notice {
        match self {
            CaseMail::Assignment if a.channel == "transfer" => Notice::Transfer,
            CaseMail::Assignment if a.triage => Notice::Triage,
            CaseMail::Assignment => Notice::Assignment,
            CaseMail::Informed => Notice::Informed,
            CaseMail::Reminder => Notice::Reminder,
            CaseMail::Overdue { .. } => Notice::Overdue,
            CaseMail::Escalation { .. } => Notice::Escalation,
            CaseMail::AcceptOverdue => Notice::AcceptOverdue,
            CaseMail::Returned { .. } => Notice::Returned,
            CaseMail::Reopened { .. } => Notice::Reopened,
        }
    }
}

/// What a case email's template receives: every value already as this recipient may read it
/// (title and text scrubbed and masked, the complainant section masked or withheld).
#[derive(Debug, Serialize)]
struct CaseContext<'a> {
    unit: &'a str,
    case_id: &'a str,
    title: String,
    short_title: String,
    /// Empty when the complaint has no text.
    text: String,
    channel: &'a str,
    queue: &'a str,
    /// Empty when there is no reason to give.
    why: &'a str,
    priority: &'a str,
    assigned_at: String,
    due: String,
    complainant: String,
    link: String,
    /// 逾期通知: which notice this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<u32>,
    /// 逾期升级: how many overdue notices were sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    notices: Option<u32>,
    /// 退单: the unit's reason; 重新办理: the reopen's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

fn case_context<'a>(
    mail: CaseMail<'a>,
    a: &'a Assignment,
    unit: &'a str,
    due: &DateTime<FixedOffset>,
    console_url: &str,
) -> CaseContext<'a> {
    let disclosure = super::pii::disclosure_for(unit, a);
    let title = a
        .title
        .as_deref()
        .map(|t| scrub(t, a.complainant.as_ref(), disclosure))
        .unwrap_or_else(|| "（无标题）".to_string());
    let short_title: String = title.chars().take(40).collect();
    // The text as this recipient may read it: the complainant's known values scrubbed by
    // the rule, then any phone, ID number or e-mail address the text holds masked.
    let text = {
        let shown =
            crate::people::pii::mask_text(&scrub(&a.text, a.complainant.as_ref(), disclosure));
        let mut cut: String = shown.chars().take(TEXT_CHARS).collect();
        if shown.chars().nth(TEXT_CHARS).is_some() {
            cut.push('…');
        }
        cut
    };
    let (notice, notices, reason) = match mail {
        CaseMail::Overdue { notice } => (Some(notice), None, None),
        CaseMail::Escalation { notices } => (None, Some(notices), None),
        CaseMail::Returned { reason } | CaseMail::Reopened { reason } => (None, None, Some(reason)),
        _ => (None, None, None),
    };
    CaseContext {
        unit,
        case_id: &a.case_id,
        title,
        short_title,
        text: if text.trim().is_empty() {
            String::new()
        } else {
            text
        },
        channel: channel_label(&a.channel),
        queue: &a.queue_name,
        why: if a.why.trim().is_empty() { "" } else { &a.why },
        priority: priority_label(&a.priority),
        assigned_at: human_time_zoned(&a.assigned_at),
        due: human_time_zoned(due),
        complainant: complainant_section(a.complainant.as_ref(), disclosure),
        link: case_link(console_url, &a.case_id),
        notice,
        notices,
        reason,
    }
}

/// One case line of a digest.
#[derive(Debug, Clone)]
pub struct DigestLine {
    pub case_id: String,
    pub title: String,
    pub due: DateTime<FixedOffset>,
    pub overdue: bool,
}

/// What the digest's template receives (no complainant data).
#[derive(Debug, Serialize)]
struct DigestContext<'a> {
    queue: &'a str,
    day: &'a str,
    count: usize,
    overdue_count: usize,
    cases: Vec<DigestCase<'a>>,
}

#[derive(Debug, Serialize)]
struct DigestCase<'a> {
    case_id: &'a str,
    title: &'a str,
    due: String,
    overdue: bool,
    link: String,
}

fn digest_context<'a>(
    queue_name: &'a str,
    day: &'a str,
    lines: &'a [DigestLine],
    console_url: &str,
) -> DigestContext<'a> {
    DigestContext {
        queue: queue_name,
        day,
        count: lines.len(),
        overdue_count: lines.iter().filter(|l| l.overdue).count(),
        cases: lines
            .iter()
            .map(|line| DigestCase {
                case_id: &line.case_id,
                title: &line.title,
                due: human_time(&line.due),
                overdue: line.overdue,
                link: case_link(console_url, &line.case_id),
            })
            .collect(),
    }
}

/// The digest title of a case: scrubbed for its own queue's unit.
pub fn digest_title(a: &Assignment) -> String {
    let disclosure = super::pii::disclosure_for(&a.queue_name, a);
    a.title
        .as_deref()
        .map(|t| scrub(t, a.complainant.as_ref(), disclosure))
        .unwrap_or_else(|| "（无标题）".to_string())
}

#[cfg(test)]
mod tests;
