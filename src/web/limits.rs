//! What bounds the work one client can cause: concurrent requests (`--web.max-requests`),
//! the file's `rate_limit`, and the file's extra response headers.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::auth::OPEN_PATHS;
use super::config::RateLimit;

/// Middleware: 503 at once when `--web.max-requests` are already in flight, as
/// node_exporter's flag of that name does. Waiting instead would only pile up work for a
/// client (Prometheus) that retries on its next interval anyway. The probes are not
/// counted, so a burst of scrapes cannot get the container restarted.
pub async fn concurrency(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    match permits.try_acquire_owned() {
        Ok(permit) => {
            let response = next.run(request).await;
            // A body made already and shared costs a socket to send, not work: the slot
            // is free for the next request however slowly this one is read.
            if response.extensions().get::<Shared>().is_some() {
                return response;
            }
            // Otherwise held until the body is sent, not only until the handler returns:
            // a body encoded while it streams is work for as long as it is read.
            response.map(|body| {
                Body::new(Holding {
                    body,
                    _permit: permit,
                })
            })
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "Too many concurrent requests (--web.max-requests)\n",
        )
            .into_response(),
    }
}

/// A response extension: its body is made already and shared between requests, so sending
/// it holds no `--web.max-requests` slot.
#[derive(Debug, Clone, Copy)]
pub struct Shared;

/// A body that holds a permit until it is sent or dropped.
struct Holding {
    body: Body,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for Holding {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A token bucket shared by all clients, as the toolkit's `rate_limit`: it starts full,
/// gains one token per interval, and holds at most `burst`.
pub struct TokenBucket {
    interval: Duration,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket {
            interval: limit.interval,
            burst: f64::from(limit.burst),
            state: Mutex::new((f64::from(limit.burst), Instant::now())),
        }
    }

    fn allow(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = *state;
        let earned =
            now.saturating_duration_since(last).as_secs_f64() / self.interval.as_secs_f64();
        let tokens = (tokens + earned).min(self.burst);
        match tokens >= 1.0 {
            true => {
                *state = (tokens - 1.0, now);
                true
            }
            false => {
                *state = (tokens, now);
                false
            }
        }
    }
}

/// Middleware: 429 when the bucket is empty.
pub async fn rate(
    State(bucket): State<Arc<TokenBucket>>,
    request: Request,
    next: Next,
) -> Response {
    match bucket.allow(Instant::now()) {
        true => next.run(request).await,
        false => (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response(),
    }
}

/// Middleware: the configured headers on every response, refusals included.
pub async fn headers(
    State(headers): State<Arc<Vec<(HeaderName, HeaderValue)>>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_one_per_interval() {
        let bucket = TokenBucket::new(RateLimit {
            interval: Duration::from_secs(1),
            burst: 2,
        });
        let start = Instant::now();
        assert!(bucket.allow(start));
        assert!(bucket.allow(start));
        assert!(!bucket.allow(start));
        assert!(!bucket.allow(start + Duration::from_millis(500)));
        assert!(bucket.allow(start + Duration::from_millis(1001)));
        assert!(!bucket.allow(start + Duration::from_millis(1002)));
        assert!(bucket.allow(start + Duration::from_secs(60)));
        assert!(bucket.allow(start + Duration::from_secs(60)));
        assert!(
            !bucket.allow(start + Duration::from_secs(60)),
            "never more than the burst"
        );
    }
}
