//! Routes: the metrics (OpenMetrics or classic text, by content negotiation), the health
//! and readiness probes, and a small status page listing each report.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::body::{Bodies, MetricsBody};
use crate::exposition::Format;
use crate::snapshot::Snapshot;
use crate::status_page;
use crate::web::Shared;

#[derive(Clone)]
pub struct AppState {
    pub snapshot: Arc<ArcSwap<Snapshot>>,
    pub bodies: Arc<Bodies>,
    pub telemetry_path: String,
    /// `--report.dir`, shown on the status page.
    pub report_dir: PathBuf,
    /// The time ages count up to (`--now`); `None`: the clock.
    pub now: Option<jiff::Timestamp>,
}

/// The routes served whatever the flags say; `--web.telemetry-path` may be none of them.
pub const BUILT_IN_PATHS: [&str; 3] = ["/", "/-/healthy", "/-/ready"];

/// Routes the metrics at `state.telemetry_path`, which [`check_telemetry_path`] passed.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(&state.telemetry_path.clone(), get(metrics))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(ready))
        .route("/", get(index))
        .with_state(state)
}

/// Refuses a `--web.telemetry-path` the router cannot take: a built-in route's (axum
/// panics on a route given twice), or one with axum's capture syntax (`{id}`, `:id`,
/// `*rest`), which would match paths other than the one written.
pub fn check_telemetry_path(path: &str) -> anyhow::Result<()> {
    if BUILT_IN_PATHS.contains(&path) {
        anyhow::bail!(
            "--web.telemetry-path={path:?} is already a built-in route ({}); choose another, such as /metrics",
            BUILT_IN_PATHS.join(", ")
        );
    }
    let pattern = path.contains(['{', '}'])
        || (path.split('/')).any(|segment| segment.starts_with([':', '*']));
    if pattern {
        anyhow::bail!("--web.telemetry-path={path:?}: a segment may not start with ':' or '*', nor hold '{{' or '}}' (they would make it a pattern)");
    }
    Ok(())
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
    };
    let format = negotiate(header(header::ACCEPT));
    let gzip = accepts_gzip(header(header::ACCEPT_ENCODING));
    tracing::debug!(?format, gzip, "serving metrics");
    let content_type = (header::CONTENT_TYPE, format.content_type());
    // Caches between here and the client must keep the two encodings apart.
    let vary = (header::VARY, "Accept-Encoding");
    match state.bodies.body(state.snapshot.load_full(), format, gzip) {
        MetricsBody::Gzip(body) => (
            [content_type, vary, (header::CONTENT_ENCODING, "gzip")],
            [(header::CONTENT_LENGTH, body.len().to_string())],
            Extension(Shared),
            Body::new(body),
        )
            .into_response(),
        MetricsBody::Inflated(body) => {
            ([content_type, vary], Extension(Shared), Body::new(body)).into_response()
        }
        MetricsBody::Plain(body) => ([content_type, vary], Body::new(body)).into_response(),
    }
}

/// Whether `Accept-Encoding` takes gzip (`gzip`, `x-gzip` or `*`, with a q above 0).
/// Prometheus sends `gzip` unless compression is turned off for the scrape.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let (mut gzip, mut any) = (None, None);
    for coding in accept_encoding.split(',') {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => any = Some(q),
            _ => {}
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// OpenMetrics when the client prefers it over the classic format (as Prometheus does);
/// the classic text format for everyone else, including `curl` and `promtool`.
pub fn negotiate(accept: &str) -> Format {
    let mut openmetrics_q: f32 = 0.0;
    let mut classic_q: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        match media_type.as_str() {
            "application/openmetrics-text" => openmetrics_q = openmetrics_q.max(q),
            "text/plain" | "text/*" | "*/*" => classic_q = classic_q.max(q),
            _ => {}
        }
    }
    match openmetrics_q > 0.0 && openmetrics_q >= classic_q {
        true => Format::OpenMetrics,
        false => Format::Classic,
    }
}

async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    // Ready once the folder was scanned, whatever it held: a sidecar's readiness gates its
    // whole Pod, so a missing or broken report must not take the Pod out of service.
    match state.snapshot.load().scanned {
        true => (StatusCode::OK, "Ready\n"),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: the report folder has not been scanned yet\n",
        ),
    }
}

async fn index(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    let page = status_page::Page::new(
        state.snapshot.load_full(),
        &state.report_dir,
        &state.telemetry_path,
        state.now.unwrap_or_else(jiff::Timestamp::now),
        status_page::refresh_seconds(uri.query()),
    );
    let html = (header::CONTENT_TYPE, "text/html; charset=utf-8");
    ([html], Body::new(page)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_paths_that_collide_or_capture_are_refused() {
        assert!(check_telemetry_path("/metrics").is_ok());
        assert!(check_telemetry_path("/probe/metrics").is_ok());
        for path in BUILT_IN_PATHS {
            let error = check_telemetry_path(path).unwrap_err().to_string();
            assert!(error.contains("already a built-in route"), "{error}");
        }
        for path in ["/{id}", "/:id", "/metrics/*rest", "/a}"] {
            assert!(check_telemetry_path(path).is_err(), "{path}");
        }
    }

    #[test]
    fn prometheus_accept_header_gets_openmetrics() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(negotiate(prometheus), Format::OpenMetrics);
    }

    #[test]
    fn curl_and_classic_clients_get_text() {
        assert_eq!(negotiate(""), Format::Classic);
        assert_eq!(negotiate("*/*"), Format::Classic);
        assert_eq!(negotiate("text/plain;version=0.0.4"), Format::Classic);
        assert_eq!(
            negotiate("text/plain, application/openmetrics-text;q=0.5"),
            Format::Classic
        );
        assert_eq!(
            negotiate("application/openmetrics-text;q=0"),
            Format::Classic
        );
    }

    #[test]
    fn gzip_when_the_client_takes_it() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("gzip, deflate, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip(""));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(
            !accepts_gzip("gzip;q=0, *"),
            "an explicit refusal wins over *"
        );
    }
}
