//! Grouping complaints into cases through the real intake and pipeline: reposts, the same text
//! from two channels, the same complainant, two estates with the same problem words, staff
//! merges and splits surviving `reprocess`, determinism, hot issues and the evaluation
//! arithmetic.

use std::collections::{BTreeMap, BTreeSet};

use complaint_gateway::cases::read::{get_case, hot_issues, list_cases};
use complaint_gateway::cases::staff::{Actor, merge, split};
use complaint_gateway::cases::{CaseDetail, CaseSummary};
use complaint_gateway::config::Config;
use complaint_gateway::grouping::MatchKind;
use complaint_gateway::intake::{Origin, ingest};
use complaint_gateway::pipeline::{Pipeline, PipelineLock};
use complaint_gateway::store::Store;
use complaint_gateway::store::cases::CaseFilter;
use connectors::{Channel, RawItem};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// A store in a temporary directory, fed through intake, grouped by the standard pipeline.
pub struct Harness {
    _dir: tempfile::TempDir,
    pub config: Config,
    pub store: Store,
    /// A connection of the test's own to the database file, to inspect rows the store has no
    /// operation for.
    pub db: SqlitePool,
}

impl Harness {
    pub async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "data_dir = \"{}\"\n[api]\ntoken_envs = []\n",
            dir.path().join("data").display()
        );
        let config = Config::from_toml(&text, "test").unwrap();
        let store = Store::open(
            &config.data_dir,
            complaint_gateway::app::commit_settings(&config),
        )
        .await
        .unwrap();
        let db = SqlitePool::connect_with(
            SqliteConnectOptions::new()
                .filename(config.data_dir.join(complaint_gateway::store::DB_FILE))
                .read_only(true),
        )
        .await
        .unwrap();
        Harness {
            _dir: dir,
            config,
            store,
            db,
        }
    }

    pub async fn add(&self, channel: Channel, items: &[Value]) {
        let origin = Origin {
            source: channel.as_str().to_string(),
            channel,
            historical: false,
        };
        let options = self.config.parse_options();
        let raw: Vec<RawItem> = items
            .iter()
            .map(|v| RawItem::from_synthetic_json(v.clone(), &options))
            .collect();
        ingest(&self.store, &origin, raw, None).await.unwrap();
    }

    /// Runs the pipeline as a freshly started process would (the engine is rebuilt from the
    /// store first).
    pub async fn run(&self) {
        let lock = PipelineLock::try_acquire(&self.config.data_dir)
            .unwrap()
            .unwrap();
        Pipeline::standard(&self.config)
            .unwrap()
            .run_pending(&self.store, &lock, &mut |_| {})
            .await
            .unwrap();
    }

    pub async fn reprocess(&self) {
        let lock = PipelineLock::try_acquire(&self.config.data_dir)
            .unwrap()
            .unwrap();
        Pipeline::standard(&self.config)
            .unwrap()
            .reprocess(&self.store, &lock, &mut |_| {})
            .await
            .unwrap();
    }

    pub async fn id_of(&self, external_id: &str) -> String {
        sqlx::query_scalar("SELECT id FROM complaints WHERE external_id = ?")
            .bind(external_id)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    pub async fn case_of(&self, external_id: &str) -> String {
        let row = sqlx::query(
            "SELECT f.case_id FROM complaints c JOIN complaint_facets f ON f.complaint_id = c.id
             WHERE c.external_id = ?",
        )
        .bind(external_id)
        .fetch_one(&self.db)
        .await
        .unwrap();
        row.get::<Option<String>, _>("case_id")
            .expect("every complaint has a case")
    }

    pub async fn detail(&self, case_id: &str) -> CaseDetail {
        get_case(&self.store, case_id).await.unwrap()
    }

    /// Cases as sets of external ids (comparable across stores).
    pub async fn partition(&self) -> BTreeSet<BTreeSet<String>> {
        let rows = sqlx::query(
            "SELECT c.external_id, m.case_id FROM case_members m
             JOIN complaints c ON c.id = m.complaint_id",
        )
        .fetch_all(&self.db)
        .await
        .unwrap();
        let mut cases: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for row in &rows {
            cases
                .entry(row.get("case_id"))
                .or_default()
                .insert(row.get("external_id"));
        }
        cases.into_values().collect()
    }
}

pub fn item(external_id: &str, title: Option<&str>, body: &str, at: &str) -> Value {
    let mut value = json!({
        "external_id": external_id,
        "body": body,
        "submitted_at": at,
        "location": {"district": "城南区"},
    });
    if let Some(title) = title {
        value["title"] = json!(title);
    }
    value
}

pub const CONSTRUCTION_BODY: &str = "我是锦绣花园小区的业主，小区东侧的建筑工地连续两周每天晚上施工到凌晨两点，打桩机和渣土车的声音非常大，老人和孩子根本无法入睡。多次打电话给施工单位都没有任何改变，恳请城管和环保部门尽快调查处理。";
pub const SIGNAL_BODY: &str = "南湖路与建设大道交叉口的红绿灯已经坏了三天，早晚高峰车辆乱成一团，行人过马路非常危险，希望交警部门尽快派人修复信号灯。";
pub const LIFT_FIRST: &str = "翠湖苑小区3栋电梯已经停运一个月，物业一直说在等配件，楼里住着很多行动不便的老人，每天爬十几层楼非常辛苦，请住建部门督促物业尽快修好电梯。";
pub const LIFT_AGAIN: &str = "上个月反映的翠湖苑3栋电梯停运问题至今没有解决，物业仍然没有维修电梯，老人只能爬楼梯，请相关部门再督促一下物业。";
pub const DANCE_SUNSHINE: &str = "阳光小区南门广场每天晚上都有人跳广场舞，音响声音开得太大，噪音扰民，晚上十点还不停，孩子没法安心写作业，希望街道和派出所管一管。";
pub const DANCE_HAPPY: &str = "幸福家园小区中心花园最近天天晚上有人跳广场舞，高音喇叭噪音扰民严重，吵得老人睡不着觉，请有关部门协调一下音量和时间。";

/// The fixture stream used by several tests, in arrival order.
pub async fn add_fixtures(h: &Harness) {
    h.add(
        Channel::Online,
        &[
            item(
                "w-1",
                Some("锦绣花园小区旁工地夜间施工噪音扰民"),
                CONSTRUCTION_BODY,
                "2024-05-02T21:00:00+08:00",
            ),
            item(
                "w-2",
                Some("再次反映：锦绣花园工地半夜还在施工"),
                CONSTRUCTION_BODY,
                "2024-05-04T22:10:00+08:00",
            ),
            item(
                "w-3",
                Some("南湖路路口信号灯损坏"),
                SIGNAL_BODY,
                "2024-05-05T08:30:00+08:00",
            ),
            item(
                "w-5",
                Some("阳光小区广场舞扰民"),
                DANCE_SUNSHINE,
                "2024-05-06T21:30:00+08:00",
            ),
            item(
                "w-6",
                Some("幸福家园广场舞噪音"),
                DANCE_HAPPY,
                "2024-05-07T21:40:00+08:00",
            ),
        ],
    )
    .await;
    let mut lift_first = item("h-1", None, LIFT_FIRST, "2024-05-03T09:00:00+08:00");
    lift_first["complainant"] = json!({"name": "钱某", "phone": "137-0000-1111"});
    let mut lift_again = item("h-2", None, LIFT_AGAIN, "2024-05-13T09:30:00+08:00");
    lift_again["complainant"] = json!({"name": "钱某", "phone": "13700001111"});
    h.add(
        Channel::Hotline,
        &[
            item("h-3", None, SIGNAL_BODY, "2024-05-05T09:05:00+08:00"),
            lift_first,
            lift_again,
        ],
    )
    .await;
}

/// Every fixture with its channel, in the arrival order of [`add_fixtures`] (online first).
fn fixture_items() -> Vec<(Channel, Value)> {
    let online = [
        (
            "w-1",
            "锦绣花园小区旁工地夜间施工噪音扰民",
            CONSTRUCTION_BODY,
            "2024-05-02T21:00:00+08:00",
        ),
        (
            "w-2",
            "再次反映：锦绣花园工地半夜还在施工",
            CONSTRUCTION_BODY,
            "2024-05-04T22:10:00+08:00",
        ),
        (
            "w-3",
            "南湖路路口信号灯损坏",
            SIGNAL_BODY,
            "2024-05-05T08:30:00+08:00",
        ),
        (
            "w-5",
            "阳光小区广场舞扰民",
            DANCE_SUNSHINE,
            "2024-05-06T21:30:00+08:00",
        ),
        (
            "w-6",
            "幸福家园广场舞噪音",
            DANCE_HAPPY,
            "2024-05-07T21:40:00+08:00",
        ),
    ];
    let mut items: Vec<(Channel, Value)> = online
        .iter()
        .map(|(id, title, body, at)| (Channel::Online, item(id, Some(title), body, at)))
        .collect();
    let mut lift_first = item("h-1", None, LIFT_FIRST, "2024-05-03T09:00:00+08:00");
    lift_first["complainant"] = json!({"name": "钱某", "phone": "137-0000-1111"});
    let mut lift_again = item("h-2", None, LIFT_AGAIN, "2024-05-13T09:30:00+08:00");
    lift_again["complainant"] = json!({"name": "钱某", "phone": "13700001111"});
    items.push((
        Channel::Hotline,
        item("h-3", None, SIGNAL_BODY, "2024-05-05T09:05:00+08:00"),
    ));
    items.push((Channel::Hotline, lift_first));
    items.push((Channel::Hotline, lift_again));
    items
}

#[tokio::test]
async fn a_repost_with_a_new_title_joins_the_original_as_its_duplicate() {
    let h = Harness::new().await;
    add_fixtures(&h).await;
    h.run().await;
    let case = h.case_of("w-1").await;
    assert_eq!(h.case_of("w-2").await, case);
    let detail = h.detail(&case).await;
    let repost = detail
        .members
        .iter()
        .find(|m| m.title.as_deref() == Some("再次反映：锦绣花园工地半夜还在施工"))
        .unwrap();
    assert_eq!(repost.why.kind, MatchKind::Exact);
    assert_eq!(
        repost.why.matched_complaint_id.as_deref(),
        Some(h.id_of("w-1").await.as_str())
    );
    let duplicate_of: Option<String> =
        sqlx::query_scalar("SELECT duplicate_of FROM complaint_facets WHERE complaint_id = ?")
            .bind(&repost.complaint_id)
            .fetch_one(&h.db)
            .await
            .unwrap();
    assert_eq!(duplicate_of, Some(h.id_of("w-1").await));
    assert_eq!(detail.case.title, "锦绣花园小区旁工地夜间施工噪音扰民");
    assert_eq!(detail.case.complaints, 2);

    // `export` carries both columns for every complaint.
    let output = std::process::Command::new(crate::common::binary())
        .arg("--data-dir")
        .arg(&h.config.data_dir)
        .args(["export", "--format", "jsonl"])
        .env_remove("COMPLAINT_GATEWAY_CONFIG")
        .env_remove("COMPLAINT_GATEWAY_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r["case_id"].is_string()));
    let exported = rows.iter().find(|r| r["external_id"] == "w-2").unwrap();
    assert_eq!(exported["case_id"], case.as_str());
    assert_eq!(exported["duplicate_of"], h.id_of("w-1").await.as_str());
}

#[tokio::test]
async fn the_same_text_from_two_channels_is_one_case_with_both_channels() {
    let h = Harness::new().await;
    add_fixtures(&h).await;
    h.run().await;
    let case = h.case_of("w-3").await;
    assert_eq!(h.case_of("h-3").await, case);
    let detail = h.detail(&case).await;
    assert_eq!(detail.case.channels, vec!["hotline", "online"]);
    let channels: BTreeSet<&str> = detail.members.iter().map(|m| m.channel.as_str()).collect();
    assert_eq!(channels, BTreeSet::from(["hotline", "online"]));
    assert!(detail.members.iter().all(|m| m.snippet.contains("南湖路")));
}

#[tokio::test]
async fn the_same_complainant_twice_is_one_case_and_the_phone_is_never_stored_derived() {
    let h = Harness::new().await;
    add_fixtures(&h).await;
    h.run().await;
    let case = h.case_of("h-1").await;
    assert_eq!(h.case_of("h-2").await, case);
    let detail = h.detail(&case).await;
    assert_eq!(detail.case.complaints, 2);
    assert_eq!(detail.case.complainants, 1, "one person, two complaints");
    let follow_up = &detail.members[1];
    assert_ne!(follow_up.why.kind, MatchKind::New);
    let complainants: Vec<Option<String>> =
        sqlx::query_scalar("SELECT complainant FROM case_members WHERE case_id = ?")
            .bind(&case)
            .fetch_all(&h.db)
            .await
            .unwrap();
    assert!(
        complainants
            .iter()
            .all(|c| c.as_ref().is_some_and(|k| !k.contains("1111")))
    );
    let state: Vec<String> = sqlx::query_scalar("SELECT value FROM gateway_state")
        .fetch_all(&h.db)
        .await
        .unwrap();
    assert!(state.iter().all(|v| !v.contains("13700001111")));
}

#[tokio::test]
async fn two_estates_with_the_same_problem_words_stay_apart() {
    let h = Harness::new().await;
    add_fixtures(&h).await;
    h.run().await;
    assert_ne!(h.case_of("w-5").await, h.case_of("w-6").await);
    // And nothing else is thrown together: five problems, five cases.
    assert_eq!(h.partition().await.len(), 5);
}

#[tokio::test]
async fn staff_merge_and_split_are_recorded_and_survive_reprocess() {
    let h = Harness::new().await;
    add_fixtures(&h).await;
    h.run().await;
    let actor = Actor {
        who: "triage-li".into(),
        why: "same organiser, both squares".into(),
    };
    let (sunshine, happy) = (h.case_of("w-5").await, h.case_of("w-6").await);
    let mut tx = h.store.begin_decision().await.unwrap();
    let merged = merge(&mut *tx, &happy, &sunshine, &actor).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(merged, sunshine, "the case founded first keeps its id");
    let lift = h.case_of("h-1").await;
    let follow_up = h.id_of("h-2").await;
    let mut tx = h.store.begin_decision().await.unwrap();
    let split_actor = Actor {
        who: "triage-li".into(),
        why: "the follow-up is about another building".into(),
    };
    let outcome = split(&mut *tx, &lift, &follow_up, &split_actor)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outcome.split_case, follow_up);
    assert_eq!(outcome.remaining_case, lift);

    let check = |partition: BTreeSet<BTreeSet<String>>| {
        let set = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let dance = partition.iter().find(|c| c.contains("w-5")).unwrap();
        assert!(dance.contains("w-6"), "{partition:?}");
        assert!(partition.contains(&set(&["h-1"])), "{partition:?}");
        assert!(partition.contains(&set(&["h-2"])), "{partition:?}");
    };
    check(h.partition().await);
    let detail = h.detail(&sunshine).await;
    assert_eq!(detail.decisions.len(), 1);
    assert_eq!(detail.decisions[0].actor, "triage-li");
    assert!(
        detail
            .members
            .iter()
            .all(|m| m.why.kind != MatchKind::New || m.complaint_id == sunshine)
    );

    // A new complaint about the merged problem, then a full reprocess: the decisions hold.
    h.add(
        Channel::Online,
        &[item(
            "w-7",
            Some("幸福家园广场舞还是很吵"),
            DANCE_HAPPY,
            "2024-05-20T21:40:00+08:00",
        )],
    )
    .await;
    h.run().await;
    assert_eq!(h.case_of("w-7").await, sunshine);
    h.reprocess().await;
    check(h.partition().await);
    assert_eq!(h.case_of("w-7").await, sunshine);
    assert_eq!(h.detail(&sunshine).await.decisions.len(), 1);
}

#[tokio::test]
async fn the_same_arrival_order_gives_the_same_cases() {
    let first = Harness::new().await;
    add_fixtures(&first).await;
    first.run().await;
    let second = Harness::new().await;
    add_fixtures(&second).await;
    second.run().await;
    assert_eq!(first.partition().await, second.partition().await);
    // A restart between arrivals (the engine is rebuilt from the store) changes nothing.
    let restarted = Harness::new().await;
    let all = fixture_items();
    restarted
        .add(
            all[0].0,
            &all[..4].iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        )
        .await;
    restarted.run().await;
    for (channel, value) in &all[4..] {
        restarted.add(*channel, std::slice::from_ref(value)).await;
        restarted.run().await;
    }
    let sequential = Harness::new().await;
    for (channel, value) in &all {
        sequential.add(*channel, std::slice::from_ref(value)).await;
    }
    sequential.run().await;
    assert_eq!(restarted.partition().await, sequential.partition().await);
    let before = first.partition().await;
    first.reprocess().await;
    assert_eq!(
        first.partition().await,
        before,
        "reprocess reaches the same cases"
    );
}

#[tokio::test]
async fn hot_issues_rank_the_busiest_recent_case_first() {
    let h = Harness::new().await;
    add_fixtures(&h).await;
    h.run().await;
    let at = chrono::DateTime::parse_from_rfc3339("2024-05-14T00:00:00+08:00")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let hot = hot_issues(
        &h.store,
        at,
        chrono::Duration::days(30),
        3,
        &h.config.grouping.heat,
    )
    .await
    .unwrap();
    assert_eq!(hot.len(), 3);
    assert!(hot[0].case.complaints >= 2, "{:?}", hot[0].case);
    assert!(hot[0].heat.score >= hot[1].heat.score);
    let filter = CaseFilter {
        min_complaints: 2,
        limit: 50,
        ..CaseFilter::default()
    };
    let listed: Vec<CaseSummary> = list_cases(&h.store, filter).await.unwrap();
    assert_eq!(listed.len(), 3, "three cases have two complaints");
    assert!(listed.iter().all(|c| c.status == "open"));
}

#[test]
fn evaluation_arithmetic_matches_a_hand_computed_example() {
    use complaint_gateway::grouping::evaluate::evaluate_grouping;
    // Items 0..5: predicted cases a a b b c; gold groups x x x y y.
    let predicted = ["a", "a", "b", "b", "c"];
    let gold = [Some("x"), Some("x"), Some("x"), Some("y"), Some("y")];
    let metrics = evaluate_grouping(&predicted, &gold).unwrap();
    // Pairs: predicted {01, 23}, gold {01, 02, 12, 34}, correct {01}.
    assert_eq!(
        (
            metrics.predicted_pairs,
            metrics.gold_pairs,
            metrics.correct_pairs
        ),
        (2, 4, 1)
    );
    assert!((metrics.pairwise.precision - 0.5).abs() < 1e-9);
    assert!((metrics.pairwise.recall - 0.25).abs() < 1e-9);
    assert!((metrics.pairwise.f1 - 1.0 / 3.0).abs() < 1e-9);
    // B-cubed precision per item: 1, 1, 1/2, 1/2, 1 → 0.8.
    // B-cubed recall per item: 2/3, 2/3, 1/3, 1/2, 1/2 → 8/15.
    assert!((metrics.bcubed.precision - 0.8).abs() < 1e-9);
    assert!((metrics.bcubed.recall - 8.0 / 15.0).abs() < 1e-9);
    let f1 = 2.0 * 0.8 * (8.0 / 15.0) / (0.8 + 8.0 / 15.0);
    assert!((metrics.bcubed.f1 - f1).abs() < 1e-9);
    let gold_by_id: BTreeMap<String, Option<String>> = (0..5)
        .map(|i| (i.to_string(), gold[i].map(str::to_string)))
        .collect();
    let predicted_by_id: BTreeMap<String, String> = (0..5)
        .map(|i| (i.to_string(), predicted[i].to_string()))
        .collect();
    let report = complaint_gateway::cli::evaluate::report(&metrics, &gold_by_id, &predicted_by_id);
    assert!(
        report.contains("pairwise  precision 0.5000  recall 0.2500  F1 0.3333"),
        "{report}"
    );
    assert!(
        report.contains("B-cubed   precision 0.8000  recall 0.5333  F1 0.6400"),
        "{report}"
    );
    assert!(
        report.contains("gold group x: 3 items in 2 case(s)"),
        "{report}"
    );
}
