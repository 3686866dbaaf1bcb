//! The browser of the console's tests: chromedriver on a free loopback port, a headless
//! Chromium session through it, screenshots, the browser's log, and the checks every normal
//! page passes (no console error, no failed request, its `load` time printed).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::common::eventually;

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
