//! The HTTP server around the routes of [`crate::http`]: the exporter-toolkit web config
//! file (TLS, basic auth, headers, rate limit), request limits, and the accept loop.

mod auth;
mod config;
mod limits;
mod serve;
mod suites;
mod tls;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::middleware::from_fn_with_state;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use config::WebConfig;
pub use limits::Shared;
pub use serve::{serve, ServeOptions, WRITE_TIMEOUT};

/// Reads `--web.config.file` and everything it names: the configuration, and the TLS
/// server configuration when it turns TLS on; its warnings are logged. No file: plain HTTP
/// without auth. Every command that serves HTTP loads it here.
pub fn load(file: Option<&Path>) -> anyhow::Result<(WebConfig, Option<Arc<rustls::ServerConfig>>)> {
    let Some(path) = file else {
        return Ok((WebConfig::default(), None));
    };
    let flag = || format!("--web.config.file={}", path.display());
    let config = WebConfig::load(path).with_context(flag)?;
    for warning in &config.warnings {
        tracing::warn!(file = %path.display(), "{warning}");
    }
    let tls = (config.tls.as_ref().map(tls::server_config).transpose()).with_context(flag)?;
    Ok((config, tls))
}

/// Wraps the routes in the file's protections and the request bound, outermost first:
/// response headers, rate limit (429), basic auth (401), concurrency bound (503), routes.
/// Auth comes before the bound, so clients without the password never hold a slot.
/// `max_requests` 0: no bound.
pub fn protect(routes: Router, config: &WebConfig, max_requests: usize) -> Router {
    let mut app = routes;
    if max_requests > 0 {
        let permits = Arc::new(Semaphore::new(max_requests));
        app = app.layer(from_fn_with_state(permits, limits::concurrency));
    }
    if let Some(auth) = auth::BasicAuth::new(config.users.clone()) {
        app = app.layer(from_fn_with_state(auth, auth::require));
    }
    if let Some(limit) = config.rate_limit {
        let bucket = Arc::new(limits::TokenBucket::new(limit));
        app = app.layer(from_fn_with_state(bucket, limits::rate));
    }
    if !config.headers.is_empty() {
        let headers = Arc::new(config.headers.clone());
        app = app.layer(from_fn_with_state(headers, limits::headers));
    }
    app
}

/// Listens on an exporter-style address: `:9877` means every interface, IPv6 and IPv4 where
/// the host has both, IPv4 alone where it does not.
pub async fn bind(address: &str) -> std::io::Result<TcpListener> {
    if address.starts_with(':') {
        if let Ok(listener) = TcpListener::bind(format!("[::]{address}")).await {
            return Ok(listener);
        }
        return TcpListener::bind(format!("0.0.0.0{address}")).await;
    }
    TcpListener::bind(address).await
}
