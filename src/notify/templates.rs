//! Chinese email templates: 交办/移送通知 (assignment), 知会 (units informed), 催办通知
//! (reminder), 催签收 (not accepted in time), 逾期通知 (overdue, to the supervisor), 逾期升级
//! (escalation) and the daily digest
//! of a queue. Every case email links to the case in the console.
//!
//! Contract: a template never reads the complainant directly; it receives the section and the
//! scrubbed title from [`super::pii`], chosen for the recipient unit.

use chrono::{DateTime, FixedOffset};

use super::Assignment;
use super::pii::{complainant_section, scrub};

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

/// Renders a case email for `unit` (whose disclosure decides what is said of the complainant).
pub fn case_mail(
    mail: CaseMail<'_>,
    a: &Assignment,
    unit: &str,
    due: &DateTime<FixedOffset>,
    console_url: &str,
) -> Rendered {
    let disclosure = super::pii::disclosure_for(unit, a);
    let title = a
        .title
        .as_deref()
        .map(|t| scrub(t, a.complainant.as_ref(), disclosure))
        .unwrap_or_else(|| "（无标题）".to_string());
    let short_title: String = title.chars().take(40).collect();
    let transfer = a.channel == "transfer";
    let (subject, opening) = match mail {
        CaseMail::Assignment if transfer => (
            format!("【移送通知】{short_title}"),
            format!("{unit}：\n\n现将以下案件移送你单位调查处理，请在办理期限前办结并反馈结果。"),
        ),
        CaseMail::Assignment if a.triage => (
            format!("【待分拣】{short_title}"),
            format!("{unit}：\n\n以下投诉待分拣，请核实后交办责任单位或依规处理。"),
        ),
        CaseMail::Assignment => (
            format!("【交办通知】{short_title}"),
            format!(
                "{unit}：\n\n现将以下投诉案件交由你单位调查处理，请在办理期限前办结并反馈结果。"
            ),
        ),
        CaseMail::Informed => (
            format!("【知会】{short_title}"),
            format!(
                "{unit}：\n\n以下案件已交由{}办理，特此知会，请关注办理进展。",
                a.queue_name
            ),
        ),
        CaseMail::Reminder => (
            format!("【催办通知】{short_title}"),
            format!("{unit}：\n\n以下案件即将到期，请抓紧办理，并在办理期限前反馈结果。"),
        ),
        CaseMail::Overdue { notice } => (
            format!("【逾期通知】{short_title}"),
            format!(
                "{unit}负责同志：\n\n以下案件已超过办理期限仍未办结（第{notice}次逾期提醒），请督促{}立即办理并说明逾期原因。",
                a.queue_name
            ),
        ),
        CaseMail::AcceptOverdue => (
            format!("【催签收】{short_title}"),
            format!(
                "{unit}：\n\n以下交办案件已超过签收时限仍未签收，请立即签收并安排办理（签收时限见下）。"
            ),
        ),
        CaseMail::Returned { reason } => (
            format!("【退单】{short_title}"),
            format!(
                "{unit}：\n\n{}已将以下案件退回，理由：{reason}。请重新分拣交办。",
                a.queue_name
            ),
        ),
        CaseMail::Escalation { notices } => (
            format!("【逾期升级】{short_title}"),
            format!(
                "{unit}：\n\n以下案件已逾期并经{notices}次提醒仍未办结，现升级督办，请责成{}限期办结。",
                a.queue_name
            ),
        ),
    };
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
    let text_line = if text.trim().is_empty() {
        String::new()
    } else {
        format!("投诉内容：{text}\n")
    };
    let why_line = if a.why.trim().is_empty() {
        String::new()
    } else {
        format!("交办依据：{}\n", a.why)
    };
    let body = format!(
        "{opening}\n\n\
         案件编号：{case}\n\
         案件标题：{title}\n\
         {text_line}\
         来源渠道：{channel}\n\
         承办单位：{queue}\n\
         {why_line}\
         优先级：{priority}\n\
         交办时间：{assigned}\n\
         办理期限：{due}\n\
         {complainant}\n\n\
         查看案件：{link}\n\n\
         本邮件由效能投诉中心投诉受理系统自动发送，请勿直接回复。\n",
        case = a.case_id,
        channel = channel_label(&a.channel),
        queue = a.queue_name,
        priority = priority_label(&a.priority),
        assigned = human_time_zoned(&a.assigned_at),
        due = human_time_zoned(due),
        complainant = complainant_section(a.complainant.as_ref(), disclosure),
        link = case_link(console_url, &a.case_id),
    );
    Rendered { subject, body }
}

/// One case line of a digest.
#[derive(Debug, Clone)]
pub struct DigestLine {
    pub case_id: String,
    pub title: String,
    pub due: DateTime<FixedOffset>,
    pub overdue: bool,
}

/// The daily digest of a queue. Titles are scrubbed by the caller; no complainant data.
pub fn digest(queue_name: &str, day: &str, lines: &[DigestLine], console_url: &str) -> Rendered {
    let overdue = lines.iter().filter(|l| l.overdue).count();
    let mut body = format!(
        "{queue_name}：\n\n截至{day}，你单位共有在办案件{}件，其中逾期{overdue}件。明细如下：\n\n",
        lines.len()
    );
    for (n, line) in lines.iter().enumerate() {
        let flag = if line.overdue { "【已逾期】" } else { "" };
        body.push_str(&format!(
            "{}. {flag}{}\n   办理期限：{}\n   查看案件：{}\n",
            n + 1,
            line.title,
            human_time(&line.due),
            case_link(console_url, &line.case_id)
        ));
    }
    body.push_str("\n本邮件由效能投诉中心投诉受理系统自动发送，请勿直接回复。\n");
    Rendered {
        subject: format!("【每日汇总】{queue_name} {day} 在办案件{}件", lines.len()),
        body,
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
