//! The dashboard over plain HTTP on both databases: signing in by cookie, where strangers are
//! sent, which changes a browser may make, masked phone numbers, every list's CSV and XLSX
//! download, errors as pages, signing out, the language, and the compiled-in assets.

use std::io::Cursor;

use calamine::{Reader, Xlsx};
use huifang_core::plans::Month;
use reqwest::{StatusCode, header};
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, PASSWORD, TestApp, urlencode};
use crate::sheets::accept;

crate::on_both_backends!(the_dashboard_signs_in_by_cookie_and_guards_what_the_browser_does);

/// A client that shows redirects instead of following them.
fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Signs in through the dashboard's form; returns the response (a redirect with the cookie).
pub(crate) async fn sign_in(
    app: &TestApp,
    username: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    browser_like()
        .post(app.url("/app/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "username={}&password={}&next={}",
            urlencode(username),
            urlencode(password),
            urlencode(next)
        ))
        .send()
        .await
        .expect("request")
}

/// The `huifang_session=…` pair of a sign-in response.
pub(crate) fn session_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get(header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set} has {attribute}");
    }
    set.split(';').next().unwrap().to_owned()
}

pub(crate) async fn page(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    browser_like()
        .get(app.url(path))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("request")
}

async fn the_dashboard_signs_in_by_cookie_and_guards_what_the_browser_does(app: TestApp) {
    let client = browser_like();
    let month = Month::of(app.now(), app.config.time_zone);
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    accept(&app, &csc, "陈志强", "ordinary", "repair").await;
    accept(&app, &csc, "林秀英", "major", "repair").await;

    // A stranger is sent to the sign-in page, which remembers where they were going.
    let stranger = client
        .get(app.url("/app/sheets?level=major"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        stranger.headers()[header::LOCATION],
        "/app/login?next=/app/sheets%3Flevel%3Dmajor"
    );
    let form = client.get(app.url("/app/login")).send().await.unwrap();
    assert!(form.text().await.unwrap().contains("<html lang=\"zh-CN\">"));

    // A wrong password shows the form again with the reason; nothing is set.
    let wrong = sign_in(&app, "gm", "not-the-password", "/app").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    assert!(wrong.text().await.unwrap().contains("用户名或密码错误"));

    // Signing in goes on to the page asked for, and never off the dashboard.
    let gm_in = sign_in(&app, "gm", PASSWORD, "/app/sheets").await;
    assert_eq!(gm_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(gm_in.headers()[header::LOCATION], "/app/sheets");
    let gm = session_cookie(&gm_in);
    assert!(
        !gm_in.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    let through_tls = browser_like()
        .post(app.url("/app/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("X-Forwarded-Proto", "https")
        .body(format!("username=gm&password={}", urlencode(PASSWORD)))
        .send()
        .await
        .unwrap();
    assert!(
        through_tls.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure"),
        "behind a TLS front the session cookie is Secure"
    );
    let elsewhere = sign_in(&app, "gm", PASSWORD, "https://evil.example/app").await;
    assert_eq!(elsewhere.headers()[header::LOCATION], "/app");

    // The general manager does not call customers: phone numbers are masked on his pages and in
    // his downloads; the office head, who does, sees them whole.
    let gm_sheets = page(&app, &gm, "/app/sheets").await.text().await.unwrap();
    assert!(gm_sheets.contains("****"), "masked phones");
    let csv = page(&app, &gm, "/app/sheets?format=csv")
        .await
        .text()
        .await
        .unwrap();
    let phones: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap())
        .collect();
    assert_eq!(phones.len(), 2, "{csv}");
    assert!(phones.iter().all(|p| p.contains("****")), "{phones:?}");
    let head = session_cookie(&sign_in(&app, "bsw.office.head", PASSWORD, "/app").await);
    let head_csv = page(&app, &head, "/app/sheets?format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(!head_csv.contains("****"), "{head_csv}");

    // Every list and report downloads as CSV (UTF-8 with BOM) and XLSX, filters applied.
    for path in [
        "/app".to_owned(),
        "/app/sheets?level=major".to_owned(),
        "/app/follow-ups".to_owned(),
        "/app/overdue".to_owned(),
        format!("/app/plans?month={month}"),
        format!("/app/submissions?month={month}"),
        format!("/app/bulletin?month={month}"),
        "/app/analyses".to_owned(),
        "/app/devices".to_owned(),
    ] {
        let joiner = if path.contains('?') { '&' } else { '?' };
        let csv = page(&app, &gm, &format!("{path}{joiner}format=csv")).await;
        assert_eq!(csv.status(), StatusCode::OK, "{path}");
        assert!(
            csv.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            csv.bytes().await.unwrap().starts_with(b"\xEF\xBB\xBF"),
            "{path}"
        );
        let xlsx = page(&app, &gm, &format!("{path}{joiner}format=xlsx")).await;
        assert_eq!(xlsx.status(), StatusCode::OK, "{path}");
        let bytes = xlsx.bytes().await.unwrap();
        let workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("XLSX");
        assert!(!workbook.sheet_names().is_empty(), "{path}");
    }
    // The phones page (#18): a phone that synced is listed, for head office and its unit's
    // head, with what it holds unsynced; dashboard sessions are not phones.
    let phone = crate::sync::Phone::sign_in(&app, "bsw.csc.01").await;
    phone.sync().await;
    for viewer in [&gm, &head] {
        let phones = page(&app, viewer, "/app/devices")
            .await
            .text()
            .await
            .unwrap();
        assert!(
            phones.contains("bsw.csc.01")
                && phones.contains("test phone")
                && phones.contains("在用"),
            "{phones}"
        );
        assert!(!phones.contains("dashboard (browser)"), "{phones}");
        assert!(
            !phones.contains("/wipe"),
            "only an administrator (or the owner) may order a wipe: {phones}"
        );
    }
    let admin = session_cookie(&sign_in(&app, "root", ADMIN_PASSWORD, "/app").await);
    let phones = page(&app, &admin, "/app/devices")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(phones.matches("/wipe\"").count(), 1, "{phones}");
    let major = page(&app, &gm, "/app/sheets?level=major&format=xlsx")
        .await
        .bytes()
        .await
        .unwrap();
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(major.to_vec())).unwrap();
    let rows = workbook.worksheet_range("客户信息单").unwrap();
    assert_eq!(rows.height(), 2, "the header and the one major complaint");
    assert_eq!(rows.get_value((1, 5)).unwrap().to_string(), "重大");

    // The session cookie reads the API; a change from the browser must carry the header that
    // another site's page cannot send.
    let me = client
        .get(app.url("/api/v1/auth/me"))
        .header(header::COOKIE, &head)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let submissions = app.url(&format!("/api/v1/reports/submissions/{month}"));
    let forged = client
        .post(&submissions)
        .header(header::COOKIE, &head)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("x-huifang-request"));
    assert_eq!(app.count("monthly_submissions").await, 0);
    let submitted = client
        .post(&submissions)
        .header(header::COOKIE, &head)
        .header("X-Huifang-Request", "dashboard")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), StatusCode::CREATED);
    let shown = page(&app, &gm, &format!("/app/submissions?month={month}")).await;
    assert!(shown.text().await.unwrap().contains("王主任"));

    // Errors are pages that say what is wrong, in the viewer's language.
    let staff = session_cookie(&sign_in(&app, "bsw.csc.01", PASSWORD, "/app").await);
    let refused = page(&app, &staff, "/app").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body = refused.text().await.unwrap();
    assert!(
        body.contains("无权查看") && body.contains("unit heads"),
        "{body}"
    );
    assert_eq!(
        page(&app, &staff, "/app/sheets").await.status(),
        StatusCode::OK
    );
    let bad_month = page(&app, &gm, "/app?month=2026-13").await;
    assert_eq!(bad_month.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_month.text().await.unwrap().contains("YYYY-MM"));
    let bad_format = page(&app, &gm, "/app/sheets?format=pdf").await;
    assert_eq!(bad_format.status(), StatusCode::NOT_FOUND);
    let bad_level = page(&app, &gm, "/app/sheets?level=urgent").await;
    assert_eq!(bad_level.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // English when chosen, remembered in a cookie, and only dashboard paths are returned to.
    let switched = page(&app, &gm, "/app/lang?to=en&back=/app/bulletin").await;
    assert_eq!(switched.headers()[header::LOCATION], "/app/bulletin");
    let lang = switched.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let english = page(&app, &format!("{gm}; {lang}"), "/app/bulletin").await;
    let english = english.text().await.unwrap();
    assert!(english.contains("<html lang=\"en\">") && english.contains("Service Bulletin"));
    let away = page(&app, &gm, "/app/lang?to=en&back=//evil.example").await;
    assert_eq!(away.headers()[header::LOCATION], "/app");

    // The charting library is served from the binary, cached for good under its version.
    let echarts = client
        .get(app.url("/assets/echarts-6.1.0.min.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(echarts.status(), StatusCode::OK);
    assert!(
        echarts.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(echarts.bytes().await.unwrap().len() > 500_000);
    let unknown = client
        .get(app.url("/assets/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // Signing out revokes the session on the server: the old cookie no longer works.
    let out = client
        .post(app.url("/app/logout"))
        .header(header::COOKIE, &gm)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = client
        .get(app.url("/api/v1/auth/me"))
        .header(header::COOKIE, &gm)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}
