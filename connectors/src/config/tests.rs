use super::*;

const HOTLINE: &str = r#"
type = "http_json"
channel = "hotline"
url = "https://12345.example.gov.cn/api/workorders"
items_pointer = "/data/records"
poll_interval_secs = 30

[auth]
type = "bearer"
token_env = "HOTLINE_TOKEN"

[pagination]
type = "page"
param = "pageNo"
page_size = 50
page_size_param = "pageSize"

[fields]
external_id = "/orderNo"
title = "/title"
body = "/content"
submitted_at = "/createTime"
"complainant.phone" = "/citizen/mobile"
"location.district" = "/area"
"#;

const ONLINE: &str = r#"
type = "open311"
channel = "online"
base_url = "https://311.example.gov.cn/open311/v2"
jurisdiction_id = "example.gov.cn"
start = "2024-01-01T00:00:00+08:00"
"#;

const MEDIA: &str = r#"
type = "rss"
channel = "media"
url = "https://news.example.cn/rss/minsheng.xml"
watch_keywords = ["拖延", "不作为", "乱收费", "推诿"]
"#;

const PETITION: &str = r#"
type = "file_drop"
channel = "petition"
dir = "inbox/petition"

[columns]
"信访编号" = "external_id"
"来信内容" = "body"
"来信人电话" = "complainant.phone"
"#;

fn parse(text: &str) -> Result<SourceSpec, ConfigError> {
    parse_source("sample", Path::new("config/connectors/sample.toml"), text)
}

fn env(name: &str) -> Option<String> {
    (name == "HOTLINE_TOKEN").then(|| "t0ken".to_string())
}

#[test]
fn the_four_documented_examples_parse_and_build() {
    for (text, kind, channel) in [
        (HOTLINE, "http_json", Channel::Hotline),
        (ONLINE, "open311", Channel::Online),
        (MEDIA, "rss", Channel::Media),
        (PETITION, "file_drop", Channel::Petition),
    ] {
        let spec = parse(text).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(spec.config.kind(), kind);
        assert_eq!(spec.config.channel(), channel);
        spec.config
            .build(&spec.name, &env)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

#[test]
fn defaults_and_accessors() {
    let spec = parse(MEDIA).unwrap();
    assert_eq!(
        spec.config.poll_interval(),
        Duration::from_secs(defaults::RSS_POLL_INTERVAL_SECS)
    );
    assert_eq!(
        spec.config.upstream().as_deref(),
        Some("news.example.cn:443")
    );
    assert_eq!(
        spec.config.max_requests_per_min(),
        Some(defaults::MAX_REQUESTS_PER_MIN)
    );
    let ConnectorConfig::Open311(online) = parse(ONLINE).unwrap().config else {
        panic!("open311 expected")
    };
    assert_eq!(online.window_days, defaults::OPEN311_WINDOW_DAYS);
    assert_eq!(online.max_results, defaults::OPEN311_MAX_RESULTS);
    let petition = parse(PETITION).unwrap().config;
    assert_eq!(petition.upstream(), None);
    assert_eq!(
        petition.poll_interval(),
        Duration::from_secs(defaults::FILE_DROP_POLL_INTERVAL_SECS)
    );
}

#[test]
fn a_misspelt_key_is_an_error_naming_the_key_and_the_file() {
    let text = HOTLINE.replace("poll_interval_secs", "pol_interval_secs");
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("pol_interval_secs"), "{err}");
    assert!(err.contains("config/connectors/sample.toml"), "{err}");

    let nested = HOTLINE.replace("page_size_param", "page_size_parm");
    let err = parse(&nested).unwrap_err().to_string();
    assert!(err.contains("page_size_parm"), "{err}");

    let auth = HOTLINE.replace("token_env", "token");
    let err = parse(&auth).unwrap_err().to_string();
    assert!(err.contains("token"), "{err}");
}

#[test]
fn an_unknown_type_lists_the_available_ones() {
    let err = parse("type = \"ftp\"\nchannel = \"petition\"\n")
        .unwrap_err()
        .to_string();
    for kind in ["ftp", "http_json", "open311", "rss", "file_drop"] {
        assert!(err.contains(kind), "{kind} missing from: {err}");
    }
    let err = parse(&MEDIA.replace("\"media\"", "\"tv\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tv") && err.contains("media"), "{err}");
}

#[test]
fn semantic_errors_name_the_source_and_field() {
    let spec = parse(&HOTLINE.replace("\"complainant.phone\"", "\"complainant.mobile\"")).unwrap();
    let err = spec.config.build("hotline", &env).unwrap_err().to_string();
    assert!(
        err.contains("hotline") && err.contains("complainant.mobile"),
        "{err}"
    );

    let spec = parse(HOTLINE).unwrap();
    let err = spec.config.build("hotline", &|_| None).unwrap_err();
    assert_eq!(
        err,
        ConfigError::MissingEnv {
            source_name: "hotline".into(),
            var: "HOTLINE_TOKEN".into()
        }
    );

    let spec =
        parse(&ONLINE.replace("jurisdiction_id", "window_days = 120\njurisdiction_id")).unwrap();
    let err = spec.config.build("online", &env).unwrap_err().to_string();
    assert!(err.contains("window_days"), "{err}");
}

#[test]
fn a_directory_loads_sorted_with_file_stems_as_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("media.toml"), MEDIA).unwrap();
    std::fs::write(dir.path().join("hotline.toml"), HOTLINE).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a connector").unwrap();
    let specs = load_dir(dir.path()).unwrap();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["hotline", "media"]);

    std::fs::write(
        dir.path().join("online.toml"),
        ONLINE.replace("base_url", "base_uri"),
    )
    .unwrap();
    let err = load_dir(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("online.toml") && err.contains("base_uri"),
        "{err}"
    );
    std::fs::remove_file(dir.path().join("online.toml")).unwrap();

    std::fs::write(dir.path().join("Bad Name.toml"), MEDIA).unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(err, ConfigError::SourceName { ref name, .. } if name == "Bad Name"),
        "{err}"
    );

    assert!(load_dir(&dir.path().join("missing")).unwrap().is_empty());
}

#[test]
fn a_callback_is_checked_when_the_source_is_built() {
    let with = |table: &str| format!("{HOTLINE}\n[callback]\n{table}\n");
    let spec = parse(&with(
        "url = \"https://12345.example.gov.cn/api/orders/{external_id}/result\"\n\
         secret_env = \"HOTLINE_CALLBACK_SECRET\"\n\
         [callback.fields]\norderNo = \"external_id\"\nresult = \"reply\"",
    ))
    .unwrap();
    let ConnectorConfig::HttpJson(config) = &spec.config else {
        panic!("an http_json source: {spec:?}");
    };
    let callback = config.callback.as_ref().unwrap();
    assert_eq!(callback.max_attempts, defaults::CALLBACK_MAX_ATTEMPTS);
    assert_eq!(callback.fields["result"], "reply");
    spec.config.build("hotline", &env).unwrap();

    let spec = parse(&with(
        "url = \"https://example.gov.cn/r\"\nsecret_env = \"S\"\n\
         [callback.fields]\nresult = \"answer\"",
    ))
    .unwrap();
    let err = spec.config.build("hotline", &env).unwrap_err().to_string();
    assert!(
        err.contains("callback.fields.result") && err.contains("reply"),
        "{err}"
    );
    let spec = parse(&with(
        "url = \"ftp://example.gov.cn/r\"\nsecret_env = \"S\"",
    ))
    .unwrap();
    let err = spec.config.build("hotline", &env).unwrap_err().to_string();
    assert!(err.contains("callback.url"), "{err}");
    let err = parse(&with(
        "url = \"https://example.gov.cn/r\"\nsecret = \"inline\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("secret"),
        "a secret is never written in the file: {err}"
    );
}
