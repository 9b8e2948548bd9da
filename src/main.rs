//! credential-report-exporter: watches a folder of cloud credential reports and serves
//! their credential hygiene as Prometheus metrics. Flags, logging and wiring only.

use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use clap::Parser;
use tokio::net::TcpListener;
use tracing::info;

use credential_report_exporter::config::{Config, LogFormat};
use credential_report_exporter::exposition::{Exposition, ExpositionOptions};
use credential_report_exporter::reload::{LoadOptions, Reloader, Selection};
use credential_report_exporter::report::ReadOptions;
use credential_report_exporter::snapshot::Snapshot;
use credential_report_exporter::{http, watch};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_logging(&config);

    let snapshot = Arc::new(ArcSwap::from_pointee(Snapshot::default()));
    let reloader = Reloader::new(
        config.report_dir.clone(),
        Selection {
            glob: config.report_glob.clone(),
            name_pattern: config.report_name_pattern.clone(),
        },
        LoadOptions {
            read: ReadOptions {
                timezone: config.report_timezone.clone(),
            },
            keep_users: config.metrics_per_user,
            max_bytes: config.report_max_bytes,
        },
        Arc::clone(&snapshot),
    );
    let watch_options = watch::WatchOptions {
        debounce: config.watch_debounce,
        poll_interval: config.watch_poll_interval,
    };
    tokio::spawn(watch::run(
        config.report_dir.clone(),
        reloader,
        watch_options,
    ));

    let exposition = Exposition::new(
        Arc::clone(&snapshot),
        ExpositionOptions {
            per_user: config.metrics_per_user,
            show_secret_ids: config.metrics_show_secret_ids,
        },
    );
    let app = http::router(http::AppState {
        snapshot,
        exposition: Arc::new(exposition),
        telemetry_path: config.web_telemetry_path.clone(),
    });
    let listener = bind(&config.web_listen_address).await?;
    info!(
        version = env!("CARGO_PKG_VERSION"),
        address = %listener.local_addr()?,
        dir = %config.report_dir.display(),
        "credential-report-exporter listening"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    info!("shut down cleanly");
    Ok(())
}

/// `:9877` means every interface, as in other exporters: IPv6 and IPv4 where the host has
/// both, IPv4 alone where it does not.
async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    if address.starts_with(':') {
        if let Ok(listener) = TcpListener::bind(format!("[::]{address}")).await {
            return Ok(listener);
        }
        return TcpListener::bind(format!("0.0.0.0{address}"))
            .await
            .with_context(|| format!("listening on --web.listen-address={address}"));
    }
    TcpListener::bind(address)
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

fn init_logging(config: &Config) {
    use tracing_subscriber::prelude::*;
    let filter = config.log_level.as_filter();
    let registry = tracing_subscriber::registry().with(filter);
    match config.log_format {
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}
