//! The dashboard in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver) against the server on a random port. A head-office user signs in, sees the month's
//! figures and the charts drawn, sees which units have not submitted, filters a list, switches to
//! English, and downloads the Service Bulletin as XLSX, which is read back. A screenshot of the
//! overview is kept in `target/test-artifacts/overview.png`.
//!
//! `scripts/test` installs Chromium and chromedriver when missing and sets
//! `HUIFANG_REQUIRE_BROWSER=1`, so under the test command a missing browser fails the test; run
//! alone without them, it says SKIPPED.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use calamine::{Reader, Xlsx};
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, spawn_app};
use crate::reports::{Fate, make_month};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Option<Driver> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            assert!(
                std::env::var_os("HUIFANG_REQUIRE_BROWSER").is_none(),
                "Chromium and chromedriver are required (apt-get install chromium chromium-driver)"
            );
            eprintln!("SKIPPED: {CHROMIUM} or {CHROMEDRIVER} is not installed");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Driver { child, url });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not listen on {port}");
    }

    async fn browser(&self, downloads: &Path, profile: &Path) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1400,1100",
                    "--lang=zh-CN",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                    "intl.accept_languages": "zh-CN",
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Where test artifacts (the screenshot) are kept: `target/test-artifacts`.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact folder");
    dir
}

async fn text(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("element text")
}

/// Waits for a file to appear in `dir` and finish downloading.
async fn downloaded(dir: &Path, suffix: &str) -> Vec<u8> {
    for _ in 0..200 {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(suffix) {
                    return std::fs::read(entry.path()).expect("the downloaded file");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {suffix} file was downloaded into {}", dir.display());
}

#[tokio::test]
async fn head_office_signs_in_sees_the_month_and_downloads_the_bulletin() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await.expect("SQLite app");
    prepare_month(&app).await;
    let downloads = tempfile::tempdir().expect("download folder");
    let profile = tempfile::tempdir().expect("browser profile");
    let browser = driver.browser(downloads.path(), profile.path()).await;
    // Run the walk in its own task so that the browser is closed even when an assertion fails.
    let walk = {
        let browser = browser.clone();
        let folder = downloads.path().to_owned();
        tokio::spawn(async move { walk_through(&app, &browser, &folder).await })
    };
    let outcome = walk.await;
    browser.close().await.expect("browser closes");
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

/// Sheets of several levels, follow-ups done and overdue, and one unit's submission.
async fn prepare_month(app: &TestApp) {
    let sheets: Vec<(usize, usize, Fate)> = [
        Fate::Done(5),
        Fate::Done(4),
        Fate::Open,
        Fate::Unreachable,
        Fate::Done(2),
        Fate::Accepted,
        Fate::Open,
        Fate::Done(3),
    ]
    .iter()
    .enumerate()
    .map(|(n, fate)| (n, n, *fate))
    .collect();
    make_month(app, &sheets, true, false).await;
    let office_head = app.login("bsw.office.head", PASSWORD).await;
    let month = huifang_core::plans::Month::of(app.now(), app.config.time_zone);
    app.post_ok(
        &office_head,
        &format!("/api/v1/reports/submissions/{month}"),
        json!({}),
        StatusCode::CREATED,
    )
    .await;
}

async fn walk_through(app: &TestApp, browser: &Client, downloads: &Path) {
    // Signing in: the dashboard sends a stranger to the sign-in page, in Chinese.
    browser.goto(&app.url("/app")).await.expect("open /app");
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/app/login")
    );
    assert_eq!(text(browser, "#sign-in").await, "登录");
    browser
        .find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("dev.head")
        .await
        .unwrap();
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    browser
        .find(Locator::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The overview: the month's figures as the API gives them, the charts drawn.
    let drawn = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#chart-units[data-rendered='true']"))
        .await;
    if drawn.is_err() {
        let shot = browser.screenshot().await.unwrap_or_default();
        std::fs::write(artifacts().join("overview-failed.png"), shot).ok();
        let state = browser
            .execute(
                "return [location.href, typeof echarts, document.querySelector('#chart-units') && document.querySelector('#chart-units').outerHTML];",
                vec![],
            )
            .await;
        panic!("the charts were not drawn: {state:?}");
    }
    assert_eq!(browser.current_url().await.unwrap().path(), "/app");
    let dev = app.login("dev.head", PASSWORD).await;
    let month = huifang_core::plans::Month::of(app.now(), app.config.time_zone);
    let figures = app
        .get_json(&dev, &format!("/api/v1/reports/figures?from={month}"))
        .await;
    let card = text(browser, "#card-follow_ups_done .value").await;
    assert_eq!(card, figures["groups"][0]["follow_ups_done"].to_string());
    assert!(text(browser, "h1").await.contains("回访概览"));
    for chart in ["trend", "satisfaction", "categories", "units"] {
        let canvases = browser
            .find_all(Locator::Css(&format!(
                "#chart-{chart}[data-rendered='true'] canvas"
            )))
            .await
            .unwrap();
        assert!(!canvases.is_empty(), "chart {chart} has a canvas");
    }
    // Which units have not submitted: the office has, the others not.
    let missing = text(browser, "#not-submitted").await;
    assert!(
        missing.contains("营销部") && missing.contains("碧水湾销售现场"),
        "{missing}"
    );
    assert!(!missing.contains("碧水湾物业管理处"), "{missing}");
    let screenshot = browser.screenshot().await.expect("a screenshot");
    assert_eq!(&screenshot[1..4], b"PNG");
    std::fs::write(artifacts().join("overview.png"), &screenshot).expect("save the screenshot");

    // A list filtered by complaint level: the rows are exactly the API's (the development
    // department calls customers about major complaints, so it sees their phones as the API
    // gives them; the masking for other roles is tested in dashboard.rs).
    browser.goto(&app.url("/app/sheets")).await.unwrap();
    browser
        .find(Locator::Css("select[name='level']"))
        .await
        .unwrap()
        .select_by_value("ordinary")
        .await
        .unwrap();
    click_then_wait(
        browser,
        "apply-filters",
        "select[name='level'] option[value='ordinary'][selected]",
        "the filtered page",
    )
    .await;
    let url = browser.current_url().await.unwrap();
    assert!(
        url.query().is_some_and(|q| q.contains("level=ordinary")),
        "{url}"
    );
    let api = app
        .get_json(&dev, "/api/v1/sheets?level=ordinary&limit=500")
        .await;
    let rows = browser
        .find_all(Locator::Css("#list-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len() as i64, api["total"].as_i64().unwrap());
    assert!(!rows.is_empty());
    let phones: Vec<&str> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["contact_phone"].as_str().unwrap())
        .collect();
    for (row, phone) in rows.iter().zip(phones) {
        let cells = row.find_all(Locator::Css("td")).await.unwrap();
        assert_eq!(cells[5].text().await.unwrap(), "一般");
        assert_eq!(cells[3].text().await.unwrap(), phone);
    }

    // The Service Bulletin, printable, downloaded as XLSX and read back.
    browser.goto(&app.url("/app/bulletin")).await.unwrap();
    assert!(text(browser, "h1").await.starts_with("服务简报"));
    browser
        .find(Locator::Id("bulletin-xlsx"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let bytes = downloaded(downloads, ".xlsx").await;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("an XLSX workbook");
    assert_eq!(
        workbook.sheet_names(),
        vec!["本月概况", "各单位", "满意度趋势", "投诉类别", "逾期回访"]
    );
    let headline = workbook.worksheet_range("本月概况").unwrap();
    assert_eq!(headline.get_value((0, 0)).unwrap().to_string(), "指标");
    let done_row = (1..headline.height() as u32)
        .find(|r| *headline.get_value((*r, 0)).unwrap() == "已回访")
        .expect("the done line");
    assert_eq!(
        headline.get_value((done_row, 1)).unwrap().to_string(),
        figures["groups"][0]["follow_ups_done"].to_string()
    );

    // English on request, and it stays chosen.
    switch_language(browser, "en").await;
    assert!(text(browser, "h1").await.starts_with("Service Bulletin"));
    browser.goto(&app.url("/app")).await.unwrap();
    assert!(text(browser, "h1").await.contains("Follow-up overview"));

    // #19: every page in both languages — a screenshot of each, and on a Chinese page no
    // English sentence.
    let sheet = app.get_json(&dev, "/api/v1/sheets?limit=1").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let follow_up = app.get_json(&dev, "/api/v1/followups?limit=1").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut pages: Vec<(String, String)> = [
        "overview",
        "bulletin",
        "submissions",
        "sheets",
        "follow-ups",
        "overdue",
        "plans",
        "surveys",
        "devices",
        "analyses",
    ]
    .iter()
    .map(|name| {
        let path = if *name == "overview" {
            "/app".to_owned()
        } else {
            format!("/app/{name}")
        };
        ((*name).to_owned(), path)
    })
    .collect();
    pages.push(("sheet".into(), format!("/app/sheets/{sheet}")));
    pages.push(("follow-up".into(), format!("/app/follow-ups/{follow_up}")));
    let shots = artifacts().join("pages");
    std::fs::create_dir_all(&shots).unwrap();
    for lang in ["en", "zh-CN"] {
        if lang == "zh-CN" {
            switch_language(browser, lang).await;
        }
        for (name, path) in &pages {
            browser.goto(&app.url(path)).await.unwrap();
            let heading = text(browser, "h1").await;
            assert!(!heading.is_empty(), "{path} in {lang}");
            let shot = browser.screenshot().await.expect("a screenshot");
            std::fs::write(shots.join(format!("{name}-{lang}.png")), shot).unwrap();
            if lang == "zh-CN" {
                let body = text(browser, "body").await;
                if let Some(sentence) = english_sentence(&body) {
                    panic!("{path} in Chinese has English: {sentence:?}");
                }
            }
        }
    }
}

/// Follows the page's language link and waits for the page in `lang` (`en`, `zh-CN`).
async fn switch_language(browser: &Client, lang: &str) {
    click_then_wait(
        browser,
        "lang-switch",
        &format!("html[lang='{lang}']"),
        &format!("the page in {lang}"),
    )
    .await;
}

/// Clicks the element with id `id` and waits for the page that shows `css` (`what`, in the
/// failure's message).
async fn click_then_wait(browser: &Client, id: &str, css: &str, what: &str) {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
}

/// A run of four or more English words in `text`, if any: what a Chinese page must not show.
fn english_sentence(text: &str) -> Option<String> {
    let is_word = |token: &str| {
        let letters = token.trim_matches(|c: char| !c.is_ascii_alphabetic());
        letters.len() >= 2
            && token
                .chars()
                .all(|c| c.is_ascii_alphabetic() || ",.;:()'’-".contains(c))
    };
    for line in text.lines() {
        let mut run: Vec<&str> = Vec::new();
        for token in line.split_whitespace() {
            if is_word(token) {
                run.push(token);
                if run.len() >= 4 {
                    return Some(line.to_owned());
                }
            } else {
                run.clear();
            }
        }
    }
    None
}
