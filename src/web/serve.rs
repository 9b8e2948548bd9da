//! The accept loop: plain HTTP or TLS on one listener, HTTP/1.1 with a header read
//! timeout and a write timeout, and a shutdown that stops accepting at once and gives
//! requests in flight a short grace. (`axum::serve` takes neither TLS nor the timeouts.)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
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
    /// How long a client may accept no byte of an answer before it is dropped, and the
    /// request slot it held freed. `None`: no limit.
    pub write_timeout: Option<Duration>,
}

/// The write timeout of servers with no flag for it (the fetcher's): longer than any
/// scrape timeout, so only a client that stopped reading meets it.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

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
        let stream = WriteTimeout::new(stream, options.write_timeout);
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

/// A connection whose writes fail once the client has accepted no byte for `limit`: hyper
/// has no write timeout, and a client that requests a large answer and never reads it
/// would hold its request slot (and the answer) for ever. Under TLS, so a stalled
/// handshake or record write counts too.
struct WriteTimeout {
    stream: TcpStream,
    limit: Option<Duration>,
    /// Set while writes are blocked, from the first one that was; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteTimeout {
    fn new(stream: TcpStream, limit: Option<Duration>) -> Self {
        WriteTimeout {
            stream,
            limit,
            stalled: None,
        }
    }

    /// `poll`'s result, or a timeout error once writes have been blocked for the limit.
    fn watch<T>(
        &mut self,
        context: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let result = poll(Pin::new(&mut self.stream), context);
        let Some(limit) = self.limit else {
            return result;
        };
        if result.is_ready() {
            self.stalled = None;
            return result;
        }
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(context) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client accepted no bytes for {limit:?} (--web.write-timeout)"),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteTimeout {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(context, buf)
    }
}

impl AsyncWrite for WriteTimeout {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .watch(context, |stream, context| stream.poll_write(context, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().watch(context, |stream, context| {
            stream.poll_write_vectored(context, bufs)
        })
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .watch(context, |stream, context| stream.poll_flush(context))
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .watch(context, |stream, context| stream.poll_shutdown(context))
    }
}
