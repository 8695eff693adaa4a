//! The dashboard for head office and unit heads, served by the same binary (SPEC §4): sign-in,
//! the month's figures with charts, lists with filters, the overdue list, routine plan progress,
//! survey forms and their approval, submissions and the Service Bulletin, each list downloadable
//! as CSV and XLSX.
//!
//! Pages are askama templates rendered on the server over the same functions the API uses, so a
//! page never shows a figure the API would not. The browser is signed in by an HttpOnly,
//! SameSite=Strict session cookie; what it changes goes through the API with
//! [`crate::auth::BROWSER_WRITE_HEADER`]. Chinese by default, English on request; customer phone
//! numbers are masked for roles that do not call customers.

mod assets;
mod lists;
mod pages;
mod records;
mod session;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use huifang_protocol::{Role, UnitKind};

use crate::auth::Caller;
use crate::error::AppError;
use crate::state::AppState;
use huifang_protocol::Lang;
use huifang_store::scope::WorkScope;

/// The cookie remembering the language chosen.
const LANG_COOKIE: &str = "huifang_lang";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/app/login", get(session::login_page).post(session::login))
        .route("/app/logout", post(session::logout))
        .route("/app/lang", get(session::switch_language))
        .route("/app", get(pages::overview))
        .route("/app/bulletin", get(pages::bulletin))
        .route("/app/submissions", get(pages::submissions))
        .route("/app/sheets", get(lists::sheets))
        .route("/app/sheets/{id}", get(records::sheet))
        .route("/app/follow-ups/{id}", get(records::follow_up))
        .route("/app/follow-ups", get(lists::follow_ups))
        .route("/app/overdue", get(lists::overdue))
        .route("/app/plans", get(lists::plans))
        .route("/app/surveys", get(lists::surveys))
        .route("/app/devices", get(lists::devices))
        .route("/app/analyses", get(pages::analyses))
        .route("/assets/{file}", get(assets::serve))
}

/// A signed-in person looking at the dashboard, in their language. Without a session the browser
/// is sent to the sign-in page.
pub struct Viewer {
    pub caller: Caller,
    pub lang: Lang,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = lang_of(&CookieJar::from_headers(&parts.headers));
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Viewer { caller, lang }),
            Err(AppError::Unauthorized(_) | AppError::DeviceWipe) => {
                let back = parts
                    .uri
                    .path_and_query()
                    .map_or("/app", |p| p.as_str())
                    .to_owned();
                Err(Redirect::to(&format!("/app/login?next={}", encode(&back))).into_response())
            }
            Err(error) => Err(WebError { error, lang }.into_response()),
        }
    }
}

fn lang_of(jar: &CookieJar) -> Lang {
    jar.get(LANG_COOKIE)
        .map_or(Lang::Zh, |cookie| Lang::parse(cookie.value()))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only paths inside the dashboard are followed after sign-in or a language switch, so a link
/// cannot send a signed-in person elsewhere.
fn local_path(path: Option<&str>) -> String {
    match path {
        Some(path) if path.starts_with("/app") && !path.contains("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/app".to_owned(),
    }
}

/// An error shown as a page, in the viewer's language, with the API's reason.
pub struct WebError {
    pub error: AppError,
    pub lang: Lang,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: Lang,
    status: u16,
    heading: &'a str,
    message: String,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.error.status_code();
        if status.is_server_error() {
            tracing::error!(error = ?self.error, "dashboard page failed");
        }
        let heading = match status {
            StatusCode::FORBIDDEN => self.lang.pick("无权查看", "Not allowed"),
            StatusCode::NOT_FOUND => self.lang.pick("未找到", "Not found"),
            s if s.is_client_error() => self.lang.pick("请求有误", "Bad request"),
            _ => self.lang.pick("服务器出错", "Server error"),
        };
        let message = if status.is_server_error() {
            self.lang
                .pick("请稍后再试。", "Please try again later.")
                .to_owned()
        } else {
            self.error.to_string()
        };
        let page = ErrorPage {
            lang: self.lang,
            status: status.as_u16(),
            heading,
            message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => status.into_response(),
        }
    }
}

pub type WebResult<T> = Result<T, WebError>;

/// Attaches the viewer's language to an error.
trait InLang<T> {
    fn in_lang(self, lang: Lang) -> WebResult<T>;
}

impl<T, E: Into<AppError>> InLang<T> for Result<T, E> {
    fn in_lang(self, lang: Lang) -> WebResult<T> {
        self.map_err(|error| WebError {
            error: error.into(),
            lang,
        })
    }
}

/// Renders a page template.
fn render(page: &impl Template, lang: Lang) -> WebResult<Response> {
    page.render()
        .map(|html| Html(html).into_response())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering a page: {e}")))
        .in_lang(lang)
}

/// A link in the navigation bar.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// What every page shows around its content: the navigation for the viewer's role, who is signed
/// in, and the language switch.
pub struct Chrome {
    pub lang: Lang,
    pub user: String,
    pub role: &'static str,
    pub nav: Vec<NavItem>,
    /// The link switching to the other language and back to this page.
    pub switch_href: String,
    pub switch_label: &'static str,
}

impl Chrome {
    pub fn new(viewer: &Viewer, active: &str, here: &str) -> Self {
        let lang = viewer.lang;
        let caller = &viewer.caller;
        let head_office = caller.work_scope() == WorkScope::All;
        let unit_head = caller.role == Role::UnitHead;
        let submits = unit_head
            && caller
                .unit
                .is_some_and(|unit| unit.kind.submits_monthly_figures());
        let development = caller
            .unit
            .is_some_and(|unit| unit.kind == UnitKind::DevelopmentDepartment);
        let mut nav = Vec::new();
        let mut add = |href: &'static str, zh: &'static str, en: &'static str, shown: bool| {
            if shown {
                nav.push(NavItem {
                    href,
                    label: lang.pick(zh, en),
                    active: href == active,
                });
            }
        };
        let reader = head_office || unit_head;
        add("/app", "概览", "Overview", reader);
        add("/app/sheets", "客户信息单", "Sheets", true);
        add("/app/follow-ups", "回访", "Follow-ups", true);
        add("/app/overdue", "逾期", "Overdue", true);
        add("/app/plans", "例行回访", "Routine plans", reader);
        add("/app/devices", "手机", "Phones", reader);
        add(
            "/app/surveys",
            "意见调查",
            "Surveys",
            head_office || development,
        );
        add(
            "/app/submissions",
            "月报提交",
            "Submissions",
            head_office || submits,
        );
        add("/app/analyses", "分析报告", "Analyses", reader);
        add("/app/bulletin", "服务简报", "Bulletin", reader);
        let other = match lang {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        };
        Chrome {
            lang,
            user: caller.username.clone(),
            role: lang.label(caller.role),
            nav,
            switch_href: format!("/app/lang?to={}&back={}", other.code(), encode(here)),
            switch_label: match other {
                Lang::Zh => "中文",
                Lang::En => "English",
            },
        }
    }

    /// Text in the page's language.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(zh, en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_paths_are_followed() {
        assert_eq!(
            local_path(Some("/app/sheets?status=open")),
            "/app/sheets?status=open"
        );
        for outside in [
            "https://evil.example/app",
            "//evil.example/app",
            "/app//evil",
            "/api/v1/staff",
            "/app\\..",
        ] {
            assert_eq!(local_path(Some(outside)), "/app", "{outside}");
        }
        assert_eq!(local_path(None), "/app");
    }

    #[test]
    fn return_paths_are_percent_encoded() {
        assert_eq!(
            encode("/app/sheets?q=陈&x=1"),
            "/app/sheets%3Fq%3D%E9%99%88%26x%3D1"
        );
    }
}

/// One choice of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The months a page offers, written in the reader's language (`2026年12月`, `Dec 2026`): the
/// next month and the three years before it, newest first.
#[derive(Debug, Clone, Copy)]
pub struct MonthChoices {
    pub current: huifang_core::plans::Month,
    pub lang: Lang,
    /// Offer "all months" first (a list's filter).
    pub all: bool,
}

/// A month as people read it: `2026年12月`, `Dec 2026`.
pub fn month_label(month: huifang_core::plans::Month, lang: Lang) -> String {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match lang {
        Lang::Zh => format!("{}年{}月", month.year(), month.number()),
        Lang::En => format!(
            "{} {}",
            NAMES[(month.number() as usize).saturating_sub(1) % 12],
            month.year()
        ),
    }
}

impl MonthChoices {
    pub fn choices(self, selected: Option<&str>) -> Vec<Choice> {
        let selected = selected.unwrap_or_default();
        let mut choices = Vec::new();
        if self.all {
            choices.push(Choice {
                value: String::new(),
                label: self.lang.pick("全部月份", "All months").to_owned(),
                selected: selected.is_empty(),
            });
        }
        let mut month = self.current.next();
        let mut offered = false;
        for _ in 0..38 {
            let value = month.to_string();
            let label = month_label(month, self.lang);
            offered |= value == selected;
            choices.push(Choice {
                selected: value == selected,
                value,
                label,
            });
            month = month.previous();
        }
        // A month asked for outside the range is still shown as chosen.
        if !offered && !selected.is_empty() {
            choices.push(Choice {
                value: selected.to_owned(),
                label: selected.to_owned(),
                selected: true,
            });
        }
        choices
    }
}
