//! Behaviour of the whole engine on hand-written complaints.

use std::sync::{Arc, OnceLock};

use chrono::{TimeZone, Utc};
use connectors::Channel;
use jieba_rs::Jieba;

use super::*;
use crate::bench::synthetic::{self, SyntheticOrigin};

fn jieba() -> Arc<Jieba> {
    static JIEBA: OnceLock<Arc<Jieba>> = OnceLock::new();
    JIEBA.get_or_init(|| Arc::new(Jieba::new())).clone()
}

fn engine_with(config: GroupingConfig, pins: Pins) -> Engine {
    Engine::new(config, jieba(), pins).unwrap()
}

fn engine() -> Engine {
    engine_with(GroupingConfig::default(), Pins::new())
}

/// A complaint submitted on `day` of May 2024 (days past 31 run on into June).
fn complaint(id: &str, (title, body): (&str, &str), day: u32, who: &str) -> ComplaintInput {
    ComplaintInput {
        complaint_id: id.to_string(),
        text: connectors::text::normalize(&format!("{title}\n{body}")),
        title: title.to_string(),
        submitted_at: Utc.with_ymd_and_hms(2024, 5, 1, 9, 0, 0).unwrap()
            + chrono::Duration::days(i64::from(day) - 1),
        channel: Channel::Online,
        complainant_keys: if who.is_empty() {
            Vec::new()
        } else {
            vec![who.to_string()]
        },
        district: None,
        public_support: None,
        media_exposed: false,
    }
}

const FUMES: (&str, &str) = (
    "东湖区翠湖苑小区楼下餐馆油烟扰民",
    "尊敬的领导：我是翠湖苑小区3栋的业主，楼下临街的几家餐馆没有安装油烟净化器，油烟直接从后厨排到楼上，\
     家里窗户一年到头不敢开，晾在阳台的衣服全是油烟味。多次向街道和环保部门反映都没有结果，恳请相关部门尽快查处。",
);

const FUMES_OTHER_WORDS: (&str, &str) = (
    "翠湖苑底层商铺烧烤店油烟呛人",
    "我们是翠湖苑的住户，一楼商铺开了烧烤店和快餐店，每天从傍晚一直营业到凌晨，烤串的烟和炒菜的油烟顺着\
     楼道往上飘，老人孩子被呛得直咳嗽，夏天都不敢开窗，希望环保局管一管。",
);

const NOISE_HERE: (&str, &str) = (
    "翠湖苑旁工地夜间施工噪音扰民",
    "翠湖苑小区东门对面的工地每天晚上十一点以后还在打桩，机器轰鸣声震得窗户嗡嗡响，孩子马上中考根本没法\
     休息，夜间施工也没有任何公示，请城管部门依法查处噪音扰民。",
);

const NOISE_HERE_OTHER_WORDS: (&str, &str) = (
    "翠湖苑对面工地半夜打桩吵得睡不着",
    "我家住翠湖苑8栋，对面那个建筑工地连续一个星期凌晨两三点还在施工，打桩机咚咚响，全家人都被吵醒，\
     白天上班没精神。已经打过12345热线，希望尽快制止夜间施工。",
);

const NOISE_ELSEWHERE: (&str, &str) = (
    "金桂园小区附近工地夜间施工噪音扰民",
    "金桂园小区北侧的建筑工地经常在半夜施工，渣土车进进出出，打桩声吵得整栋楼的居民睡不着觉，老人心脏\
     不好受不了，希望有关部门制止夜间施工噪音扰民。",
);

const ELEVATOR: (&str, &str) = (
    "银杏苑5栋电梯经常出故障",
    "银杏苑小区5栋的电梯三天两头坏，上周二还把一位老人困在里面四十多分钟，物业说维修资金不够只能先凑合\
     用，请质监部门检查这部电梯的安全。",
);

const ELEVATOR_FOLLOW_UP: (&str, &str) = (
    "电梯又坏了，老人只能爬楼",
    "上次反映的电梯问题到现在还没解决，昨天电梯又停了，楼里八十岁的老人只能爬十几层楼梯，物业一直推脱说\
     没钱修，请尽快督促维修。",
);

const BUS_QUESTION: (&str, &str) = (
    "咨询灵活就业人员社保缴费办法",
    "我是个体户，去年开始自己交养老保险，想了解一下断缴三个月以后还能不能补缴，窗口说法不一，请给个准确答复。",
);

#[test]
fn a_repost_under_a_new_title_is_an_exact_duplicate() {
    let mut engine = engine();
    let first = engine.assign(&complaint("c1", FUMES, 1, "p1"));
    let repost = engine.assign(&complaint(
        "c2",
        ("再次反映翠湖苑餐馆油烟问题，急需处理", FUMES.1),
        9,
        "p1",
    ));
    assert!(first.created_case);
    assert_eq!(repost.case, first.case);
    assert_eq!(repost.reason.kind, MatchKind::Exact);
    assert_eq!(repost.duplicate_of(), Some("c1"));
}

#[test]
fn the_same_text_through_two_channels_is_one_case() {
    let mut engine = engine();
    let online = engine.assign(&complaint("web-1", FUMES, 1, "p1"));
    let mut by_phone = complaint("hotline-7", FUMES, 1, "p1");
    by_phone.channel = Channel::Hotline;
    let hotline = engine.assign(&by_phone);
    assert_eq!(hotline.case, online.case);
    assert_eq!(hotline.reason.kind, MatchKind::Exact);
    assert_eq!(
        hotline.reason.matched_complaint_id.as_deref(),
        Some("web-1")
    );
}

#[test]
fn an_edited_copy_is_a_near_duplicate() {
    let mut engine = engine();
    let first = engine.assign(&complaint("c1", FUMES, 1, "p1"));
    let edited_body = FUMES
        .1
        .replace("一年到头", "一年四季")
        .replace("尽快查处。", "尽快查处，谢谢！");
    let edited = engine.assign(&complaint("c2", (FUMES.0, edited_body.as_str()), 3, ""));
    assert_eq!(edited.case, first.case);
    assert_eq!(edited.reason.kind, MatchKind::NearDuplicate);
    assert!(edited.reason.score >= 0.6, "{}", edited.reason.score);
    assert_eq!(edited.duplicate_of(), Some("c1"));
}

#[test]
fn two_estates_with_the_same_problem_words_stay_apart() {
    let mut engine = engine();
    let here = engine.assign(&complaint("c1", NOISE_HERE, 1, "p1"));
    let elsewhere = engine.assign(&complaint("c2", NOISE_ELSEWHERE, 1, "p2"));
    assert_ne!(elsewhere.case, here.case);
    assert_eq!(elsewhere.reason.kind, MatchKind::New);
    // The engine did compare them, and says why it refused.
    let scores = engine.candidate_scores(&complaint("c3", NOISE_ELSEWHERE, 2, "p3"));
    let against_here = scores
        .iter()
        .find(|s| s.case == here.case)
        .expect("compared");
    assert_eq!(against_here.blocked, Some("different_place"));
    assert!(!against_here.passes);
}

#[test]
fn the_same_issue_in_other_words_joins_and_says_why() {
    let mut engine = engine();
    let first = engine.assign(&complaint("c1", NOISE_HERE, 1, "p1"));
    let second = engine.assign(&complaint("c2", NOISE_HERE_OTHER_WORDS, 4, "p2"));
    assert_eq!(second.case, first.case);
    assert_eq!(second.reason.kind, MatchKind::SameIssue);
    assert_eq!(second.reason.matched_complaint_id.as_deref(), Some("c1"));
    assert!(
        second.reason.shared_places.iter().any(|p| p == "翠湖苑"),
        "{:?}",
        second.reason
    );
    assert!(!second.reason.shared_terms.is_empty());
}

#[test]
fn one_estate_with_two_problems_is_two_cases() {
    let mut engine = engine();
    let fumes = engine.assign(&complaint("c1", FUMES, 1, "p1"));
    let fumes_again = engine.assign(&complaint("c2", FUMES_OTHER_WORDS, 2, "p2"));
    let noise = engine.assign(&complaint("c3", NOISE_HERE, 3, "p3"));
    assert_eq!(fumes_again.case, fumes.case);
    assert_ne!(noise.case, fumes.case);
}

#[test]
fn the_same_complainant_strengthens_a_weak_match() {
    let mut engine = engine();
    let first = engine.assign(&complaint("c1", ELEVATOR, 1, "p-elevator"));
    let by_someone_else =
        engine.candidate_scores(&complaint("x", ELEVATOR_FOLLOW_UP, 11, "p-other"));
    assert!(
        by_someone_else.iter().all(|s| !s.passes),
        "a stranger's vague follow-up must not join: {by_someone_else:?}"
    );
    let again = engine.assign(&complaint("c2", ELEVATOR_FOLLOW_UP, 11, "p-elevator"));
    assert_eq!(again.case, first.case);
    assert_eq!(again.reason.kind, MatchKind::SameComplainant);
}

#[test]
fn unrelated_complaints_found_their_own_cases() {
    let mut engine = engine();
    let cases: Vec<CaseKey> = [FUMES, NOISE_ELSEWHERE, ELEVATOR, BUS_QUESTION]
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            engine
                .assign(&complaint(&format!("c{i}"), text, 1, ""))
                .case
        })
        .collect();
    let mut distinct = cases.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{cases:?}");
}

/// Four complaints: c1, c4 about fumes at 翠湖苑; c2, c3 about noise at 金桂园.
fn four_complaints() -> Vec<ComplaintInput> {
    let noise_elsewhere_again = (
        "金桂园北侧工地半夜施工",
        "金桂园小区北边那个工地天天半夜打桩，渣土车也不停，居民根本睡不着，请有关部门制止夜间施工。",
    );
    vec![
        complaint("c1", FUMES, 1, "p1"),
        complaint("c2", NOISE_ELSEWHERE, 2, "p2"),
        complaint("c3", noise_elsewhere_again, 3, "p3"),
        complaint("c4", FUMES_OTHER_WORDS, 4, "p4"),
    ]
}

fn cases_of(assignments: &[Assignment]) -> Vec<&str> {
    assignments.iter().map(|a| a.case.0.as_str()).collect()
}

#[test]
fn staff_merges_and_splits_survive_a_replay() {
    let complaints = four_complaints();
    let automatic =
        group_all(GroupingConfig::default(), jieba(), Pins::new(), &complaints).unwrap();
    assert_eq!(cases_of(&automatic), vec!["c1", "c2", "c2", "c1"]);

    // Staff merge the two cases, then split c3 out of the merged case.
    let decisions = [
        HumanDecision::Merge {
            complaint_ids: ["c1", "c4", "c2", "c3"].map(String::from).to_vec(),
        },
        HumanDecision::SplitOut {
            complaint_id: "c3".into(),
            apart_from: ["c1", "c2", "c4"].map(String::from).to_vec(),
        },
    ];
    let pins = Pins::from_decisions(&decisions);
    let replayed = group_all(
        GroupingConfig::default(),
        jieba(),
        pins.clone(),
        &complaints,
    )
    .unwrap();
    assert_eq!(cases_of(&replayed), vec!["c1", "c1", "c3", "c1"]);
    assert_eq!(replayed[1].reason.kind, MatchKind::Pinned);
    assert_eq!(replayed[2].reason.kind, MatchKind::Pinned);

    // The same decisions applied live give the same cases.
    let mut live = engine();
    for complaint in &complaints {
        live.assign(complaint);
    }
    assert_eq!(
        live.merge(&["c1", "c4", "c2", "c3"].map(String::from))
            .unwrap(),
        CaseKey("c1".into())
    );
    let outcome = live
        .split_out(&complaints[2], &["c1", "c2", "c4"].map(String::from))
        .unwrap();
    assert_eq!(outcome.split_case, CaseKey("c3".into()));
    assert_eq!(outcome.remaining_case, Some(CaseKey("c1".into())));

    // A later complaint like c3 may join c3's case, but never the case c3 was split from by
    // similarity to c2, and an exact copy of c2 still joins the merged case.
    let copy_of_c2 = complaint("c5", NOISE_ELSEWHERE, 6, "p9");
    assert_eq!(live.assign(&copy_of_c2).case, CaseKey("c1".into()));
    let mut replay_engine = engine_with(GroupingConfig::default(), pins);
    let mut replay_cases = Vec::new();
    for complaint in complaints.iter().chain(std::iter::once(&copy_of_c2)) {
        replay_cases.push(replay_engine.assign(complaint).case);
    }
    assert_eq!(replay_cases.last(), Some(&CaseKey("c1".into())));
}

#[test]
fn splitting_out_a_founding_complaint_renames_the_rest() {
    let complaints = four_complaints();
    let mut live = engine();
    for complaint in &complaints {
        live.assign(complaint);
    }
    let outcome = live.split_out(&complaints[0], &["c4".to_string()]).unwrap();
    assert_eq!(outcome.split_case, CaseKey("c1".into()));
    assert_eq!(outcome.remaining_case, Some(CaseKey("c4".into())));
    let pins = Pins::from_decisions(&[HumanDecision::SplitOut {
        complaint_id: "c1".into(),
        apart_from: vec!["c4".into()],
    }]);
    let replayed = group_all(GroupingConfig::default(), jieba(), pins, &complaints).unwrap();
    assert_eq!(cases_of(&replayed), vec!["c1", "c2", "c2", "c4"]);
}

#[test]
fn the_same_order_gives_the_same_cases_and_threads_do_not_matter() {
    let complaints: Vec<ComplaintInput> =
        synthetic::generate(600, 60, 11).map(|c| c.input).collect();
    let first = group_all(GroupingConfig::default(), jieba(), Pins::new(), &complaints).unwrap();
    let second = group_all(GroupingConfig::default(), jieba(), Pins::new(), &complaints).unwrap();
    assert_eq!(first, second);
    let mut one_by_one = engine();
    let sequential: Vec<Assignment> = complaints.iter().map(|c| one_by_one.assign(c)).collect();
    assert_eq!(first, sequential);
    assert!(
        first.iter().any(|a| !a.created_case),
        "the stream has duplicates to group"
    );
}

#[test]
fn the_window_bounds_state_and_forgets_old_complaints() {
    let config = GroupingConfig {
        window_days: 30,
        max_window_complaints: 50,
        ..GroupingConfig::default()
    };
    let mut engine = engine_with(config, Pins::new());
    let old = engine.assign(&complaint("old", FUMES, 1, "p1"));
    for (i, c) in synthetic::generate(200, 20, 5).enumerate() {
        let mut input = c.input;
        input.complaint_id = format!("s{i}");
        input.submitted_at = Utc.with_ymd_and_hms(2024, 5, 2, 0, 0, 0).unwrap();
        engine.assign(&input);
        assert!(engine.stats().window_complaints <= 50);
    }
    // The old complaint left the window (by count): its copy starts a new case.
    let copy = engine.assign(&complaint("copy", FUMES, 2, "p1"));
    assert_ne!(copy.case, old.case);
    assert!(copy.created_case);
    // And by age: a copy of `copy` sixty days later is new again.
    let late = engine.assign(&complaint("late", FUMES, 62, "p1"));
    assert!(late.created_case);
}

#[test]
fn cases_are_forgotten_once_their_complaints_leave_a_count_bounded_window() {
    // All within the time window: only the count bounds it, and cases must not outlive it.
    let config = GroupingConfig {
        max_window_complaints: 50,
        ..GroupingConfig::default()
    };
    let mut engine = engine_with(config, Pins::new());
    let mut most = 0;
    let mut created = 0;
    for (i, c) in synthetic::generate(20000, 18000, 11).enumerate() {
        let mut input = c.input;
        input.complaint_id = format!("s{i}");
        input.submitted_at = Utc.with_ymd_and_hms(2024, 5, 2, 0, 0, 0).unwrap();
        created += usize::from(engine.assign(&input).created_case);
        most = most.max(engine.stats().live_cases);
    }
    // A sweep runs every 4,096 evictions: at most that many forgotten cases wait for it.
    assert!(created > 6000, "the stream makes many cases: {created}");
    assert!(
        most <= 50 + 4096,
        "cases remembered at most: {most} of {created}"
    );
}

#[test]
fn observed_assignments_restore_cases_without_deciding() {
    let mut engine = engine();
    engine.observe(
        &complaint("c1", FUMES, 1, "p1"),
        &CaseKey("case-from-store".into()),
    );
    let repost = engine.assign(&complaint(
        "c2",
        ("翠湖苑油烟问题再次反映", FUMES.1),
        5,
        "p1",
    ));
    assert_eq!(repost.case, CaseKey("case-from-store".into()));
    assert_eq!(repost.reason.kind, MatchKind::Exact);
}

#[test]
fn synthetic_stream_groups_duplicates_and_does_not_over_merge() {
    let stream: Vec<synthetic::SyntheticComplaint> = synthetic::generate(2500, 90, 3).collect();
    let inputs: Vec<ComplaintInput> = stream.iter().map(|c| c.input.clone()).collect();
    let assignments = group_all(GroupingConfig::default(), jieba(), Pins::new(), &inputs).unwrap();
    let predicted: Vec<&str> = assignments.iter().map(|a| a.case.0.as_str()).collect();
    let gold: Vec<Option<u64>> = stream.iter().map(|c| Some(c.issue)).collect();
    let metrics = evaluate::evaluate_grouping(&predicted, &gold).unwrap();
    assert!(metrics.bcubed.precision >= 0.9, "{metrics:?}");
    assert!(metrics.bcubed.recall >= 0.6, "{metrics:?}");
    // Copies land with the complaint they copy.
    let copies: Vec<(usize, &synthetic::SyntheticComplaint)> = stream
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            matches!(
                c.origin,
                SyntheticOrigin::CrossChannel
                    | SyntheticOrigin::Repost
                    | SyntheticOrigin::EditedCopy
            )
        })
        .collect();
    assert!(copies.len() > 100);
    let joined = copies
        .iter()
        .filter(|(i, _)| !assignments[*i].created_case)
        .count();
    assert!(
        joined as f64 >= 0.98 * copies.len() as f64,
        "{joined} of {}",
        copies.len()
    );
}

#[test]
fn toml_config_is_strict() {
    let config: GroupingConfig =
        toml::from_str("window_days = 90\n[place_kind_weights]\nroad = 0.3\n").unwrap();
    assert_eq!(config.window_days, 90);
    assert_eq!(config.place_kind_weights.road, 0.3);
    let err = toml::from_str::<GroupingConfig>("window_dayz = 90\n").unwrap_err();
    assert!(err.to_string().contains("window_dayz"), "{err}");
    let bad = GroupingConfig {
        shingle_chars: 9,
        ..GroupingConfig::default()
    };
    assert!(matches!(
        Engine::new(bad, jieba(), Pins::new()),
        Err(GroupingError::InvalidConfig {
            field: "shingle_chars",
            ..
        })
    ));
}

#[test]
fn the_engine_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send::<Engine>();
    assert_send_sync::<Extractor>();
    assert_send_sync::<Pins>();
}
