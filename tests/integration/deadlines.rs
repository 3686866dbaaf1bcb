//! Deadlines on the working-day calendar, the scheduler at injected times, extensions and
//! answers, and the outbox written in the assignment's own transaction.

use complaint_gateway::notify::deadline::{ExtendRequest, answer, extend};
use complaint_gateway::notify::on_assignment;
use complaint_gateway::notify::scheduler::tick;

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
async fn a_deadline_past_the_calendar_is_provisional_then_counted_again_once_the_year_is_added() {
    let env = NotifyEnv::new("").await;
    insert_complaint(env.pool(), "case-2027-c1", 1, "case-2027").await;
    // Monday 21 Dec 2026, low priority (15 working days): 22–25 and 28–31 December are 8, then
    // 2027 has no file and counts Monday to Friday: Fri 1, 4–8, Mon 11 January.
    let a = assignment("case-2027", "low", "2026-12-21T10:00:00+08:00");
    let deadline = assign(&env, &a).await;
    assert_eq!(at(&deadline.due_at), at("2027-01-11T17:30:00+08:00"));
    assert_eq!(deadline.provisional_year, Some(2027));
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM deadline_audit WHERE case_id = 'case-2027' AND action = 'assigned'",
    )
    .fetch_one(env.pool())
    .await
    .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["provisional_year"], 2027);
    assert!(
        detail["note"]
            .as_str()
            .unwrap()
            .contains("config/calendar/2027.toml")
    );
    // A case extended by staff while provisional: Mon 28 Dec, normal (7): 29–31, Fri 1 Jan,
    // 4–6 January; then 2 more working days, Thursday 8 January.
    insert_complaint(env.pool(), "case-x2027-c1", 2, "case-x2027").await;
    assign(
        &env,
        &assignment("case-x2027", "normal", "2026-12-28T09:00:00+08:00"),
    )
    .await;
    let request = ExtendRequest {
        requested_by: "市监察局 周某".into(),
        reason: "跨年调取档案".into(),
        working_days: Some(2),
        hours: None,
        until: None,
    };
    let mut tx = env.store.begin_decision().await.unwrap();
    let now = utc("2026-12-29T09:00:00+08:00");
    let extended = extend(
        &mut *tx,
        &env.cfg,
        &env.calendar,
        "case-x2027",
        &request,
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(at(&extended.due_at), at("2027-01-08T17:30:00+08:00"));
    assert_eq!(extended.provisional_year, Some(2027));

    // Ticks on the same calendar leave both alone.
    let r = tick(&env.store, &env.cfg, &env.calendar, &env.templates, now)
        .await
        .unwrap();
    assert_eq!(r.recounted, 0);

    // The 2027 file arrives (a test calendar: 1 and 4 January off, Sunday 10 January worked).
    let mut calendar = env.calendar.clone();
    calendar
        .add_file(
            "year = 2027\nholidays = [\"2027-01-01\", \"2027-01-04\"]\n\
             working_weekends = [\"2027-01-10\"]\n",
            "test-2027",
        )
        .unwrap();
    let r = tick(&env.store, &env.cfg, &calendar, &env.templates, now)
        .await
        .unwrap();
    assert_eq!(r.recounted, 2, "one recounted, one extended kept");
    // 8 in December, then 5–8 (12), Sunday 10 (13), 11, 12 (15).
    let recounted = env.store.case_deadline("case-2027").await.unwrap().unwrap();
    assert_eq!(at(&recounted.due_at), at("2027-01-12T17:30:00+08:00"));
    assert_eq!(recounted.provisional_year, None);
    let facet: Option<String> = sqlx::query_scalar(
        "SELECT deadline FROM complaint_facets WHERE complaint_id = 'case-2027-c1'",
    )
    .fetch_one(env.pool())
    .await
    .unwrap();
    assert_eq!(at(&facet.unwrap()), at("2027-01-12T17:30:00+08:00"));
    let kept = env
        .store
        .case_deadline("case-x2027")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at(&kept.due_at), at("2027-01-08T17:30:00+08:00"));
    assert_eq!(kept.provisional_year, None);
    assert_eq!(
        audit_actions(env.pool(), "case-2027").await,
        ["assigned", "recounted"]
    );
    assert_eq!(
        audit_actions(env.pool(), "case-x2027").await,
        ["assigned", "extended", "provisional_kept"]
    );
    // Done once: the next tick finds nothing provisional.
    let r = tick(&env.store, &env.cfg, &calendar, &env.templates, now)
        .await
        .unwrap();
    assert_eq!(r.recounted, 0);
}

#[tokio::test]
async fn a_rolled_back_routing_writes_nothing_and_an_unknown_priority_is_refused() {
    let env = NotifyEnv::new("").await;
    // A routing transaction that rolls back takes its deadline and emails with it.
    let a = assignment("case-rolled-back", "normal", "2026-03-02T09:00:00+08:00");
    let mut tx = env.store.begin_decision().await.unwrap();
    on_assignment(&mut *tx, &a, &env.cfg, &env.calendar, &env.templates)
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
    let mut tx = env.store.begin_decision().await.unwrap();
    let err = on_assignment(&mut *tx, &unknown, &env.cfg, &env.calendar, &env.templates)
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
            tick(&env.store, &env.cfg, &env.calendar, &env.templates, now)
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
    let mut tx = env.store.begin_decision().await.unwrap();
    let d = answer(
        &mut *tx,
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
    let mut tx = env.store.begin_decision().await.unwrap();
    let now = utc("2026-02-27T09:00:00+08:00");
    let d = extend(&mut *tx, &env.cfg, &env.calendar, "case-ext", &request, now)
        .await
        .unwrap();
    // Saturday 28 Feb (调休) + 3 working days: Mon 2, Tue 3, Wed 4 March.
    assert_eq!(at(&d.due_at), at("2026-03-04T17:30:00+08:00"));
    tx.commit().await.unwrap();
    let records = env.store.deadline_extensions("case-ext").await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].requested_by, "市监察局 周某");
    assert_eq!(records[0].reason, "需调取市人事局近三年审批档案");
    assert_eq!(at(&records[0].old_due_at), at("2026-02-28T17:30:00+08:00"));
    assert_eq!(at(&records[0].new_due_at), at("2026-03-04T17:30:00+08:00"));
    let trail = env.store.deadline_audit("case-ext").await.unwrap();
    assert_eq!(trail.last().unwrap().action, "extended");
    let bad = ExtendRequest {
        working_days: Some(1),
        hours: Some(2),
        ..request.clone()
    };
    let mut tx = env.store.begin_decision().await.unwrap();
    let err = extend(&mut *tx, &env.cfg, &env.calendar, "case-ext", &bad, now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exactly one"), "{err}");
}

/// Sets the workflow state of `case_id` held by the `supervision` queue.
async fn in_state(env: &NotifyEnv, case_id: &str, state: &str) {
    let mut tx = env.store.begin_decision().await.unwrap();
    let before = tx.case_state(case_id).await.unwrap();
    let row = complaint_gateway::store::workflow::CaseState {
        case_id: case_id.into(),
        state: state.into(),
        queue_key: Some("supervision".into()),
        assignee: None,
        merged_into: None,
        note: None,
        updated_at: "2026-03-02T01:00:00.000Z".into(),
        updated_by: "test".into(),
        version: 0,
    };
    tx.put_case_state(&row, before.map(|b| b.version))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_unit_that_has_not_accepted_by_the_accept_by_time_gets_one_notice() {
    let env = NotifyEnv::new("").await;
    // Urgent: answer by 11:00, so accept by half the time (10:00), not a working day later.
    for (seq, case) in [(1, "case-wait"), (2, "case-taken")] {
        insert_complaint(env.pool(), &format!("{case}-c1"), seq, case).await;
        let a = assignment(case, "urgent", "2026-03-02T09:00:00+08:00");
        let d = assign(&env, &a).await;
        assert_eq!(
            d.accept_due_at.as_deref(),
            Some("2026-03-02T10:00:00+08:00"),
            "{d:?}"
        );
        in_state(&env, case, "assigned").await;
    }
    in_state(&env, "case-taken", "accepted").await;
    let run = |t: &str| {
        let now = utc(t);
        let env = &env;
        async move {
            tick(&env.store, &env.cfg, &env.calendar, &env.templates, now)
                .await
                .unwrap()
                .accept_overdue
        }
    };
    assert_eq!(run("2026-03-02T09:59:00+08:00").await, 0);
    assert_eq!(run("2026-03-02T10:01:00+08:00").await, 1, "case-wait only");
    assert_eq!(run("2026-03-02T10:30:00+08:00").await, 0, "one notice");
    let (kind, subject): (String, String) = sqlx::query_as(
        "SELECT kind, subject FROM outbox WHERE kind = 'accept_overdue' AND case_id = 'case-wait'",
    )
    .fetch_one(env.pool())
    .await
    .unwrap();
    assert_eq!(kind, "accept_overdue");
    assert!(subject.starts_with("【催签收】"), "{subject}");
    let d = env.store.case_deadline("case-wait").await.unwrap().unwrap();
    assert!(d.accept_overdue_at.is_some());
    // A new assignment starts both clocks again.
    let a = assignment("case-wait", "urgent", "2026-03-02T11:00:00+08:00");
    let d = assign(&env, &a).await;
    assert_eq!(
        d.accept_due_at.as_deref(),
        Some("2026-03-02T12:00:00+08:00")
    );
    assert_eq!(d.accept_overdue_at, None);
}

#[tokio::test]
async fn a_unit_named_subject_after_its_assignment_gets_no_identity_in_the_reminder() {
    let env = NotifyEnv::new("").await;
    insert_complaint(env.pool(), "case-s-c1", 1, "case-s").await;
    // Assigned to the supervision bureau, which nothing names: its emails mask the identity.
    let mut a = assignment("case-s", "urgent", "2026-03-02T09:00:00+08:00");
    a.target_unit = None;
    a.informed.clear();
    assign(&env, &a).await;
    assert!(
        outbox_body(&env, "assignment")
            .await
            .contains("投诉人（已脱敏）")
    );
    // The centre names the bureau the subject; the reminder withholds the identity.
    let mut tx = env.store.begin_decision().await.unwrap();
    let named = complaint_gateway::store::subjects::NewSubject {
        case_id: "case-s",
        queue: "supervision",
        origin: complaint_gateway::store::subjects::ORIGIN_STAFF,
        by: "centre",
        at: "2026-03-02T01:30:00.000000Z",
        note: None,
    };
    assert!(tx.name_subject(&named).await.unwrap());
    tx.commit().await.unwrap();
    let r = tick(
        &env.store,
        &env.cfg,
        &env.calendar,
        &env.templates,
        utc("2026-03-02T10:31:00+08:00"),
    )
    .await
    .unwrap();
    assert_eq!(r.reminders, 1);
    let reminder = outbox_body(&env, "reminder").await;
    assert!(
        reminder.contains("依规不向被投诉单位提供投诉人信息"),
        "{reminder}"
    );
    assert!(!reminder.contains("138****1111"), "{reminder}");
}

/// The body of case `case-s`'s notification of `kind`.
async fn outbox_body(env: &NotifyEnv, kind: &str) -> String {
    sqlx::query_scalar("SELECT body FROM outbox WHERE case_id = 'case-s' AND kind = ?")
        .bind(kind)
        .fetch_one(env.pool())
        .await
        .unwrap()
}
