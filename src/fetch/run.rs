//! The fetch loop: every `--fetch.interval`, each target's report with retries and backoff
//! inside the interval, written atomically; with `--once`, one round and an exit status.
//! Optionally serves the fetcher's /metrics and probes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{stream, StreamExt};
use tracing::{debug, error, info, warn};

use super::metrics::FetchMetrics;
use super::{
    budget, organization, validate, writer, Account, ApiCalls, FailureReason, FetchConfig,
    FetchError, Source,
};
use crate::web::{self, ServeOptions};

/// Runs the fetcher until `shutdown` completes (or, with --once, after one round). With
/// --once, an error names every report that could not be fetched and why.
pub async fn run(
    config: FetchConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // At start, as --report.dir's help promises: a folder that cannot be made is found out
    // before any call to the cloud, and the exporter beside us sees it even while every
    // fetch fails.
    std::fs::create_dir_all(&config.report_dir)
        .with_context(|| format!("--report.dir={}", config.report_dir.display()))?;
    if config.organization.enabled && config.report_name.is_some() {
        anyhow::bail!(
            "--report.name names one report, but --organization writes one per member account, named by its id; leave --report.name out"
        );
    }
    super::metrics::tag_label_names(&config.organization.tag_labels)?;
    let source = super::source(&config).await?;
    let source = source.as_ref();
    let selection = organization::Selection::new(&config.organization)?;
    let calls = ApiCalls::default();
    let metrics = Arc::new(FetchMetrics::new(
        config.provider.name(),
        &config.organization.tag_labels,
        &calls,
    ));

    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = match &config.web_listen_address {
        Some(address) => {
            Some(start_server(&config, address, Arc::clone(&metrics), server_stopped).await?)
        }
        None => None,
    };

    let rounds = async {
        loop {
            let started = Instant::now();
            let failures = round(&config, source, &selection, &calls, &metrics).await;
            if config.once {
                return match failures.is_empty() {
                    true => Ok(()),
                    false => Err(anyhow::anyhow!(failures.join("; "))),
                };
            }
            let next = started + config.fetch_interval;
            info!(
                next_in_seconds = next.saturating_duration_since(Instant::now()).as_secs(),
                "waiting for the next fetch"
            );
            tokio::time::sleep_until(next.into()).await;
        }
    };
    let result = tokio::select! {
        result = rounds => result,
        () = shutdown => Ok(()),
    };
    let _ = stop_server.send(());
    if let Some(server) = server {
        let _ = server.await;
    }
    result
}

/// Lists the accounts and fetches each selected one once, `--fetch.concurrency` at a time;
/// in an organization, then forgets the reports of accounts gone long enough. Returns one
/// line per account that failed (or for the listing).
async fn round(
    config: &FetchConfig,
    source: &dyn Source,
    selection: &organization::Selection,
    calls: &ApiCalls,
    metrics: &FetchMetrics,
) -> Vec<String> {
    let listing = retrying(
        config,
        "(listing)",
        "no listing",
        || source.accounts(calls),
        |_| {},
    );
    let listed = match listing.await {
        Ok(listed) => listed,
        Err(error) => {
            // Nothing is written or removed: the reports of the last round stay served.
            error!(reason = error.reason.as_str(), error = %error.message, "listing the accounts failed; no report is touched this round");
            return vec![format!(
                "listing the accounts: {} ({})",
                error.message,
                error.reason.as_str()
            )];
        }
    };
    metrics.listed(&listed);
    let chosen: Vec<&Account> = (listed.iter())
        .filter(|account| match selection.skips(account) {
            None => true,
            Some(why) => {
                debug!(account = %account.id, name = %account.name, why, "account skipped");
                false
            }
        })
        .collect();
    if config.report_name.is_some() && chosen.len() > 1 {
        return vec![format!(
            "--report.name names one report, but {} are fetched; leave it out to name each by its account id",
            chosen.len()
        )];
    }
    let outcomes: Vec<(&Account, Result<(), String>)> = stream::iter(chosen)
        .map(|account| async move {
            (
                account,
                fetch_and_write(config, source, account, calls, metrics).await,
            )
        })
        .buffer_unordered(usize::from(config.organization.concurrency))
        .collect()
        .await;
    if config.organization.enabled {
        let written = outcomes.iter().filter(|(_, result)| result.is_ok());
        let still_listed = outcomes.iter().map(|(account, _)| account.id.as_str());
        forget_departed(config, written.map(|(a, _)| a.id.as_str()), still_listed);
    }
    let mut failures: Vec<String> = outcomes.into_iter().filter_map(|(_, r)| r.err()).collect();
    failures.sort();
    failures
}

/// One account's report, fetched with retries and written; the error line names the
/// account and the reason.
async fn fetch_and_write(
    config: &FetchConfig,
    source: &dyn Source,
    account: &Account,
    calls: &ApiCalls,
    metrics: &FetchMetrics,
) -> Result<(), String> {
    let started = Instant::now();
    let outcome = fetch_with_retries(config, source, account, calls, metrics).await;
    let seconds = started.elapsed().as_secs_f64();
    // The claim on the gate is held until the report is written: it is held as long.
    let written = outcome.and_then(|(report, _claim)| {
        let name = report_name(config, account, &report)?;
        let generated = std::time::SystemTime::try_from(report.generated).map_err(|_| {
            FetchError::new(
                FailureReason::InvalidResponse,
                format!("generation time {} is out of range", report.generated),
            )
        })?;
        writer::write_report(&config.report_dir, &name, &report.content, generated)
            .map(|path| (path, report.generated, report.content.len()))
            .map_err(|error| {
                // Not the provider's fault, but the report did not arrive: counted with
                // the reasons so the failure alert fires; the log says what happened.
                FetchError::new(
                    FailureReason::InvalidResponse,
                    format!(
                        "writing {}: {error}",
                        config.report_dir.join(format!("{name}.csv")).display()
                    ),
                )
            })
    });
    match written {
        Ok((path, generated, bytes)) => {
            metrics.fetch_ended(account, jiff::Timestamp::now(), seconds, Some(generated));
            info!(account = %account.id, file = %path.display(), bytes, %generated, seconds, "report written");
            Ok(())
        }
        Err(error) => {
            metrics.fetch_ended(account, jiff::Timestamp::now(), seconds, None);
            error!(account = %account.id, reason = error.reason.as_str(), error = %error.message, "fetch failed; the last report stays in place");
            Err(format!(
                "{}: {} ({})",
                account.id,
                error.message,
                error.reason.as_str()
            ))
        }
    }
}

/// The report's file name: in an organization the account id the listing gave, else
/// --report.name or the account id the report names.
fn report_name(
    config: &FetchConfig,
    account: &Account,
    report: &super::FetchedReport,
) -> Result<String, FetchError> {
    let name = match (
        config.organization.enabled,
        &config.report_name,
        &report.account_id,
    ) {
        (true, _, _) => &account.id,
        (false, Some(name), _) | (false, None, Ok(name)) => name,
        (false, None, Err(unknown)) => {
            return Err(FetchError::new(
                unknown.reason,
                format!(
                    "the report's account is not known ({}); name the report with --report.name",
                    unknown.message
                ),
            ))
        }
    };
    // An id from a cloud's answer becomes a file name: nothing that leaves the folder.
    super::config::parse_report_name(name)
        .map_err(|why| FetchError::new(FailureReason::InvalidResponse, why))
}

/// Records the reports written this round and the accounts still listed, then removes the
/// reports of accounts absent for --organization.forget-after. Only reports in the ledger
/// (written by this fetcher) are ever removed; a ledger that cannot be read removes nothing.
fn forget_departed<'a>(
    config: &FetchConfig,
    written: impl Iterator<Item = &'a str>,
    listed: impl Iterator<Item = &'a str>,
) {
    let dir = &config.report_dir;
    let mut ledger = match organization::Ledger::load(dir) {
        Ok(ledger) => ledger,
        Err(error) => {
            error!(file = %dir.join(organization::LEDGER_FILE).display(), %error, "the record of written reports cannot be read; no report is forgotten");
            return;
        }
    };
    let now = jiff::Timestamp::now().as_second();
    for account in written {
        ledger.seen(account, now);
    }
    let listed: std::collections::BTreeSet<&str> = listed.collect();
    for account in &listed {
        ledger.still_listed(account, now);
    }
    for account in ledger.forget(&listed, now, config.organization.forget_after) {
        let path = dir.join(format!("{account}.csv"));
        match std::fs::remove_file(&path) {
            Ok(()) => {
                info!(account = %account, file = %path.display(), "account no longer listed: its report is removed")
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                warn!(account = %account, file = %path.display(), %error, "removing a departed account's report failed")
            }
        }
    }
    if let Err(error) = ledger.save(dir) {
        error!(file = %dir.join(organization::LEDGER_FILE).display(), %error, "writing the record of written reports failed");
    }
}

/// One account's report with [`retrying`]; each attempt's report is read by the exporter's
/// own reader before it may replace the last good one. Each attempt has its own claim on the
/// gate of large answers ([`budget`]), released when it fails, returned with its report.
async fn fetch_with_retries(
    config: &FetchConfig,
    source: &dyn Source,
    account: &Account,
    calls: &ApiCalls,
    metrics: &FetchMetrics,
) -> Result<(super::FetchedReport, Arc<budget::Claim>), FetchError> {
    let attempt = || async {
        let claim = budget::Claim::new(&account.id);
        let report = claim.within(source.fetch(account, calls)).await?;
        validate::refuse_unusable(config.provider, &report)?;
        Ok((report, claim))
    };
    let failed = |error: &FetchError| metrics.attempt_failed(account, error.reason);
    retrying(config, &account.id, "no report", attempt, failed).await
}

/// Up to --fetch.attempts attempts, each bounded by --fetch.timeout, with a doubling wait
/// between them capped at a tenth of the interval so retries stay inside it. `what` names
/// the account (or the listing) in the log; `failed` is told of each failed attempt.
async fn retrying<T, F: std::future::Future<Output = Result<T, FetchError>>>(
    config: &FetchConfig,
    what: &str,
    timed_out: &str,
    mut attempt: impl FnMut() -> F,
    failed: impl Fn(&FetchError),
) -> Result<T, FetchError> {
    let cap = (config.fetch_interval / 10).max(config.fetch_retry_backoff);
    let mut backoff = config.fetch_retry_backoff;
    let mut tries = 1;
    loop {
        let error = match tokio::time::timeout(config.fetch_timeout, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_) => FetchError::new(
                FailureReason::Network,
                format!(
                    "{timed_out} within --fetch.timeout={}s",
                    config.fetch_timeout.as_secs()
                ),
            ),
        };
        failed(&error);
        if tries >= config.fetch_attempts || !error.reason.retryable() {
            return Err(error);
        }
        warn!(
            account = %what,
            attempt = tries,
            reason = error.reason.as_str(),
            error = %error.message,
            retry_in_seconds = backoff.as_secs_f64(),
            "fetch attempt failed; retrying"
        );
        tokio::time::sleep(jitter(backoff)).await;
        backoff = (backoff * 2).min(cap);
        tries += 1;
    }
}

/// Up to a quarter more, so many fetchers throttled at once do not retry in step.
fn jitter(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    wait + wait.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

#[derive(Clone)]
struct ServerState {
    metrics: Arc<FetchMetrics>,
}

async fn start_server(
    config: &FetchConfig,
    address: &str,
    metrics: Arc<FetchMetrics>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let (web_config, tls) = web::load(config.web_config_file.as_deref())?;
    let routes = Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        // Ready as soon as it serves: the fetcher's readiness must not gate the exporter's
        // Pod on a cloud API; its alerts say when fetching fails.
        .route("/-/ready", get(|| async { "Ready\n" }))
        .with_state(ServerState { metrics });
    let app = web::protect(routes, &web_config, 10);
    let listener = crate::web::bind(address)
        .await
        .with_context(|| format!("listening on --web.listen-address={address}"))?;
    info!(address = %listener.local_addr()?, tls = tls.is_some(), "fetcher metrics listening");
    let options = ServeOptions {
        tls,
        read_header_timeout: Some(Duration::from_secs(10)),
        write_timeout: Some(web::WRITE_TIMEOUT),
    };
    Ok(tokio::spawn(web::serve(listener, app, options, async {
        let _ = stop.await;
    })))
}

async fn serve_metrics(State(state): State<ServerState>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = crate::http::negotiate(accept);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, format.content_type())],
        state.metrics.render(format),
    )
        .into_response()
}
