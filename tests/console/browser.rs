//! The browser of the console's tests: chromedriver on a free loopback port, a headless
//! Chromium session through it, screenshots, the browser's log, and the checks every normal
//! page passes (no console error, no failed request, its `load` time printed); and the steps
//! every browser test takes: accounts made beside the gateway, signing in and out, going to a
//! page, filling and clicking, waiting for a text, a case step, and the session's cookie and
//! CSRF token for a request made without the browser.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common::{TestApp, binary, eventually};

/// A program on the PATH (or in `/usr/bin`), or a failure naming the Debian packages.
pub fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` was not found: the console's browser tests need Debian's Chromium and \
                 its WebDriver. Install them with \
                 `apt-get install -y --no-install-recommends chromium chromium-driver` \
                 (.ci/run does)."
            )
        })
}

/// chromedriver on a free loopback port; killed when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(program("chromedriver"))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let status = format!("{}/status", driver.url);
    let client = reqwest::Client::new();
    eventually("chromedriver answers", || async {
        let response = client.get(&status).send().await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;
    driver
}

pub async fn browser(driver: &Driver) -> Client {
    let chromium = program("chromium");
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                "--window-size=1280,800",
                "--lang=zh-CN",
            ],
        },
        "goog:loggingPrefs": {"browser": "ALL"},
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

/// Where screenshots go: `target/console-screenshots/`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a PNG of the current page as `name.png`.
pub async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

/// Prints the current page's `load` time (from navigation start; never asserted).
async fn print_load_time(client: &Client, page: &str) {
    let load = client
        .execute(
            "const n = performance.getEntriesByType('navigation')[0]; \
             return n ? n.loadEventEnd : null;",
            vec![],
        )
        .await
        .unwrap();
    println!("console page `{page}`: load event after {load} ms");
}

/// The browser's log since the last call (chromedriver's log endpoint).
pub async fn browser_log(client: &Client) -> Vec<Value> {
    let log = client
        .issue_cmd(logs::BrowserLog)
        .await
        .expect("chromedriver's browser log");
    log.as_array()
        .cloned()
        .expect("the log is a list of entries")
}

/// A normal page: no console error, no failed request; its load time printed.
pub async fn check_page(client: &Client, page: &str) {
    let errors: Vec<Value> = browser_log(client)
        .await
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "{page}: console errors {errors:?}");
    let failed = client
        .execute(
            "return performance.getEntriesByType('resource') \
               .filter(e => e.responseStatus >= 400) \
               .map(e => e.name + ' ' + e.responseStatus);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(failed, json!([]), "{page}: failed requests");
    let status = client
        .execute(
            "return performance.getEntriesByType('navigation')[0].responseStatus;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(200), "{page}: the page's own status");
    print_load_time(client, page).await;
}

/// chromedriver's log endpoint (`POST /session/{id}/se/log`), which fantoccini does not wrap.
mod logs {
    use fantoccini::wd::WebDriverCompatibleCommand;

    #[derive(Debug)]
    pub struct BrowserLog;

    impl WebDriverCompatibleCommand for BrowserLog {
        fn endpoint(
            &self,
            base_url: &url::Url,
            session_id: Option<&str>,
        ) -> Result<url::Url, url::ParseError> {
            base_url.join(&format!(
                "session/{}/se/log",
                session_id.unwrap_or_default()
            ))
        }

        fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
            (
                http::Method::POST,
                Some(r#"{"type":"browser"}"#.to_string()),
            )
        }
    }
}

/// One browser test at a time: each test of this binary holds this while it drives Chromium
/// (the tests run on parallel threads otherwise, and two browsers would share two cores).
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    BROWSER.lock().await
}

// The steps the browser tests share.

pub const PASSWORD: &str = "控制台测试 2026";

pub async fn goto(client: &Client, app: &TestApp, path: &str) {
    client.goto(&format!("{}{path}", app.base)).await.unwrap();
}

pub async fn path_now(client: &Client) -> String {
    client.current_url().await.unwrap().path().to_string()
}

/// Fills the login form and submits it.
pub async fn log_in(client: &Client, app: &TestApp, name: &str) {
    goto(client, app, "/console").await;
    assert_eq!(
        path_now(client).await,
        "/console/login",
        "signed out: to the login"
    );
    submit_login(client, name, PASSWORD).await;
    let home: url::Url = format!("{}/console", app.base).parse().unwrap();
    client.wait().for_url(&home).await.unwrap();
}

pub async fn log_out(client: &Client, app: &TestApp) {
    client
        .find(Locator::Css("#logout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let login: url::Url = format!("{}/console/login", app.base).parse().unwrap();
    client.wait().for_url(&login).await.unwrap();
    let _ = browser_log(client).await;
}

/// Submits the case page's form of `action` (its button follows the hidden `action` field).
pub async fn take_step(client: &Client, action: &str, shown_after: &str) {
    client
        .find(Locator::Css(&format!(
            "form input[name=action][value={action}] ~ button"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually(&format!("the case shows {shown_after}"), || async {
        let source = client.source().await.ok()?;
        source.contains(shown_after).then_some(())
    })
    .await;
}

/// Creates `name` with a password (the command line, beside the running gateway).
pub fn add_user(app: &TestApp, name: &str, args: &[&str]) {
    use std::io::Write;
    let mut child = Command::new(binary())
        .arg("--data-dir")
        .arg(app.data_dir())
        .args(["user", "add", name, "--password-stdin"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "user add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pushes `item` and answers its case id once routed.
pub async fn routed_case(app: &TestApp, item: &Value) -> (String, String) {
    let id = app.push_for_id(item).await;
    let classified = app.classified(&id).await;
    let case = classified["route"]["route_key"]
        .as_str()
        .unwrap()
        .to_string();
    (id, case)
}

/// Clicks the link `css` and waits until the browser is at `path`.
pub async fn follow_link(client: &Client, app: &TestApp, css: &str, path: &str) {
    click(client, css).await;
    let url: url::Url = format!("{}{path}", app.base).parse().unwrap();
    client.wait().for_url(&url).await.unwrap();
}

/// The JSON answer of the API's `path` to a request carrying the browser's session `cookie`.
pub async fn get_json_with(app: &TestApp, cookie: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Fills the login form on the page with `name` and `password` and sends it.
pub async fn submit_login(client: &Client, name: &str, password: &str) {
    fill(client, "name", name).await;
    fill(client, "password", password).await;
    click(client, ".login button[type=submit]").await;
}

/// Types `text` into the field `id`.
pub async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits until the page holds `text`, and answers the page.
pub async fn shows(client: &Client, text: &str) -> String {
    eventually(&format!("the page shows {text}"), || async {
        let source = client.source().await.ok()?;
        source.contains(text).then_some(source)
    })
    .await
}

/// The browser's session cookie, as a `cookie` header's value (for a request made beside it).
pub async fn session_cookie(client: &Client) -> String {
    let cookie = client.get_named_cookie("cg_session").await.unwrap();
    format!("cg_session={}", cookie.value())
}

/// The page's CSRF token (every signed-in page's logout form carries it).
pub async fn csrf_token(client: &Client) -> String {
    client
        .find(Locator::Css("#logout input[name=csrf]"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .expect("every form carries the token")
}

/// Signs in as `name` and opens `path`.
pub async fn sign_in_at(client: &Client, app: &TestApp, name: &str, path: &str) {
    log_in(client, app, name).await;
    goto(client, app, path).await;
}
