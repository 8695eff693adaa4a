//! The dashboard's static files, compiled into the binary: its own stylesheet and script, and
//! ECharts from the npm registry (`scripts/web-assets` checks the committed copy against it).
//! Nothing is loaded from the internet.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The ECharts release served, in its file name so a new release is never read from a cache.
pub const ECHARTS_FILE: &str = "echarts-6.1.0.min.js";

const FILES: [(&str, &str, &[u8]); 3] = [
    (
        ECHARTS_FILE,
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/echarts/echarts.min.js"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, ..)| *name == file) {
        Some((name, content_type, bytes)) => {
            // The vendored library never changes under its versioned name; our own files may
            // change with each release, so browsers check back.
            let cache = if *name == ECHARTS_FILE {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [
                    (header::CONTENT_TYPE, *content_type),
                    (header::CACHE_CONTROL, cache),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                *bytes,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
