//! The HTTP edge: timeouts on slow and idle connections, the connection cap, webhook requests
//! refused before their body is read, the refusal rate limit, and one error shape on every
//! route (walked from the served OpenAPI document, so a route added later is covered).
//!
//! Timing is asserted only as "closed within a bound", with generous margins over the
//! 1-second limits these tests configure.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{SECRET, TestApp, complaint};
use complaint_gateway::webhook::auth::sign;

/// Limits of one second (the idle timer must outlast the request timeout).
const FAST_LIMITS: &str = "
[http]
header_read_timeout_secs = 1
request_timeout_secs = 2
idle_timeout_secs = 3
body_grace_secs = 1
body_min_bytes_per_sec = 1000
";

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads until the peer closes (or fails the connection); what arrived and when it ended.
async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(
            tokio::time::Instant::from_std(started + bound),
            stream.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "connection still open after {bound:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

/// The JSON body of a raw HTTP answer.
fn body_of(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer:?}"))
}

/// Asserts the documented error shape and returns its code.
fn error_code(body: &Value) -> String {
    let code = body["error"]["code"].as_str();
    assert!(
        code.is_some_and(|c| !c.is_empty()) && body["error"]["message"].is_string(),
        "not the error shape: {body}"
    );
    code.unwrap().to_string()
}

/// Another client is served (a fresh one: pooled connections end with the short timeouts).
async fn served_healthz(app: &TestApp) {
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn slow_headers_and_idle_keep_alive_are_closed_while_others_are_served() {
    let app = TestApp::start_with(FAST_LIMITS).await;
    // Headers started, never finished.
    let mut slow = TcpStream::connect(address(&app)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    // A whole request, then nothing: the connection idles in keep-alive.
    let mut idle = TcpStream::connect(address(&app)).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    // Connected, not a byte sent.
    let mut silent = TcpStream::connect(address(&app)).await.unwrap();
    served_healthz(&app).await;
    let bound = Duration::from_secs(6);
    let ((_, slow_after), (idle_answer, idle_after), (_, silent_after)) = tokio::join!(
        read_until_closed(&mut slow, bound),
        read_until_closed(&mut idle, bound),
        read_until_closed(&mut silent, bound),
    );
    assert!(idle_answer.starts_with("HTTP/1.1 200"), "{idle_answer}");
    served_healthz(&app).await;
    eprintln!("closed after: slow {slow_after:?}, idle {idle_after:?}, silent {silent_after:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_and_closed() {
    let app = TestApp::start_with(FAST_LIMITS).await;
    let body = complaint("stall-1", "噪音", "夜间施工噪音扰民。").to_string();
    let ts = chrono::Utc::now().timestamp();
    let signature = sign(SECRET.as_bytes(), ts, body.as_bytes());
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    let head = format!(
        "POST /v1/webhooks/demo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nx-signature-timestamp: {ts}\r\nx-signature: {signature}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    // Meanwhile another client is served.
    served_healthz(&app).await;
    let (answer, after) = read_until_closed(&mut stream, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(error_code(&body_of(&answer)), "body_too_slow");
    eprintln!("stalled body answered and closed after {after:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_request_over_its_time_is_408_in_the_error_shape() {
    // The body rate is lenient here, so the whole-request timeout is what ends the request.
    let app = TestApp::start_with(
        "\n[http]\nrequest_timeout_secs = 1\nidle_timeout_secs = 5\nbody_grace_secs = 60\n",
    )
    .await;
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    stream
        .write_all(
            b"POST /v1/cases/c-1/merge HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{\"fr",
        )
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(error_code(&body_of(&answer)), "request_timeout");
    app.stop().await;
}

#[tokio::test]
async fn over_the_connection_cap_is_a_503_in_the_error_shape() {
    let app = TestApp::start_with("\n[http]\nmax_connections = 3\n").await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(TcpStream::connect(address(&app)).await.unwrap());
    }
    let mut refused = 0;
    for stream in &mut held {
        let _ = stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await;
        let (answer, _) = read_until_closed(stream, Duration::from_secs(5)).await;
        if answer.starts_with("HTTP/1.1 503") {
            assert!(
                answer.to_lowercase().contains("connection: close"),
                "{answer}"
            );
            assert_eq!(error_code(&body_of(&answer)), "too_many_connections");
            refused += 1;
        } else {
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
    }
    assert!(
        refused >= 2,
        "5 connections over a cap of 3: {refused} refused"
    );
    drop(held);
    // The slots come back when connections close.
    crate::common::eventually("served again under the cap", || async {
        let client = reqwest::Client::new();
        let response = client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .ok()?;
        (response.status() == 200).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn unsigned_large_bodies_are_refused_before_they_are_sent() {
    // Refusals are not limited here: this is about when they happen.
    let app = TestApp::start_with("\n[http]\nrefusal_burst = 1000\n").await;
    let declared = (9 << 20) + (512 << 10);
    let mut streams = Vec::new();
    for n in 0..20 {
        let mut stream = TcpStream::connect(address(&app)).await.unwrap();
        // Alternately without any signature and with one signed an hour ago.
        let signature = if n % 2 == 0 {
            String::new()
        } else {
            let ts = chrono::Utc::now().timestamp() - 3600;
            format!(
                "x-signature-timestamp: {ts}\r\nx-signature: {}\r\n",
                sign(SECRET.as_bytes(), ts, b"whatever")
            )
        };
        let head = format!(
            "POST /v1/webhooks/demo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: {declared}\r\n{signature}\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // Half of them send a first slice of the body, as a client that does not wait would;
        // the rest of the 9.5 MiB is never sent.
        if n % 4 < 2 {
            stream.write_all(&[b' '; 256 << 10]).await.unwrap();
        }
        streams.push((n, stream));
    }
    for (n, stream) in &mut streams {
        // The answer comes with at most 256 KiB of the 9.5 MiB sent, and is not lost to a
        // reset although the gateway never reads the body.
        let mut buf = vec![0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("answered before the body was sent")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..read]).into_owned();
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        let code = error_code(&body_of(&answer));
        let expected = if *n % 2 == 0 {
            "timestamp_missing"
        } else {
            "signature_expired"
        };
        assert_eq!(code, expected);
    }
    // Signed senders are unaffected.
    let body = complaint("edge-ok", "路灯", "路灯不亮。");
    assert_eq!(app.push(&body).await.status(), 202);
    app.stop().await;
}

#[tokio::test]
async fn refusals_past_the_burst_are_429_with_retry_after() {
    let app = TestApp::start_with("\n[http]\nrefusals_per_min = 1\nrefusal_burst = 3\n").await;
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let response = app
            .client
            .post(format!("{}/v1/webhooks/demo", app.base))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        last = Some(response);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    let last = last.unwrap();
    let retry_after: u64 = last.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = last.json().await.unwrap();
    assert_eq!(error_code(&body), "too_many_refusals");
    // Accepted requests take nothing from the allowance: a signed push still goes through.
    let ok = complaint("edge-after-refusals", "供水", "停水三天。");
    assert_eq!(app.push(&ok).await.status(), 202);
    app.stop().await;
}

async fn shape_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{status} answered {content_type:?}: {text}"
    );
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn unknown_routes_methods_and_bodies_answer_the_error_shape() {
    let app = TestApp::start().await;
    let (status, body) = shape_of(app.get("/no/such/route").await).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));

    let response = app
        .client
        .delete(format!("{}/v1/cases", app.base))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("allow"));
    let (status, body) = shape_of(response).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (405, "method_not_allowed")
    );

    let post = |path: &str, content_type: &str, body: &str| {
        app.client
            .post(format!("{}{path}", app.base))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
    };
    let (status, body) = shape_of(
        post("/v1/cases/c-1/merge", "application/json", "{")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "malformed_json")
    );
    let (status, body) = shape_of(
        post("/v1/cases/c-1/merge", "application/json", "{}")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (422, "invalid_body"));
    let (status, body) = shape_of(
        post("/v1/cases/c-1/merge", "text/plain", "{}")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (415, "unsupported_media_type")
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_parameters_and_values_are_400s_naming_them() {
    let app = TestApp::start().await;
    let (status, body) = shape_of(app.get("/v1/search?chanel=hotline").await).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "unknown_parameter")
    );
    assert_eq!(body["error"]["parameter"], "chanel");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("chanel")
    );

    for (path, parameter, allowed) in [
        ("/v1/search?channel=hotlne", "channel", "hotline"),
        ("/v1/search?priority=asap", "priority", "urgent"),
        ("/v1/search?status=bogus", "status", "investigating"),
        ("/v1/cases?status=bogus", "status", "investigating"),
    ] {
        let (status, body) = shape_of(app.get(path).await).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (400, "invalid_parameter"),
            "{path}"
        );
        assert_eq!(body["error"]["parameter"], parameter, "{path}");
        let listed = body["error"]["allowed"].as_array().unwrap();
        assert!(listed.iter().any(|v| v == allowed), "{path}: {body}");
    }
    let (status, body) = shape_of(app.get("/v1/search?sort=oldest").await).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "invalid_parameter")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("newest"),
        "{body}"
    );
    let (status, body) = shape_of(app.get("/v1/outbox?state=gone").await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["allowed"][0], "pending");

    // Valid values still filter as before.
    assert_eq!(app.get("/v1/search?channel=hotline").await.status(), 200);
    assert_eq!(app.get("/v1/cases?status=open").await.status(), 200);
    app.stop().await;
}

/// Every route of the served OpenAPI document, and those outside it: with an unknown query
/// parameter, with a path parameter that is not UTF-8, and with a method it does not take,
/// each answer is >= 400 in the error shape.
#[tokio::test]
async fn every_route_answers_bad_requests_in_the_error_shape() {
    let app = TestApp::start().await;
    let document = app.get_json("/openapi.json").await;
    let mut routes: Vec<(String, String)> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        // The Open311 server answers in its spec's error shape (tests/integration/open311*).
        if path.starts_with("/open311/") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase(), path.clone()));
        }
    }
    assert!(routes.len() >= 20, "{routes:?}");
    // Served but not in the document.
    routes.push(("GET".into(), "/metrics".into()));
    routes.push(("GET".into(), "/openapi.json".into()));
    let fill = |path: &str, value: &str| {
        path.split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    value
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    };
    for (method, path) in &routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let send = |url: String, method: reqwest::Method| {
            app.client
                .request(method, url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
        };
        // An unknown query parameter.
        let url = format!("{}{}?zz_unknown=1", app.base, fill(path, "x"));
        let (status, body) = shape_of(send(url, method.clone()).await.unwrap()).await;
        assert_eq!(status, 400, "{method} {path}: {body}");
        assert_eq!(error_code(&body), "unknown_parameter", "{method} {path}");
        assert_eq!(body["error"]["parameter"], "zz_unknown", "{method} {path}");
        // A path parameter that is not UTF-8.
        if path.contains('{') {
            let url = format!("{}{}", app.base, fill(path, "%FF"));
            let (status, body) = shape_of(send(url, method.clone()).await.unwrap()).await;
            assert!(status >= 400, "{method} {path} with %FF: {status}");
            error_code(&body);
        }
        // A method the route does not take.
        let url = format!("{}{}", app.base, fill(path, "x"));
        let (status, body) = shape_of(send(url, reqwest::Method::PATCH).await.unwrap()).await;
        assert_eq!(status, 405, "PATCH {path}: {body}");
        assert_eq!(error_code(&body), "method_not_allowed");
    }
    app.stop().await;
}
