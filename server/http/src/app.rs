//! The application: the router of every area with its tower layers, and the HTTP listener.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth;
use crate::config::{Config, JSON_BODY_LIMIT};
use crate::error::AppError;
use crate::registry;
use crate::state::AppState;
use huifang_store::db::Database;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let timeout = state.config().request_timeout;
    let api = Router::new()
        .nest("/auth", auth::router())
        .merge(registry::router())
        .merge(crate::sheets::router())
        .merge(crate::followups::router())
        .merge(crate::admin::router())
        .merge(crate::sync::router())
        .merge(crate::blobs::router())
        .merge(crate::plans::router())
        .merge(crate::surveys::router())
        .merge(crate::reports::router())
        .merge(crate::devices::router());
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::render))
        .nest("/api/v1", api)
        .merge(crate::web::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .route_layer(middleware::from_fn(crate::metrics::track))
        .layer(middleware::from_fn(crate::extract::refuse_nul))
        .layer(axum::extract::DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(middleware::map_response(timeout_as_json))
        .layer(
            // The span names the path only: query strings can hold a customer's phone number.
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
                })
                .on_response(log_response),
        )
        .layer(CatchPanicLayer::custom(|_panic| {
            AppError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        .with_state(state)
}

/// A request slower than this is logged at WARN (with its path, from the span).
const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// Logs a finished request: a server error at ERROR, a slow one at WARN, the rest at DEBUG. A line
/// per request at INFO cost about a quarter of the server's throughput (issue #17); an operator
/// who wants every request sets `RUST_LOG=huifang_server=debug`.
fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, _span: &tracing::Span) {
    let status = response.status().as_u16();
    let ms = latency.as_millis() as u64;
    if response.status().is_server_error() {
        tracing::error!(status, ms, "request failed");
    } else if latency >= SLOW_REQUEST {
        tracing::warn!(status, ms, "slow request");
    } else {
        tracing::debug!(status, ms, "request");
    }
}

/// The time-out layer answers 408 with an empty body; every error of the API has the JSON shape.
async fn timeout_as_json(response: Response) -> Response {
    let empty = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none();
    if response.status() == StatusCode::REQUEST_TIMEOUT && empty {
        let body = json!({
            "error": "timeout",
            "message": "the request took too long and was stopped",
        });
        return (StatusCode::REQUEST_TIMEOUT, Json(body)).into_response();
    }
    response
}

/// The process is up.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.db().ping().await {
        Ok(()) => Json(json!({ "status": "ready" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "not_ready", "message": "the database is not reachable" })),
            )
                .into_response()
        }
    }
}

async fn unknown_route(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(format!("no such endpoint: {}", uri.path()))
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let body = json!({
        "error": "method_not_allowed",
        "message": format!("{method} is not allowed on {}", uri.path()),
    });
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `addr` (port 0 picks a free port, as the tests do).
    pub async fn build(config: Config, db: Database, addr: SocketAddr) -> std::io::Result<Self> {
        crate::metrics::init();
        let listener = TcpListener::bind(addr).await?;
        if config.scheduled_jobs {
            huifang_core::deadlines::spawn(db.clone(), config.time_zone, config.deadline_interval);
            huifang_core::plans::spawn_monthly(
                db.clone(),
                config.time_zone,
                config.planning_interval,
            );
        }
        huifang_core::sync::live::spawn_change_watcher(db.clone());
        Ok(Application {
            listener,
            router: router(AppState::new(config, db)),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The peer's address reaches handlers (`extract::ClientAddress`) for the sign-in throttle.
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// Completes on Ctrl-C or SIGTERM (what systemd, Kubernetes and Docker send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
