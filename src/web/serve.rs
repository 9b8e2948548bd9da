//! The accept loop: plain HTTP or TLS on one listener, HTTP/1.1 with a header read
//! timeout, and a shutdown that stops accepting at once and gives requests in flight a
//! short grace. (`axum::serve` takes neither TLS nor a header timeout.)

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

/// How long requests in flight may finish after a shutdown signal; well inside the 5 s a
/// supervisor gives before it kills, and scrapes are short.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

pub struct ServeOptions {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long a client may take to send a request's headers (and, with TLS, its
    /// handshake); also how long an idle kept-alive connection stays open. `None`: no limit.
    pub read_header_timeout: Option<Duration>,
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.read_header_timeout);
    let tls = options.tls.map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, mostly; back off rather than spin.
                    warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        let http = http.clone();
        let tls = tls.clone();
        let handshake_timeout = options.read_header_timeout;
        tokio::spawn(async move {
            let result = match tls {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    let handshake = match handshake_timeout {
                        Some(limit) => tokio::time::timeout(limit, handshake).await,
                        None => Ok(handshake.await),
                    };
                    let stream = match handshake {
                        Ok(Ok(stream)) => stream,
                        // Scanners, plain HTTP to the TLS port, refused client certificates:
                        // the client's problem, logged quietly.
                        Ok(Err(error)) => {
                            debug!(%peer, %error, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
            };
            if let Err(error) = result {
                debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            warn!(grace = ?SHUTDOWN_GRACE, "requests still in flight at shutdown were cut off");
        }
    }
}
