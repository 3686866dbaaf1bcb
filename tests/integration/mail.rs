//! Email through a real SMTP server (python3-aiosmtpd): headers, the Chinese body, masking of
//! the complainant, a retry after the server refuses once, and a restart that neither loses
//! nor repeats a message.

use complaint_gateway::notify::delivery::{Mailer, claim_only, deliver_due};
use complaint_gateway::notify::outbox::OutboxFilter;

use super::mail_server::{MailServer, Received};
use super::notify_support::*;

fn to(mail: &Received) -> &str {
    mail.envelope_to[0].as_str()
}

#[tokio::test]
async fn assignment_emails_arrive_in_chinese_and_never_identify_the_complainant_to_the_subject_unit()
 {
    let server = MailServer::start(0).await;
    let env = NotifyEnv::new(&server.email_section(true)).await;
    let a = assignment("case-mail-1", "normal", "2026-02-12T10:00:00+08:00");
    assign(&env, &a).await;
    let mailer = Mailer::from_config(&env.cfg.email).unwrap();
    let report = deliver_due(
        &env.store,
        &env.cfg.email,
        &mailer,
        "w1",
        utc("2026-02-12T10:00:01+08:00"),
    )
    .await
    .unwrap();
    assert_eq!((report.sent, report.retried, report.failed), (4, 0, 0));
    let received = server.received();
    assert_eq!(received.len(), 4);
    let outbox = env
        .store
        .notifications(&OutboxFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(outbox.iter().all(|n| n.state == "sent"), "{outbox:?}");

    for mail in &received {
        assert_eq!(
            mail.envelope_to.len(),
            1,
            "one SMTP transaction per recipient"
        );
        assert_eq!(mail.content_type, "text/plain");
        assert_eq!(mail.charset.as_deref(), Some("utf-8"));
        assert!(mail.header("from").contains("noreply@test.example.gov.cn"));
        assert!(
            mail.header("from").contains("效能投诉中心"),
            "{}",
            mail.header("from")
        );
        assert_eq!(mail.header("to"), to(mail));
        assert!(!mail.header("date").is_empty());
        // The Message-ID is the one fixed in the outbox for this recipient.
        let expected = outbox
            .iter()
            .flat_map(|n| n.recipients.iter())
            .find(|r| r.address == to(mail))
            .unwrap();
        assert_eq!(mail.header("message-id"), expected.message_id);
        assert!(mail.body.contains("案件编号：case-mail-1"), "{}", mail.body);
        assert!(
            mail.body.contains("办理期限：2026年02月28日 17:30"),
            "{}",
            mail.body
        );
        assert!(
            mail.body
                .contains("https://console.test.example.gov.cn/cases/case-mail-1"),
            "{}",
            mail.body
        );
        // No raw personal value reaches any unit, in the body or the subject.
        for value in PII_VALUES {
            assert!(
                !mail.body.contains(value),
                "{value} in mail to {}",
                to(mail)
            );
            assert!(
                !mail.header("subject").contains(value),
                "{value} in subject"
            );
        }
    }
    let by = |address: &str| received.iter().find(|m| to(m) == address).unwrap();
    // The investigating unit gets the masked identity.
    let member = by("jiancha.wang@test.example.gov.cn");
    // It can read what it must investigate, why it is theirs, in Beijing time, by channel name.
    for expected in [
        "投诉内容：刘*反映：市人事局职称审批拖延三个月",
        "交办依据：分类「人事管理」",
        "来源渠道：网上政府在线",
        "交办时间：2026年02月12日 10:00（北京时间，UTC+08:00）",
        "办理期限：2026年02月28日 17:30（北京时间，UTC+08:00）",
    ] {
        assert!(
            member.body.contains(expected),
            "{expected}: {}",
            member.body
        );
    }
    for mail in &received {
        assert!(
            !mail.body.contains("13912345678"),
            "a phone number in the text is masked too: {}",
            mail.body
        );
    }
    assert!(member.header("subject").starts_with("【交办通知】"));
    assert!(member.body.starts_with("市监察局："), "{}", member.body);
    assert!(member.body.contains("刘*"), "{}", member.body);
    assert!(member.body.contains("138****1111"), "{}", member.body);
    assert!(member.body.contains("l***@example.com"), "{}", member.body);
    assert!(
        member.body.contains("1101**********1234"),
        "{}",
        member.body
    );
    // The unit complained about learns nothing of the complainant, not even masked.
    let subject_unit = by("renshi@test.example.gov.cn");
    assert!(subject_unit.header("subject").starts_with("【知会】"));
    assert!(
        subject_unit
            .body
            .contains("依规不向被投诉单位提供投诉人信息")
    );
    assert!(
        subject_unit.body.contains("投诉内容：[已隐去]反映"),
        "{}",
        subject_unit.body
    );
    for masked in ["刘*", "138****", "l***@", "1101**", "城南区解放"] {
        assert!(
            !subject_unit.body.contains(masked),
            "{masked}: {}",
            subject_unit.body
        );
        assert!(!subject_unit.header("subject").contains(masked));
    }
    assert!(subject_unit.header("subject").contains("[已隐去]"));
    let press = by("press@test.example.gov.cn");
    assert!(press.body.contains("138****1111"));
}

#[tokio::test]
async fn the_queue_itself_being_complained_about_gets_no_identity() {
    let server = MailServer::start(0).await;
    let env = NotifyEnv::new(&server.email_section(true)).await;
    let mut a = assignment("case-self", "high", "2026-03-02T09:00:00+08:00");
    a.target_unit = None;
    a.subject_units = vec!["监察局".into()];
    a.informed.clear();
    assign(&env, &a).await;
    let mailer = Mailer::from_config(&env.cfg.email).unwrap();
    deliver_due(
        &env.store,
        &env.cfg.email,
        &mailer,
        "w1",
        utc("2026-03-02T09:00:01+08:00"),
    )
    .await
    .unwrap();
    let received = server.received();
    assert_eq!(received.len(), 2);
    for mail in received {
        assert!(mail.body.contains("依规不向被投诉单位提供投诉人信息"));
        for value in PII_VALUES.iter().chain(&["138****", "刘*"]) {
            assert!(!mail.body.contains(value), "{value}: {}", mail.body);
        }
    }
}

#[tokio::test]
async fn a_refused_recipient_is_retried_after_the_backoff() {
    let server = MailServer::start(1).await;
    let env = NotifyEnv::new(&server.email_section(true)).await;
    let mut a = assignment("case-retry", "high", "2026-03-02T09:00:00+08:00");
    a.members = vec!["jiancha.wang@test.example.gov.cn".into()];
    a.informed.clear();
    assign(&env, &a).await;
    let mailer = Mailer::from_config(&env.cfg.email).unwrap();
    let t0 = utc("2026-03-02T09:00:01+08:00");
    let report = deliver_due(&env.store, &env.cfg.email, &mailer, "w1", t0)
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried), (0, 1));
    assert!(server.received().is_empty());
    let pending = env
        .store
        .notifications(&OutboxFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending[0].state, "pending");
    assert_eq!(pending[0].recipients[0].attempts, 1);
    assert!(
        pending[0].recipients[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("451")
    );
    // Not before the backoff (60 s configured) ...
    let early = t0 + chrono::Duration::seconds(30);
    let report = deliver_due(&env.store, &env.cfg.email, &mailer, "w1", early)
        .await
        .unwrap();
    assert_eq!(report.messages, 0);
    // ... then delivered.
    let later = t0 + chrono::Duration::seconds(61);
    let report = deliver_due(&env.store, &env.cfg.email, &mailer, "w1", later)
        .await
        .unwrap();
    assert_eq!(report.sent, 1);
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].header("subject").starts_with("【交办通知】"));
    assert!(
        !received[0].tls,
        "`security = \"plain\"` sends in the clear"
    );
    let sent = env
        .store
        .notifications(&OutboxFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sent[0].state, "sent");
    assert_eq!(sent[0].recipients[0].state, "sent");
    assert_eq!(sent[0].recipients[0].attempts, 2);
}

#[tokio::test]
async fn a_restart_loses_no_message_and_sends_none_twice() {
    let server = MailServer::start(0).await;
    let env = NotifyEnv::new(&server.email_section(true)).await;
    let a = assignment("case-crash", "normal", "2026-02-12T10:00:00+08:00");
    assign(&env, &a).await;
    let t0 = utc("2026-02-12T10:00:01+08:00");
    // Worker A claims everything and crashes before sending.
    let claimed = claim_only(&env.store, &env.cfg.email, "worker-a", t0)
        .await
        .unwrap();
    assert_eq!(claimed, 3);
    let env = env.restart().await;
    let mailer = Mailer::from_config(&env.cfg.email).unwrap();
    // While A's lease runs, nobody else sends.
    let report = deliver_due(&env.store, &env.cfg.email, &mailer, "worker-b", t0)
        .await
        .unwrap();
    assert_eq!(report.messages, 0);
    assert!(server.received().is_empty());
    // After the lease, worker B delivers everything once.
    let after_lease = t0 + chrono::Duration::seconds(121);
    let report = deliver_due(&env.store, &env.cfg.email, &mailer, "worker-b", after_lease)
        .await
        .unwrap();
    assert_eq!((report.messages, report.sent), (3, 4));
    // Another restart: nothing is sent again, however late.
    let env = env.restart().await;
    let mailer = Mailer::from_config(&env.cfg.email).unwrap();
    let much_later = t0 + chrono::Duration::days(3);
    let report = deliver_due(&env.store, &env.cfg.email, &mailer, "worker-c", much_later)
        .await
        .unwrap();
    assert_eq!(report.messages, 0);
    let received = server.received();
    assert_eq!(received.len(), 4);
    let mut ids: Vec<&str> = received.iter().map(|m| m.header("message-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "four distinct messages");
}

#[tokio::test]
async fn reminder_overdue_and_digest_emails_go_out_at_the_injected_times() {
    use complaint_gateway::notify::scheduler::tick;
    let server = MailServer::start(0).await;
    let env = NotifyEnv::new(&server.email_section(true)).await;
    let mut a = assignment("case-remind", "urgent", "2026-03-02T07:00:00+08:00");
    a.informed.clear();
    assign(&env, &a).await;
    let mailer = Mailer::from_config(&env.cfg.email).unwrap();
    let step = |t: &'static str| {
        let env = &env;
        let mailer = mailer.clone();
        async move {
            let now = utc(t);
            tick(&env.store, &env.cfg, &env.calendar, &env.templates, now)
                .await
                .unwrap();
            deliver_due(&env.store, &env.cfg.email, &mailer, "w", now)
                .await
                .unwrap()
        }
    };
    step("2026-03-02T07:00:01+08:00").await;
    assert_eq!(server.received().len(), 2, "交办 to both members only");
    step("2026-03-02T08:00:00+08:00").await;
    assert_eq!(server.received().len(), 2, "nothing due yet");
    step("2026-03-02T08:31:00+08:00").await;
    let received = server.received();
    let subjects: Vec<&str> = received[2..].iter().map(|m| m.header("subject")).collect();
    // 催办 to both members (30 minutes before 09:00) and the daily digest after 08:30.
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("【催办通知】"))
            .count(),
        2
    );
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.starts_with("【每日汇总】市监察局"))
            .count(),
        2
    );
    let reminder = received[2..]
        .iter()
        .find(|m| m.header("subject").starts_with("【催办通知】"))
        .unwrap();
    assert!(reminder.body.contains("即将到期"), "{}", reminder.body);
    assert!(
        reminder.body.contains("办理期限：2026年03月02日 09:00"),
        "{}",
        reminder.body
    );
    let digest = received[2..]
        .iter()
        .find(|m| m.header("subject").starts_with("【每日汇总】"))
        .unwrap();
    assert!(digest.body.contains("在办案件1件"), "{}", digest.body);
    assert!(
        digest.body.contains("/cases/case-remind"),
        "{}",
        digest.body
    );
    for value in PII_VALUES {
        assert!(!digest.body.contains(value));
    }
    step("2026-03-02T09:01:00+08:00").await;
    let received = server.received();
    assert_eq!(received.len(), 7);
    let overdue = &received[6];
    assert_eq!(to(overdue), "jiancha.lead@test.example.gov.cn");
    assert!(overdue.header("subject").starts_with("【逾期通知】"));
    assert!(overdue.body.contains("第1次逾期提醒"), "{}", overdue.body);
    assert!(
        overdue.body.contains("138****1111"),
        "masked for the supervisor"
    );
    for value in PII_VALUES {
        assert!(!overdue.body.contains(value));
    }
}
