//! The embedded routing file: every tag rule, every override and every row of the table.

use super::RoutingConfig;
use super::rules::{RouteInput, Signals, UNMATCHED_RULE, fold};

fn config() -> RoutingConfig {
    RoutingConfig::embedded().expect("embedded routing file is valid")
}

fn tags(config: &RoutingConfig, text: &str, channel: &str, unit: Option<&str>) -> Vec<String> {
    let folded = fold(text);
    config
        .tags_for(&Signals {
            folded_text: &folded,
            channel,
            target_unit: unit,
            district: None,
        })
        .into_iter()
        .map(|h| h.tag)
        .collect()
}

#[test]
fn every_tag_rule_fires_on_its_evidence() {
    let c = config();
    let cases: [(&str, &str, Option<&str>, &str); 10] = [
        (
            "市民称此事已被媒体曝光，影响恶劣",
            "online",
            None,
            "media_exposed",
        ),
        ("某某新闻：办事大厅排长队", "media", None, "media_exposed"),
        (
            "营业执照申请材料齐全，窗口却不予受理",
            "online",
            None,
            "approval_delay",
        ),
        (
            "施工许可审批拖了三个月还没有结果",
            "hotline",
            None,
            "approval_delay",
        ),
        (
            "此件有市长批示，请速办",
            "petition",
            None,
            "leader_instruction",
        ),
        (
            "这个问题我已多次反映，至今未解决",
            "hotline",
            None,
            "repeat",
        ),
        (
            "城管执法人员粗暴执法，掀翻摊位",
            "hotline",
            None,
            "law_enforcement",
        ),
        (
            "窗口工作人员态度恶劣，上班时间玩手机",
            "online",
            None,
            "civil_servant_conduct",
        ),
        (
            "村干部挪用征地补偿专项资金",
            "petition",
            None,
            "funds_misuse",
        ),
        (
            "我公司投资的项目落地难，手续一拖再拖",
            "economic",
            None,
            "enterprise",
        ),
    ];
    for (text, channel, unit, tag) in cases {
        let got = tags(&c, text, channel, unit);
        assert!(
            got.contains(&tag.to_string()),
            "{text}: {got:?} lacks {tag}"
        );
    }
    // Traditional characters are folded like the keywords.
    assert!(tags(&c, "窗口不予受理我的申請", "online", None).contains(&"approval_delay".into()));
    assert!(tags(&c, "此事已被媒體曝光", "online", None).contains(&"media_exposed".into()));
    // A plain complaint has no tag.
    assert!(tags(&c, "小区路灯不亮，请尽快维修", "hotline", None).is_empty());
}

#[test]
fn category_overrides_apply_in_order() {
    let c = config();
    let folded = fold("某建筑公司拖欠农民工工资半年");
    let signals = Signals {
        folded_text: &folded,
        channel: "hotline",
        target_unit: None,
        district: None,
    };
    let rule = c.override_for(&signals, &[]).expect("wage arrears");
    assert_eq!(rule.category, "劳动和社会保障");
    let folded = fold("外商投资企业反映用地手续办不下来");
    let signals = Signals {
        folded_text: &folded,
        channel: "economic",
        target_unit: None,
        district: None,
    };
    let rule = c
        .override_for(&signals, &["enterprise".to_string()])
        .expect("enterprise");
    assert_eq!(rule.name, "enterprise_is_commerce");
    assert_eq!(rule.category, "商贸旅游");
    // The same text from another channel keeps the model's category.
    let signals = Signals {
        channel: "online",
        ..signals
    };
    assert!(
        c.override_for(&signals, &["enterprise".to_string()])
            .is_none()
    );
}

fn route(
    c: &RoutingConfig,
    category: Option<&str>,
    tags: &[&str],
    channel: &str,
) -> (String, String, Vec<String>) {
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    let d = c.route(&RouteInput {
        confident_category: category,
        tags: &tags,
        channel,
        target_unit: None,
        district: None,
    });
    (d.queue, d.priority, d.informed)
}

#[test]
fn every_routing_branch() {
    let c = config();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        route(
            &c,
            Some("城乡建设"),
            &["media_exposed", "approval_delay"],
            "media"
        ),
        ("supervision".into(), "high".into(), s(&["press_office"]))
    );
    assert_eq!(
        route(&c, None, &["leader_instruction"], "petition"),
        (
            "general_office".into(),
            "urgent".into(),
            s(&["supervision"])
        )
    );
    assert_eq!(
        route(&c, None, &["approval_delay"], "online"),
        ("supervision".into(), "high".into(), vec![])
    );
    assert_eq!(
        route(&c, None, &["funds_misuse"], "petition"),
        ("finance".into(), "high".into(), s(&["audit"]))
    );
    assert_eq!(
        route(&c, None, &["law_enforcement"], "hotline"),
        ("legal_affairs".into(), "normal".into(), vec![])
    );
    assert_eq!(
        route(&c, None, &["civil_servant_conduct"], "online"),
        ("personnel".into(), "normal".into(), s(&["supervision"]))
    );
    assert_eq!(
        route(&c, None, &["enterprise"], "economic"),
        ("economic_development".into(), "normal".into(), vec![])
    );
    assert_eq!(
        route(&c, None, &[], "transfer"),
        ("supervision".into(), "normal".into(), s(&["personnel"]))
    );
    assert_eq!(
        route(&c, Some("城乡建设"), &["repeat"], "petition"),
        ("petition_bureau".into(), "high".into(), vec![])
    );
    assert_eq!(
        route(&c, Some("环境保护"), &[], "hotline"),
        ("general_office".into(), "normal".into(), vec![])
    );
    // Low confidence means no category for routing: triage.
    let d = c.route(&RouteInput {
        confident_category: None,
        tags: &[],
        channel: "hotline",
        target_unit: None,
        district: None,
    });
    assert_eq!((d.queue.as_str(), d.rule.as_str()), ("triage", "unmatched"));
}

#[test]
fn a_table_without_catch_all_still_sends_unmatched_to_triage() {
    let text = r#"
[settings]
min_confidence = 0.5
triage_queue = "triage"
[queues.triage]
name = "分拣"
supervisor = "lead@example.org"
[queues.west]
name = "河西区政府"
supervisor = "west@example.org"
[[routes]]
name = "west_district"
districts = ["河西区"]
target_units = ["河西"]
queue = "west"
"#;
    let c = RoutingConfig::from_toml(text, "test").unwrap();
    let input = |district, unit| RouteInput {
        confident_category: None,
        tags: &[],
        channel: "online",
        target_unit: unit,
        district,
    };
    assert_eq!(
        c.route(&input(Some("河西区"), Some("河西区城管局"))).queue,
        "west"
    );
    let d = c.route(&input(Some("城东区"), Some("河西区城管局")));
    assert_eq!(
        (d.queue.as_str(), d.rule.as_str()),
        ("triage", UNMATCHED_RULE)
    );
}

#[test]
fn a_misspelt_key_or_unknown_queue_is_an_error_naming_it() {
    let bad_key = config_text().replace("min_confidence", "min_confidance");
    let error = RoutingConfig::from_toml(&bad_key, "test")
        .unwrap_err()
        .to_string();
    assert!(error.contains("min_confidance"), "{error}");
    let bad_queue = config_text().replace("queue = \"legal_affairs\"", "queue = \"legal\"");
    let error = RoutingConfig::from_toml(&bad_queue, "test")
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown queue `legal`"), "{error}");
    let bad_regex = config_text().replace("(审批|办理|受理)", "(审批");
    let error = RoutingConfig::from_toml(&bad_regex, "test")
        .unwrap_err()
        .to_string();
    assert!(error.contains("does not compile"), "{error}");
}

#[test]
fn a_route_may_declare_its_subject_a_known_queue_only() {
    let row = "name = \"funds_misuse\"\ntags = [\"funds_misuse\"]\nqueue = \"finance\"\n";
    assert!(config_text().contains(row));
    let with =
        |subject: &str| config_text().replace(row, &format!("{row}subject = \"{subject}\"\n"));
    let config = RoutingConfig::from_toml(&with("audit"), "test").unwrap();
    let tags = vec!["funds_misuse".to_string()];
    let tagged = RouteInput {
        confident_category: None,
        tags: &tags,
        channel: "online",
        target_unit: None,
        district: None,
    };
    let decided = config.route(&tagged);
    assert_eq!(
        (decided.queue.as_str(), decided.subject.as_deref()),
        ("finance", Some("audit"))
    );
    let untagged = config.route(&RouteInput {
        tags: &[],
        ..tagged
    });
    assert_eq!(untagged.subject, None, "another row routes it: no subject");
    let error = RoutingConfig::from_toml(&with("audits"), "test")
        .unwrap_err()
        .to_string();
    assert!(error.contains("subject `audits` is not a queue"), "{error}");
}

fn config_text() -> String {
    super::config::EMBEDDED_ROUTING.to_string()
}

#[test]
fn queues_name_their_unit_and_people() {
    let c = config();
    let q = c.queue("supervision").unwrap();
    assert_eq!(q.name, "市监察局");
    assert!(!q.members.is_empty() && q.supervisor.ends_with("example.org"));
    for key in [
        "triage",
        "supervision",
        "legal_affairs",
        "general_office",
        "personnel",
        "finance",
        "audit",
        "establishment",
        "petition_bureau",
        "economic_development",
        "press_office",
        "computer_centre",
    ] {
        assert!(c.queue(key).is_some(), "{key}");
    }
    assert!(c.queue("nowhere").is_none());
}

#[test]
fn the_gateway_config_names_the_routing_file_strictly() {
    use crate::config::Config;
    let config = Config::from_toml("[routing]\nfile = \"no/such/routing.toml\"\n", "test").unwrap();
    assert_eq!(
        config.routing.file,
        std::path::PathBuf::from("no/such/routing.toml")
    );
    // An absent file means the embedded default.
    let routing = config.routing.load().unwrap();
    assert_eq!(routing.triage_queue(), "triage");
    let error = Config::from_toml("[routing]\nfiles = \"x.toml\"\n", "test")
        .unwrap_err()
        .to_string();
    assert!(error.contains("files"), "{error}");
}
