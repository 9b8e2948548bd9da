//! credential-report-exporter: watches a folder of cloud credential reports and serves
//! their credential hygiene as Prometheus metrics. Flags, logging and wiring only.
//! `credential-report-exporter fetch …` is the fetcher (see `fetch`), `… check …` the offline
//! audit (see `check`); without a subcommand it serves, as it always has, so deployed
//! command lines keep working.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use tokio::net::TcpListener;
use tracing::{debug, error, info, warn};

use credential_report_exporter::allocator;
use credential_report_exporter::body::Bodies;
use credential_report_exporter::check::{self, CheckConfig};
use credential_report_exporter::config::{Config, LogFlags, LogFormat};
use credential_report_exporter::exposition::{Exposition, ExpositionOptions};
use credential_report_exporter::fetch::{self, FetchConfig};
use credential_report_exporter::markup::LogWriter;
use credential_report_exporter::reload::{LoadOptions, Reloader};
use credential_report_exporter::web::{self, ServeOptions};
use credential_report_exporter::{build_info, http, process, watch};

fn main() -> ExitCode {
    let open_files = process::raise_open_files_limit();
    let config = match parse_command_line() {
        Invocation::Serve(config) => config,
        Invocation::Fetch(config) => return run_fetch(config),
        Invocation::Check(config) => {
            allocator::keep_freed_buffers();
            return check::run(config);
        }
    };
    allocator::return_large_buffers_when_freed();
    init_logging(&config.log, false);
    match open_files {
        Some((before, after)) => debug!(?before, ?after, "soft limit on open files"),
        None => warn!("cannot raise the soft limit on open files to the hard one; idle connections may keep out others"),
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|runtime| {
            let result = runtime.block_on(run(config));
            // A rescan may still be reading a large file on a blocking thread. It only
            // reads, so leave it behind rather than make a SIGTERM wait for it.
            runtime.shutdown_background();
            result
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // In the configured log format, so a log pipeline sees why the exporter stopped.
            error!(error = %format!("{error:#}"), "cannot start; exiting");
            ExitCode::FAILURE
        }
    }
}

enum Invocation {
    Serve(Config),
    Fetch(FetchConfig),
    Check(CheckConfig),
}

/// Serving's flags stay at the top, as deployed command lines name them (there is no
/// `serve`); `fetch` and `check` are subcommands, so `--help`, `help`, usage lines and
/// errors name them as clap does for `git`-style commands.
fn command_line() -> clap::Command {
    Config::command()
        .subcommand_negates_reqs(true)
        .args_conflicts_with_subcommands(true)
        .subcommand(FetchConfig::command().name("fetch"))
        .subcommand(CheckConfig::command().name("check"))
}

fn parse_command_line() -> Invocation {
    let mut matches = command_line().get_matches();
    let parsed = match matches.remove_subcommand() {
        None => Config::from_arg_matches_mut(&mut matches).map(Invocation::Serve),
        Some((name, mut matches)) if name == "fetch" => {
            FetchConfig::from_arg_matches_mut(&mut matches).map(Invocation::Fetch)
        }
        Some((_, mut matches)) => {
            CheckConfig::from_arg_matches_mut(&mut matches).map(Invocation::Check)
        }
    };
    parsed.unwrap_or_else(|error| error.format(&mut command_line()).exit())
}

fn run_fetch(config: FetchConfig) -> ExitCode {
    init_logging(&config.log, true);
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|runtime| runtime.block_on(fetch::run(config, shutdown_signal())));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error!(error = %format!("{error:#}"), "fetch failed; exiting");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    http::check_telemetry_path(&config.web_telemetry_path)?;
    // Checked, certificates and keys included, before anything else starts: a bad file
    // stops the exporter here rather than failing every scrape.
    let (web_config, tls) = web::load(config.web_config_file.as_deref())?;

    // Before the folder is read: a port in use is found out at once, with nothing to undo.
    let listener = bind(&config.web_listen_address).await?;
    let exposition = Exposition::new(ExpositionOptions {
        per_user: config.metrics_per_user,
        show_secret_ids: config.metrics_show_secret_ids,
        max_per_user_series: config.metrics_max_per_user_series,
        now: config.now,
    });
    let bodies = Arc::new(Bodies::new(Arc::new(exposition)));
    let preparing = Arc::clone(&bodies);
    let reloader = Reloader::new(
        config.report_dir.clone(),
        config.report.selection(),
        LoadOptions {
            max_files: config.report_max_files,
            read: config.report.read_options(),
            keep_users: config.metrics_per_user,
            max_bytes: config.report.max_bytes,
        },
        Box::new(move |next| preparing.prepare(next)),
    );
    let snapshot = reloader.served();
    let watch_options = watch::WatchOptions {
        debounce: config.watch_debounce,
        poll_interval: config.watch_poll_interval,
    };
    tokio::spawn(watch::run(
        config.report_dir.clone(),
        reloader,
        watch_options,
    ));

    let routes = http::router(http::AppState {
        snapshot,
        bodies,
        telemetry_path: config.web_telemetry_path.clone(),
        report_dir: config.report_dir.clone(),
        now: config.now,
    });
    let app = web::protect(routes, &web_config, config.web_max_requests);
    info!(
        version = build_info::VERSION,
        revision = build_info::REVISION,
        address = %listener.local_addr()?,
        dir = %config.report_dir.display(),
        tls = tls.is_some(),
        basic_auth = !web_config.users.is_empty(),
        "credential-report-exporter listening"
    );
    let options = ServeOptions {
        tls,
        read_header_timeout: Some(config.web_read_header_timeout).filter(|t| !t.is_zero()),
        write_timeout: Some(config.web_write_timeout).filter(|t| !t.is_zero()),
    };
    web::serve(listener, app, options, shutdown_signal()).await;
    info!("shut down cleanly");
    Ok(())
}

async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    web::bind(address)
        .await
        .with_context(|| format!("listening on --web.listen-address={address}"))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = interrupt => info!("interrupted; shutting down"),
        _ = terminate.recv() => info!("SIGTERM; shutting down"),
    }
}

/// Every line goes through [`LogWriter`], so that no control character or bidirectional
/// override from a file or a cloud reaches a terminal. `quiet_dependencies`: other crates
/// log at most at info. The AWS SDK's debug lines print whole access key ids (its
/// credentials' Debug form redacts only the secret), and a debug log must not leak what
/// /metrics never shows.
fn init_logging(log: &LogFlags, quiet_dependencies: bool) {
    let (level, format) = (log.level, log.format);
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let filter = match quiet_dependencies {
        true => Targets::new()
            .with_default(level.as_filter().min(LevelFilter::INFO))
            .with_target("credential_report_exporter", level.as_filter()),
        false => Targets::new().with_default(level.as_filter()),
    };
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(|| LogWriter { json: false }),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(|| LogWriter { json: true }),
            )
            .init(),
    }
}
