//! Deadlines on the working-day calendar, the scheduler at injected times, extensions and
//! answers, and the outbox written in the assignment's own transaction.

use complaint_gateway::notify::deadline::{ExtendRequest, answer, audit_trail, extend, extensions};
use complaint_gateway::notify::scheduler::tick;
use complaint_gateway::notify::{NotifyError, on_assignment};

use super::notify_support::*;

#[tokio::test]
async fn assignment_deadline_spans_spring_festival_and_fills_the_outbox() {
    let env = NotifyEnv::new("").await;
    insert_complaint(env.pool(), "case-sf-c1", 1, "case-sf").await;
    insert_complaint(env.pool(), "case-sf-c2", 2, "case-sf").await;
    // Thursday 12 February 2026, normal priority: 7 working days = Fri 13, Sat 14 (调休),
    // then the holiday 15–23, then 24, 25, 26, 27 and Sat 28 (调休), ending at 17:30.
    let a = assignment("case-sf", "normal", "2026-02-12T10:00:00+08:00");
    let deadline = assign(&env, &a).await;
    assert_eq!(at(&deadline.due_at), at("2026-02-28T17:30:00+08:00"));
    assert_eq!(deadline.state, "open");
    assert_eq!(deadline.queue_name, "市监察局");

    // Every complaint of the case carries the deadline facet.
    let facets: Vec<Option<String>> =
        sqlx::query_scalar("SELECT deadline FROM complaint_facets ORDER BY complaint_id")
            .fetch_all(env.pool())
            .await
            .unwrap();
    assert_eq!(facets.len(), 2);
    for facet in facets {
        assert_eq!(at(&facet.unwrap()), at("2026-02-28T17:30:00+08:00"));
    }
    assert_eq!(audit_actions(env.pool(), "case-sf").await, ["assigned"]);
    // 交办 to the queue, 知会 to the two informed units.
    assert_eq!(
        outbox_kinds(env.pool()).await,
        ["assignment", "informed", "informed"]
    );
    let recipients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_recipients")
        .fetch_one(env.pool())
        .await
        .unwrap();
    assert_eq!(recipients, 4);

    // Urgent cases run on the clock, holidays included.
    let urgent = assignment("case-urgent", "urgent", "2026-02-16T23:00:00+08:00");
    assert_eq!(
        at(&assign(&env, &urgent).await.due_at),
        at("2026-02-17T01:00:00+08:00")
    );
}

#[tokio::test]
async fn a_deadline_in_a_year_without_calendar_is_an_error_and_nothing_is_written() {
    let env = NotifyEnv::new("").await;
    let a = assignment("case-2027", "low", "2026-12-21T10:00:00+08:00");
    let mut tx = env.pool().begin().await.unwrap();
    let err = on_assignment(&mut tx, &a, &env.cfg, &env.calendar)
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::Calendar(_)), "{err}");
    assert!(
        err.to_string().contains("config/calendar/2027.toml"),
        "{err}"
    );
    drop(tx);

    // A routing transaction that rolls back takes its deadline and emails with it.
    let a = assignment("case-rolled-back", "normal", "2026-03-02T09:00:00+08:00");
    let mut tx = env.pool().begin().await.unwrap();
    on_assignment(&mut tx, &a, &env.cfg, &env.calendar)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let (deadlines, outbox): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM case_deadlines), (SELECT COUNT(*) FROM outbox)",
    )
    .fetch_one(env.pool())
    .await
    .unwrap();
    assert_eq!((deadlines, outbox), (0, 0));

    let unknown = assignment("case-x", "whenever", "2026-03-02T09:00:00+08:00");
    let mut tx = env.pool().begin().await.unwrap();
    let err = on_assignment(&mut tx, &unknown, &env.cfg, &env.calendar)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("deadlines.policies.whenever"),
        "{err}"
    );
}

#[tokio::test]
async fn reminder_overdue_and_escalation_happen_at_the_injected_times() {
    let env = NotifyEnv::new("").await;
    insert_complaint(env.pool(), "case-u-c1", 1, "case-u").await;
    // Urgent: due two hours later at 11:00; reminder 30 minutes before.
    let a = assignment("case-u", "urgent", "2026-03-02T09:00:00+08:00");
    assign(&env, &a).await;
    let run = |t: &str| {
        let now = utc(t);
        let env = &env;
        async move {
            tick(env.pool(), &env.cfg, &env.calendar, now)
                .await
                .unwrap()
        }
    };
    let r = run("2026-03-02T10:29:00+08:00").await;
    assert_eq!((r.reminders, r.overdue_notices), (0, 0));
    assert_eq!(r.digests, 1, "the queue's digest of the day (after 08:30)");
    let r = run("2026-03-02T10:31:00+08:00").await;
    assert_eq!((r.reminders, r.overdue_notices, r.digests), (1, 0, 0));
    let r = run("2026-03-02T10:50:00+08:00").await;
    assert_eq!(
        (r.reminders, r.overdue_notices),
        (0, 0),
        "one reminder only"
    );
    let r = run("2026-03-02T11:01:00+08:00").await;
    assert_eq!((r.overdue_notices, r.escalations), (1, 0));
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM complaint_facets WHERE complaint_id = 'case-u-c1'")
            .fetch_one(env.pool())
            .await
            .unwrap();
    assert_eq!(status.as_deref(), Some("overdue"));
    let r = run("2026-03-02T15:00:00+08:00").await;
    assert_eq!(
        r.overdue_notices, 0,
        "repeated only after overdue_repeat_hours"
    );
    let r = run("2026-03-03T11:02:00+08:00").await;
    assert_eq!((r.overdue_notices, r.escalations, r.digests), (1, 1, 1));
    let r = run("2026-03-04T11:03:00+08:00").await;
    assert_eq!((r.overdue_notices, r.escalations), (1, 0), "escalated once");
    assert_eq!(
        audit_actions(env.pool(), "case-u").await,
        [
            "assigned",
            "reminded",
            "overdue",
            "overdue",
            "escalated",
            "overdue"
        ]
    );
    // Overdue notices go to the supervisor, the escalation also to the supervisor.
    let overdue_to: Vec<String> = sqlx::query_scalar(
        "SELECT r.address FROM outbox o JOIN outbox_recipients r ON r.outbox_id = o.id \
         WHERE o.kind = 'overdue'",
    )
    .fetch_all(env.pool())
    .await
    .unwrap();
    assert_eq!(overdue_to, vec!["jiancha.lead@test.example.gov.cn"; 3]);

    // Answered: the status changes and the scheduler leaves the case alone.
    let mut tx = env.pool().begin().await.unwrap();
    let d = answer(
        &mut tx,
        "case-u",
        "市监察局 王科长",
        "已督促整改",
        utc("2026-03-04T12:00:00+08:00"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(d.state, "answered");
    let r = run("2026-03-06T12:00:00+08:00").await;
    assert_eq!((r.reminders, r.overdue_notices, r.escalations), (0, 0, 0));
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM complaint_facets WHERE complaint_id = 'case-u-c1'")
            .fetch_one(env.pool())
            .await
            .unwrap();
    assert_eq!(status.as_deref(), Some("answered"));
}

#[tokio::test]
async fn an_extension_is_recorded_with_who_why_old_and_new() {
    let env = NotifyEnv::new("").await;
    let a = assignment("case-ext", "normal", "2026-02-12T10:00:00+08:00");
    assign(&env, &a).await;
    let request = ExtendRequest {
        requested_by: "市监察局 周某".into(),
        reason: "需调取市人事局近三年审批档案".into(),
        working_days: Some(3),
        hours: None,
        until: None,
    };
    let mut tx = env.pool().begin().await.unwrap();
    let now = utc("2026-02-27T09:00:00+08:00");
    let d = extend(&mut tx, &env.cfg, &env.calendar, "case-ext", &request, now)
        .await
        .unwrap();
    // Saturday 28 Feb (调休) + 3 working days: Mon 2, Tue 3, Wed 4 March.
    assert_eq!(at(&d.due_at), at("2026-03-04T17:30:00+08:00"));
    let records = extensions(&mut tx, "case-ext").await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].requested_by, "市监察局 周某");
    assert_eq!(records[0].reason, "需调取市人事局近三年审批档案");
    assert_eq!(at(&records[0].old_due_at), at("2026-02-28T17:30:00+08:00"));
    assert_eq!(at(&records[0].new_due_at), at("2026-03-04T17:30:00+08:00"));
    let trail = audit_trail(&mut tx, "case-ext").await.unwrap();
    assert_eq!(trail.last().unwrap().action, "extended");
    let bad = ExtendRequest {
        working_days: Some(1),
        hours: Some(2),
        ..request.clone()
    };
    let err = extend(&mut tx, &env.cfg, &env.calendar, "case-ext", &bad, now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exactly one"), "{err}");
    tx.commit().await.unwrap();
}
