//! The sample contexts every template is checked with (and `notify templates check` shows): a
//! made-up case, built by the same code as a real notice's context, so a template that
//! renders both samples uses no placeholder its notice lacks. The first sample has every
//! optional value (title, text, reason for the assignment, a masked complainant; a digest with
//! an overdue case), the second none (no title, no text, no complainant; an empty digest).

use chrono::DateTime;
use connectors::item::Complainant;
use minijinja::Value;

use super::{CaseMail, DigestLine, Notice, case_context, digest_context};
use crate::notify::Assignment;

const CONSOLE: &str = "https://console.example.gov.cn/console";

/// The sample's complainant: made up; every value reaches the template masked.
fn complainant() -> Complainant {
    Complainant {
        name: Some("张某某".into()),
        phone: Some("13800000000".into()),
        email: Some("zhang@example.com".into()),
        id: Some("110101199001011234".into()),
        address: Some("示例区示例路1号".into()),
        ..Default::default()
    }
}

fn assignment(full: bool) -> Assignment {
    Assignment {
        case_id: "sample-case".into(),
        complaint_id: "sample-complaint".into(),
        queue_key: "sample".into(),
        queue_name: "示例局".into(),
        members: Vec::new(),
        supervisor: String::new(),
        informed: Vec::new(),
        priority: "normal".into(),
        channel: "online".into(),
        title: full.then(|| "张某某反映示例局办事拖延".into()),
        assigned_at: DateTime::parse_from_rfc3339("2026-02-12T10:00:00+08:00").expect("a time"),
        target_unit: None,
        subject_units: Vec::new(),
        subject_queues: Vec::new(),
        complainant: full.then(complainant),
        text: if full {
            "张某某反映：示例局办事拖延三个月，电话13800000000多次催问无果。".into()
        } else {
            String::new()
        },
        why: if full {
            "分类「示例」，路由规则 sample".into()
        } else {
            String::new()
        },
        triage: false,
    }
}

/// The two sample contexts of `notice`.
pub(super) fn contexts(notice: Notice) -> [Value; 2] {
    [true, false].map(|full| context(notice, full))
}

fn context(notice: Notice, full: bool) -> Value {
    let due = DateTime::parse_from_rfc3339("2026-02-24T17:30:00+08:00").expect("a time");
    let mut a = assignment(full);
    let mail = match notice {
        Notice::Digest => {
            let lines = [
                ("sample-case-1", "示例局办事拖延", false),
                ("sample-case-2", "示例路路灯损坏", true),
            ]
            .map(|(case_id, title, overdue)| DigestLine {
                case_id: case_id.into(),
                title: title.into(),
                due,
                overdue,
            });
            let lines = if full { &lines[..] } else { &lines[..0] };
            let context = digest_context("示例局", "2026-02-13", lines, CONSOLE);
            return Value::from_serialize(&context);
        }
        Notice::Assignment => CaseMail::Assignment,
        Notice::Triage => {
            a.triage = true;
            CaseMail::Assignment
        }
        Notice::Transfer => {
            a.channel = "transfer".into();
            CaseMail::Assignment
        }
        Notice::Informed => CaseMail::Informed,
        Notice::Reminder => CaseMail::Reminder,
        Notice::AcceptOverdue => CaseMail::AcceptOverdue,
        Notice::Overdue => CaseMail::Overdue { notice: 2 },
        Notice::Escalation => CaseMail::Escalation { notices: 2 },
        Notice::Returned => CaseMail::Returned {
            reason: "不属于本单位职责",
        },
        Notice::Reopened => CaseMail::Reopened {
            reason: "回访不满意：问题仍未解决",
        },
    };
    debug_assert_eq!(mail.notice(&a), notice);
    let unit = if notice == Notice::Informed {
        "示例新闻办"
    } else {
        "示例局"
    };
    Value::from_serialize(case_context(mail, &a, unit, &due, CONSOLE))
}
