//! The Open311 GeoReport v2 server on a running gateway: discovery, services and requests in
//! JSON and XML (element names and nesting asserted against fixtures written here from the
//! spec's field names), keys refused, each client's own requests only, the POST cap and the
//! rate limit. The workflow's view of a request is in `open311_flow`.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use quick_xml::events::Event;
use serde_json::{Value, json};

use super::import_export::run_beside;
use crate::common::TestApp;

/// Registers client `name` at the command line; its api_key.
pub async fn client_key(app: &TestApp, name: &str) -> String {
    let (ok, stdout, stderr) =
        run_beside(&app.data_dir(), &["open311", "client", "add", name], None).await;
    assert!(ok, "{stderr}");
    assert!(stderr.contains("shown once"), "{stderr}");
    stdout.trim().to_string()
}

/// `pairs` as `application/x-www-form-urlencoded`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// GETs `/open311/v2/{path}` with `api_key` (and more query pairs); status, content type, body.
pub async fn get(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    query: &[(&str, &str)],
) -> (u16, String, String) {
    let mut pairs: Vec<(&str, &str)> = query.to_vec();
    if let Some(key) = key {
        pairs.push(("api_key", key));
    }
    let url = format!("{}/open311/v2/{path}?{}", app.base, form(&pairs));
    let response = app.client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (status, content_type, response.text().await.unwrap())
}

/// GETs JSON; asserts 200.
pub async fn get_json(app: &TestApp, path: &str, key: &str, query: &[(&str, &str)]) -> Value {
    let (status, content_type, body) = get(app, path, Some(key), query).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    serde_json::from_str(&body).unwrap()
}

/// POSTs a form to `requests.{format}`; status, headers' Retry-After, body.
pub async fn post(app: &TestApp, format: &str, body: String) -> (u16, Option<String>, String) {
    let response = app
        .client
        .post(format!("{}/open311/v2/requests.{format}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, retry, response.text().await.unwrap())
}

/// The complainant [`file`] files for.
pub const ZHANG: [(&str, &str); 4] = [
    ("first_name", "三"),
    ("last_name", "张"),
    ("phone", "13800138000"),
    ("email", "zhang@example.org"),
];

/// Files a request for `key` by the complainant [`ZHANG`]; its (service_request_id, token).
pub async fn file(app: &TestApp, key: &str, description: &str) -> (String, String) {
    file_by(app, key, description, &ZHANG).await
}

/// Files a request for `key` by the complainant `who` (the complaints of one complainant may
/// be grouped into one case).
pub async fn file_by(
    app: &TestApp,
    key: &str,
    description: &str,
    who: &[(&str, &str)],
) -> (String, String) {
    let mut pairs = vec![
        ("api_key", key),
        ("service_code", "general"),
        ("description", description),
        ("lat", "30.59"),
        ("long", "114.31"),
        ("address_string", "人民路 1 号"),
        ("media_url", "https://photos.example.org/1.jpg"),
        ("attribute[window]", "3"),
    ];
    pairs.extend_from_slice(who);
    let body = form(&pairs);
    let (status, _, answer) = post(app, "json", body).await;
    assert_eq!(status, 201, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    (
        answer[0]["service_request_id"]
            .as_str()
            .unwrap()
            .to_string(),
        answer[0]["token"].as_str().unwrap().to_string(),
    )
}

/// An XML element: name, text, children.
#[derive(Debug)]
pub struct El {
    pub name: String,
    pub text: String,
    pub children: Vec<El>,
}

impl El {
    pub fn parse(text: &str) -> El {
        let mut reader = quick_xml::Reader::from_str(text);
        let mut stack: Vec<El> = Vec::new();
        let new = |name: &str| El {
            name: name.to_string(),
            text: String::new(),
            children: Vec::new(),
        };
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) => stack.push(new(e.name().as_ref())),
                Event::Empty(e) => stack
                    .last_mut()
                    .unwrap()
                    .children
                    .push(new(e.name().as_ref())),
                Event::End(_) => {
                    let done = stack.pop().unwrap();
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return done,
                    }
                }
                Event::Text(t) => stack.last_mut().unwrap().text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    let c = match &*r {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        _ => "'",
                    };
                    stack.last_mut().unwrap().text.push_str(c);
                }
                Event::Eof => panic!("no root element in {text}"),
                _ => {}
            }
        }
    }

    pub fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn child(&self, name: &str) -> &El {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {:?}", self.name, self.names()))
    }
}

/// The elements of a service request, in the spec's order.
pub const REQUEST_FIELDS: [&str; 17] = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];

#[tokio::test]
async fn discovery_and_services_answer_the_specs_fields_in_json_and_xml() {
    let app = TestApp::start().await;
    let key = client_key(&app, "city-app").await;

    let discovery = get_json(&app, "discovery.json", &key, &[]).await;
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(endpoint["type"], "production");
    assert!(
        endpoint["url"].as_str().unwrap().ends_with("/open311/v2"),
        "{endpoint}"
    );
    assert_eq!(endpoint["formats"], json!(["application/json", "text/xml"]));
    let (status, content_type, xml) = get(&app, "discovery.xml", Some(&key), &[]).await;
    assert_eq!(status, 200, "{xml}");
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    let root = El::parse(&xml);
    assert_eq!(root.name, "discovery");
    assert_eq!(
        root.names(),
        ["changeset", "contact", "key_service", "endpoints"]
    );
    let endpoint = root.child("endpoints").child("endpoint");
    assert_eq!(
        endpoint.names(),
        ["specification", "url", "changeset", "type", "formats"]
    );
    assert_eq!(endpoint.child("formats").names(), ["format", "format"]);

    let services = get_json(&app, "services.json", &key, &[]).await;
    let delay = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "approval_delay")
        .unwrap_or_else(|| panic!("{services}"));
    assert_eq!(delay["metadata"], false);
    assert_eq!(delay["type"], "realtime");
    assert_eq!(delay["group"], "市监察局");
    assert!(
        delay["keywords"].as_str().unwrap().contains("不予受理,"),
        "{delay}"
    );
    assert!(
        delay["service_name"].as_str().unwrap().contains("不予受理"),
        "{delay}"
    );
    let (_, _, xml) = get(&app, "services.xml", Some(&key), &[]).await;
    let root = El::parse(&xml);
    assert_eq!(root.name, "services");
    assert_eq!(root.children.len(), services.as_array().unwrap().len());
    let first = &root.children[0];
    assert_eq!(first.name, "service");
    assert_eq!(
        first.names(),
        [
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group"
        ]
    );
    assert_eq!(first.child("metadata").text, "false");

    // The OpenAPI document lists the routes under their own tag, with the api_key scheme.
    let openapi = app.get_json("/openapi.json").await;
    let list = &openapi["paths"]["/open311/v2/{file}"]["get"];
    assert_eq!(list["tags"], json!(["open311"]), "{list}");
    assert_eq!(list["security"], json!([{"api_key": []}]));
    assert_eq!(
        openapi["components"]["securitySchemes"]["api_key"]["in"],
        "query"
    );
    assert!(openapi["paths"]["/open311/v2/{file}"]["post"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn a_request_is_filed_read_back_and_listed_in_json_and_xml_without_the_complainant() {
    let app = TestApp::start().await;
    let key = client_key(&app, "city-app").await;
    let (id, token) = file(&app, &key, "窗口工作人员推诿，请回电 13912345678。").await;
    assert!(token.starts_with("o311-"), "{token}");

    // The same POST again (an app's retry) answers the same request, 200.
    let again = form(&[
        ("api_key", key.as_str()),
        ("service_code", "general"),
        ("description", "另一件事：办证窗口排长队。"),
    ]);
    let (status, _, first) = post(&app, "xml", again.clone()).await;
    assert_eq!(status, 201, "{first}");
    let root = El::parse(&first);
    assert_eq!(root.name, "service_requests");
    let filed = root.child("request");
    assert_eq!(
        filed.names(),
        [
            "service_request_id",
            "token",
            "service_notice",
            "account_id"
        ]
    );
    let second_id = filed.child("service_request_id").text.clone();
    let (status, _, repeated) = post(&app, "xml", again).await;
    assert_eq!(status, 200, "{repeated}");
    assert_eq!(
        El::parse(&repeated)
            .child("request")
            .child("service_request_id")
            .text,
        second_id
    );

    let one = get_json(&app, &format!("requests/{id}.json"), &key, &[]).await;
    let request = one
        .as_array()
        .unwrap()
        .first()
        .unwrap()
        .as_object()
        .unwrap();
    let mut keys: Vec<&str> = request.keys().map(String::as_str).collect();
    keys.sort();
    let mut expected = REQUEST_FIELDS.to_vec();
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(request["service_request_id"], json!(id));
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "general");
    assert_eq!(request["service_name"], "其他效能问题");
    assert_eq!(request["address"], "人民路 1 号");
    assert_eq!(request["lat"], 30.59);
    assert_eq!(request["long"], 114.31);
    assert_eq!(request["media_url"], "https://photos.example.org/1.jpg");
    let description = request["description"].as_str().unwrap();
    assert!(description.starts_with("窗口工作人员推诿"), "{description}");
    let text = serde_json::to_string(&one).unwrap();
    for personal in ["13912345678", "13800138000", "zhang@example.org", "张三"] {
        assert!(!text.contains(personal), "{personal} shown: {text}");
    }
    chrono::DateTime::parse_from_rfc3339(request["requested_datetime"].as_str().unwrap()).unwrap();
    chrono::DateTime::parse_from_rfc3339(request["updated_datetime"].as_str().unwrap()).unwrap();

    let (status, _, xml) = get(&app, &format!("requests/{id}.xml"), Some(&key), &[]).await;
    assert_eq!(status, 200, "{xml}");
    let root = El::parse(&xml);
    assert_eq!(root.name, "service_requests");
    assert_eq!(root.names(), ["request"]);
    assert_eq!(root.child("request").names(), REQUEST_FIELDS);
    assert_eq!(root.child("request").child("status").text, "open");
    assert!(!xml.contains("13800138000"), "{xml}");

    let resolved = get_json(&app, &format!("tokens/{token}.json"), &key, &[]).await;
    assert_eq!(
        resolved,
        json!([{"service_request_id": id, "token": token}])
    );
    let (_, _, xml) = get(&app, &format!("tokens/{token}.xml"), Some(&key), &[]).await;
    let root = El::parse(&xml);
    assert_eq!(
        root.child("request").names(),
        ["service_request_id", "token"]
    );

    let listed = get_json(&app, "requests.json", &key, &[]).await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert!(ids.contains(&id.as_str()) && ids.contains(&second_id.as_str()));
    let both = format!("{id},{second_id}");
    let by_id = get_json(
        &app,
        "requests.json",
        &key,
        &[("service_request_id", &both)],
    )
    .await;
    assert_eq!(by_id.as_array().unwrap().len(), 2);
    let closed = get_json(&app, "requests.json", &key, &[("status", "closed")]).await;
    assert_eq!(closed, json!([]));
    let open = get_json(&app, "requests.json", &key, &[("status", "open")]).await;
    assert_eq!(open.as_array().unwrap().len(), 2);
    let other = get_json(
        &app,
        "requests.json",
        &key,
        &[("service_code", "approval_delay")],
    )
    .await;
    assert_eq!(other, json!([]));
    let long_ago = [
        ("start_date", "2020-01-01T00:00:00Z"),
        ("end_date", "2020-02-01T00:00:00Z"),
    ];
    assert_eq!(
        get_json(&app, "requests.json", &key, &long_ago).await,
        json!([])
    );
    let (status, _, _) = get(
        &app,
        "requests.json",
        Some(&key),
        &[
            ("start_date", "2020-01-01T00:00:00Z"),
            ("end_date", "2020-06-01T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(status, 400, "more than 90 days");
    let (_, _, xml) = get(&app, "requests.xml", Some(&key), &[]).await;
    assert_eq!(El::parse(&xml).names(), ["request", "request"]);

    // The complaint went through intake as the client's own source, channel online.
    let complaint = app.get_json(&format!("/v1/complaints/{id}")).await;
    assert_eq!(complaint["source"], "open311:city-app");
    assert_eq!(complaint["channel"], "online");
    app.stop().await;
}
