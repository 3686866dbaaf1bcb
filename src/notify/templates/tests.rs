use chrono::DateTime;
use connectors::item::Complainant;

use super::*;

fn at(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(text).unwrap()
}

/// A case about the personnel bureau, assigned to the supervision bureau.
fn case() -> Assignment {
    Assignment {
        case_id: "case-1".into(),
        complaint_id: "c-1".into(),
        queue_key: "supervision".into(),
        queue_name: "市监察局".into(),
        members: vec!["a@example.gov.cn".into()],
        supervisor: "s@example.gov.cn".into(),
        informed: Vec::new(),
        priority: "normal".into(),
        channel: "online".into(),
        title: Some("刘敏（13800001111）反映市人事局职称审批拖延".into()),
        assigned_at: at("2026-02-12T10:00:00+08:00"),
        target_unit: Some("市人事局".into()),
        subject_units: Vec::new(),
        subject_queues: Vec::new(),
        complainant: Some(Complainant {
            name: Some("刘敏".into()),
            phone: Some("13800001111".into()),
            ..Default::default()
        }),
        text: "刘敏反映：职称审批拖延三个月，电话13800001111。".into(),
        why: "分类「人事管理」".into(),
        triage: false,
    }
}

const CONSOLE: &str = "https://console.example.gov.cn/";

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn every_shipped_template_renders_both_samples() {
    let missing = std::path::Path::new("no/such/templates/dir");
    let (checked, problems) = MailTemplates::check(missing);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(checked.len(), Notice::ALL.len());
    for c in checked {
        assert_eq!(c.origin, Origin::BuiltIn);
        let sample = c
            .result
            .unwrap_or_else(|e| panic!("{}: {e}", c.notice.file_name()));
        assert!(!sample.subject.trim().is_empty(), "{:?}", c.notice);
        assert!(sample.body.ends_with("请勿直接回复。\n"), "{}", sample.body);
        assert!(!sample.body.contains("{{"), "{}", sample.body);
    }
}

#[test]
fn each_shipped_file_documents_the_placeholders_of_its_notice() {
    for notice in Notice::ALL {
        let header = notice.shipped().split("#}").next().unwrap();
        for name in notice.placeholders() {
            assert!(
                header.contains(&name),
                "{} does not document `{name}`",
                notice.file_name()
            );
        }
    }
}

#[test]
fn the_shipped_assignment_keeps_the_wording_of_the_emails() {
    let templates = MailTemplates::built_in();
    let due = at("2026-02-28T17:30:00+08:00");
    let a = case();
    let mail = templates
        .case_mail(CaseMail::Assignment, &a, "市监察局", &due, CONSOLE)
        .unwrap();
    assert_eq!(
        mail.subject,
        "【交办通知】刘*（138****1111）反映市人事局职称审批拖延"
    );
    assert_eq!(
        mail.body,
        "市监察局：\n\n现将以下投诉案件交由你单位调查处理，请在办理期限前办结并反馈结果。\n\n\
         案件编号：case-1\n\
         案件标题：刘*（138****1111）反映市人事局职称审批拖延\n\
         投诉内容：刘*反映：职称审批拖延三个月，电话138****1111。\n\
         来源渠道：网上政府在线\n\
         承办单位：市监察局\n\
         交办依据：分类「人事管理」\n\
         优先级：一般\n\
         交办时间：2026年02月12日 10:00（北京时间，UTC+08:00）\n\
         办理期限：2026年02月28日 17:30（北京时间，UTC+08:00）\n\
         投诉人（已脱敏）：\n  姓名：刘*\n  电话：138****1111\n\n\
         查看案件：https://console.example.gov.cn/cases/case-1\n\n\
         本邮件由效能投诉中心投诉受理系统自动发送，请勿直接回复。\n"
    );
    // Without text or reason the lines are left out, not left empty.
    let mut bare = case();
    bare.text = " ".into();
    bare.why.clear();
    bare.title = None;
    let mail = templates
        .case_mail(CaseMail::Reminder, &bare, "市监察局", &due, CONSOLE)
        .unwrap();
    assert_eq!(mail.subject, "【催办通知】（无标题）");
    assert!(
        mail.body.contains(
            "案件标题：（无标题）\n来源渠道：网上政府在线\n承办单位：市监察局\n优先级：一般\n"
        ),
        "{}",
        mail.body
    );
}

#[test]
fn the_shipped_digest_numbers_and_flags_the_cases() {
    let templates = MailTemplates::built_in();
    let due = at("2026-02-28T17:30:00+08:00");
    let lines =
        [("c1", "标题一", false), ("c2", "标题二", true)].map(|(id, title, overdue)| DigestLine {
            case_id: id.into(),
            title: title.into(),
            due,
            overdue,
        });
    let mail = templates
        .digest("市监察局", "2026-02-13", &lines, CONSOLE)
        .unwrap();
    assert_eq!(mail.subject, "【每日汇总】市监察局 2026-02-13 在办案件2件");
    assert_eq!(
        mail.body,
        "市监察局：\n\n截至2026-02-13，你单位共有在办案件2件，其中逾期1件。明细如下：\n\n\
         1. 标题一\n   办理期限：2026年02月28日 17:30\n   查看案件：https://console.example.gov.cn/cases/c1\n\
         2. 【已逾期】标题二\n   办理期限：2026年02月28日 17:30\n   查看案件：https://console.example.gov.cn/cases/c2\n\
         \n本邮件由效能投诉中心投诉受理系统自动发送，请勿直接回复。\n"
    );
}

#[test]
fn a_reopened_case_has_its_own_notice_with_the_reason_and_the_new_deadline() {
    let templates = MailTemplates::built_in();
    let due = at("2026-03-10T17:30:00+08:00");
    let reason = "回访不满意";
    let mail = templates
        .case_mail(
            CaseMail::Reopened { reason },
            &case(),
            "市监察局",
            &due,
            CONSOLE,
        )
        .unwrap();
    assert!(mail.subject.starts_with("【重新办理】"), "{}", mail.subject);
    assert!(
        mail.body.contains("重新办理原因：回访不满意"),
        "{}",
        mail.body
    );
    assert!(
        mail.body
            .contains("办理期限：2026年03月10日 17:30（北京时间，UTC+08:00）"),
        "{}",
        mail.body
    );
    // The subject unit's reopen notice withholds the complainant like every other.
    let withheld = templates
        .case_mail(
            CaseMail::Reopened { reason },
            &case(),
            "市人事局",
            &due,
            CONSOLE,
        )
        .unwrap();
    assert!(withheld.body.contains("依规不向被投诉单位提供投诉人信息"));
    assert!(!withheld.body.contains("刘*") && !withheld.body.contains("138****"));
}

#[test]
fn an_edited_file_replaces_its_notice_only() {
    let dir = dir_with(&[(
        "reminder.txt",
        "{# edited #}\r\nsubject: 催办 {{ case_id }}\r\n\r\n{{ unit }}，期限 {{ due }}\r\n",
    )]);
    let templates = MailTemplates::load(dir.path()).unwrap();
    let path = dir.path().join("reminder.txt");
    assert_eq!(templates.origin(Notice::Reminder), &Origin::File(path));
    assert_eq!(templates.origin(Notice::Overdue), &Origin::BuiltIn);
    let due = at("2026-02-28T17:30:00+08:00");
    let mail = templates
        .case_mail(CaseMail::Reminder, &case(), "市监察局", &due, CONSOLE)
        .unwrap();
    assert_eq!(mail.subject, "催办 case-1");
    assert_eq!(
        mail.body,
        "市监察局，期限 2026年02月28日 17:30（北京时间，UTC+08:00）\n"
    );
    let overdue = templates
        .case_mail(
            CaseMail::Overdue { notice: 1 },
            &case(),
            "市监察局",
            &due,
            CONSOLE,
        )
        .unwrap();
    assert!(overdue.subject.starts_with("【逾期通知】"));
}

fn load_error(files: &[(&str, &str)]) -> String {
    let dir = dir_with(files);
    MailTemplates::load(dir.path()).unwrap_err().to_string()
}

#[test]
fn a_broken_template_is_refused_naming_the_file_and_the_line() {
    // A placeholder the notice does not have, even in a branch the samples skip.
    let err = load_error(&[(
        "overdue.txt",
        "subject: x\n\n第一行\n{% if text and notice > 100 %}{{ reason }}{% endif %}\n",
    )]);
    assert!(
        err.contains("overdue.txt") && err.contains("line 4"),
        "{err}"
    );
    assert!(err.contains("`reason`"), "{err}");
    // A syntax error.
    let err = load_error(&[("triage.txt", "subject: x\n{{ unit }\n")]);
    assert!(
        err.contains("triage.txt") && err.contains("line 2"),
        "{err}"
    );
    assert!(err.contains("syntax error"), "{err}");
    // No subject line.
    let err = load_error(&[("informed.txt", "{{ unit }}：\n")]);
    assert!(
        err.contains("informed.txt") && err.contains("line 1"),
        "{err}"
    );
    assert!(err.contains("subject:"), "{err}");
    // A file no notice has: the admin misspelt one.
    let err = load_error(&[("asignment.txt", "subject: x\n")]);
    assert!(err.contains("asignment.txt"), "{err}");
    assert!(err.contains("assignment.txt"), "{err}");
}

#[test]
fn an_edited_template_that_fails_on_real_values_falls_back_to_the_shipped_one() {
    // Renders with the samples (notice 2), fails on the third notice (division by zero).
    let dir = dir_with(&[(
        "overdue.txt",
        "subject: 逾期 {{ 6 // (3 - notice) }}\n{{ unit }}\n",
    )]);
    let templates = MailTemplates::load(dir.path()).unwrap();
    let due = at("2026-02-28T17:30:00+08:00");
    let second = templates
        .case_mail(
            CaseMail::Overdue { notice: 2 },
            &case(),
            "市监察局",
            &due,
            CONSOLE,
        )
        .unwrap();
    assert_eq!(second.subject, "逾期 6");
    let third = templates
        .case_mail(
            CaseMail::Overdue { notice: 3 },
            &case(),
            "市监察局",
            &due,
            CONSOLE,
        )
        .unwrap();
    assert!(
        third.subject.starts_with("【逾期通知】"),
        "{}",
        third.subject
    );
    assert!(third.body.contains("第3次逾期提醒"), "{}", third.body);
}

#[test]
fn a_file_is_comments_then_the_subject_line_then_the_body() {
    let text = "{# one\ntwo #}\n\nsubject: 【交办】{{ a }}\n\n{{ unit }}：\nbody\n";
    let parts = files::split(text).unwrap();
    assert_eq!(parts.subject, "【交办】{{ a }}");
    assert_eq!(parts.subject_line, 4);
    assert_eq!(parts.body, "{{ unit }}：\nbody\n");
    assert_eq!(parts.body_line, 6);
    let (line, message) = files::split("{# note #}\n标题\n").unwrap_err();
    assert_eq!(line, 2);
    assert!(message.contains("subject:"), "{message}");
    assert_eq!(files::split("{# open\n\nsubject: x").unwrap_err().0, 1);
}

#[test]
fn a_placeholder_is_found_on_its_line_and_not_inside_another_name() {
    let source = "{{ unit }}\n{{ case.title }}\n{{ title }}\n";
    assert_eq!(files::line_of(source, "title"), Some(2));
    assert_eq!(files::line_of(source, "unit"), Some(0));
    assert_eq!(files::line_of(source, "case_id"), None);
}
