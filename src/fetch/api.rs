//! The HTTP client of the providers we call without an SDK (Alibaba, Tencent): HTTPS with
//! rustls (ring) and the system's CA certificates; plain HTTP only to loopback, for tests.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Buf, Bytes};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use super::sign::Known;
use super::{FailureReason, FetchError};

/// The largest report the fetcher takes: its pages together (Alibaba), its one answer
/// (AWS), the lists it is rebuilt from (Tencent). A report of 100,000 users is about 30 MB;
/// AWS and Alibaba accounts hold a few thousand. With [`MAX_ANSWER_BYTES`] it keeps the
/// fetcher within its containers' 128 MiB (docs/security.md).
pub(super) const MAX_REPORT_BYTES: usize = 32 << 20;
/// One answer at most, from every provider: a whole report in base64 (AWS sends it so, in
/// one answer) and 1 MiB for the envelope around it. Larger answers are refused as they
/// arrive, before they are held (at once when their `Content-Length` says so).
pub(super) const MAX_ANSWER_BYTES: usize = MAX_REPORT_BYTES / 3 * 4 + (1 << 20);
/// One call, connect to last byte. Generous: a page of a large report is slow on a slow link.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The environment a source reads its credentials from (tests pass their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where an API lives: its base URL and the `Host` header the signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
    host: String,
}

impl Endpoint {
    /// `https://host[:port]`, or `http://127.0.0.1:PORT` (loopback only: credentials and reports
    /// never cross a network in clear text). No path, query or user info.
    pub fn parse(flag: &str, url: &str) -> anyhow::Result<Endpoint> {
        let url = url.trim().trim_end_matches('/');
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| anyhow::anyhow!("{flag}: {url:?} is not a URL like https://host"))?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            anyhow::bail!(
                "{flag}: {url:?} must be scheme://host[:port], with no path, query or user"
            );
        }
        // `host`, `host:port`, `[v6]` or `[v6]:port`.
        let (hostname, port) = match rest.strip_prefix('[') {
            Some(v6) => {
                let (addr, after) = v6.split_once(']').ok_or_else(|| {
                    anyhow::anyhow!("{flag}: {url:?} has an unclosed [IPv6 address]")
                })?;
                (&rest[..addr.len() + 2], after.strip_prefix(':'))
            }
            None => match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            },
        };
        if let Some(port) = port {
            port.parse::<u16>()
                .map_err(|_| anyhow::anyhow!("{flag}: {url:?} has a port that is not a number"))?;
        }
        match scheme {
            "https" => {}
            "http" => refuse_plain_http(flag, url, hostname)?,
            other => anyhow::bail!("{flag}: {url:?}: scheme {other:?} is neither https nor http"),
        }
        Ok(Endpoint {
            base: format!("{scheme}://{rest}"),
            host: rest.to_owned(),
        })
    }

    /// `host[:port]` as the `Host` header carries it.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Plain http is for tests on loopback only, for every provider: credentials and reports
/// never cross a network in clear text. `hostname` as a URL writes it (`[::1]`).
pub fn refuse_plain_http(flag: &str, url: &str, hostname: &str) -> anyhow::Result<()> {
    match is_loopback(hostname) {
        true => Ok(()),
        false => anyhow::bail!(
            "{flag}: {url:?}: plain http is accepted only to 127.0.0.1, [::1] or localhost (tests); use https"
        ),
    }
}

pub fn is_loopback(hostname: &str) -> bool {
    matches!(hostname, "127.0.0.1" | "[::1]" | "::1" | "localhost")
}

/// One answer: the status and the whole body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct ApiClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl ApiClient {
    pub fn new() -> anyhow::Result<ApiClient> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .map_err(|e| anyhow::anyhow!("loading the system's CA certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(ApiClient {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(https),
        })
    }

    /// POSTs `body` to `endpoint` + `path_and_query` with exactly `headers` (which hold `Host`),
    /// and reads an answer of at most `max` bytes ([`MAX_ANSWER_BYTES`] or less). Errors are
    /// [`FailureReason::Network`] (no answer at all) or, for a larger answer,
    /// [`FailureReason::InvalidResponse`].
    pub async fn post(
        &self,
        endpoint: &Endpoint,
        path_and_query: &str,
        headers: &[(String, String)],
        content_type: Option<&str>,
        body: Vec<u8>,
        max: usize,
    ) -> Result<Answer, FetchError> {
        let mut req = hyper::Request::post(format!("{}{path_and_query}", endpoint.base));
        for (name, value) in headers {
            req = req.header(name.as_str(), value.as_str());
        }
        if let Some(ct) = content_type {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                req = req.header("content-type", ct);
            }
        }
        let req = req.body(Full::new(Bytes::from(body))).map_err(|e| {
            FetchError::new(FailureReason::Network, format!("building the request: {e}"))
        })?;
        let call = async {
            let res = self.client.request(req).await.map_err(|e| {
                FetchError::new(
                    FailureReason::Network,
                    format!("{}: {}", endpoint.host, error_chain(&e)),
                )
            })?;
            let status = res.status().as_u16();
            let body = read_capped(res, max).await.map_err(|e| {
                FetchError::new(e.reason, format!("{}: {}", endpoint.host, e.message))
            })?;
            Ok(Answer { status, body })
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::new(
                    FailureReason::Network,
                    format!("{}: no answer within {CALL_TIMEOUT:?}", endpoint.host),
                ))
            })
    }
}

/// `res`'s whole body, as [`read_body_capped`] reads it, with its `Content-Length`.
async fn read_capped<B>(res: hyper::Response<B>, max: usize) -> Result<Bytes, FetchError>
where
    B: hyper::body::Body,
    B::Error: std::fmt::Display,
{
    let declared = res
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    read_body_capped(res.into_body(), declared, max).await
}

/// The whole body, into one buffer of its size: refused at once when the length it declares
/// passes `max`, else as soon as the bytes that came do. (Collecting the pieces and joining
/// them held the answer twice.) Past [`super::budget::SMALL`] it waits for the gate first.
/// Every answer is read here, the AWS SDK's too (through its connector).
pub(super) async fn read_body_capped<B>(
    body: B,
    declared: Option<u64>,
    max: usize,
) -> Result<Bytes, FetchError>
where
    B: hyper::body::Body,
    B::Error: std::fmt::Display,
{
    let too_large = || {
        FetchError::new(
            FailureReason::InvalidResponse,
            format!("the answer is larger than {max} bytes, the most the fetcher reads here"),
        )
    };
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let declared = declared.unwrap_or(0) as usize;
    super::budget::hold(declared).await;
    let mut buffer = Vec::with_capacity(declared);
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            FetchError::new(FailureReason::Network, format!("reading the answer: {e}"))
        })?;
        if let Ok(mut data) = frame.into_data() {
            let held = buffer.len() + data.remaining();
            if held > max {
                return Err(too_large());
            }
            super::budget::hold(held).await;
            while data.has_remaining() {
                let chunk = data.chunk();
                buffer.extend_from_slice(chunk);
                let n = chunk.len();
                data.advance(n);
            }
        }
    }
    Ok(Bytes::from(buffer))
}

/// An error and its causes, by their `Display` only (never `Debug`, which may print what
/// an answer held).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// A fresh value for replay guards (Alibaba's signature nonce): 128 random bits, hex.
pub fn nonce() -> String {
    random_hex(16)
}

/// `bytes` random bytes from the system's source, as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buffer)
        .expect("the system's random source");
    super::sign::hex(&buffer)
}

/// For `map_err` on [`ApiClient::post`]: the failed call's error, named by `action` and
/// scrubbed of the secrets and key ids in `known`, as every message of a cloud call is.
pub fn failed_call<'a>(
    action: &'a str,
    known: &'a Known<'a>,
) -> impl FnOnce(FetchError) -> FetchError + 'a {
    move |e| FetchError::new(e.reason, format!("{action}: {}", known.scrub(&e.message)))
}

/// A JSON error without the value that caused it (it could be a key id or a token).
pub fn json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "malformed JSON",
        Category::Eof => "JSON cut off",
        Category::Io => "unreadable",
        Category::Data => "a field is missing or has the wrong type",
    };
    // serde_json's own text names the field for a missing one, and quotes the value for a wrong
    // type; keep the former, drop the latter.
    let text = e.to_string();
    let detail = text
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map(|f| format!(" (missing field {f})"))
        .unwrap_or_default();
    // A list longer than the fetcher takes says so (its length, not its content).
    let detail = match text.starts_with("invalid length ") {
        true => format!(" ({})", text.split(" at line").next().unwrap_or("")),
        false => detail,
    };
    format!("{what}{detail} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        let e = Endpoint::parse("--x", "https://api.example.com/").unwrap();
        assert_eq!(e.host(), "api.example.com");
        assert_eq!(
            Endpoint::parse("--x", "http://127.0.0.1:4000")
                .unwrap()
                .host(),
            "127.0.0.1:4000"
        );
        let err = Endpoint::parse("--cloud.endpoint", "http://api.example.com")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--cloud.endpoint") && err.contains("127.0.0.1"),
            "{err}"
        );
        assert_eq!(
            Endpoint::parse("--x", "http://[::1]:9").unwrap().host(),
            "[::1]:9"
        );
        assert_eq!(
            Endpoint::parse("--x", "https://[2001:db8::1]")
                .unwrap()
                .host(),
            "[2001:db8::1]"
        );
        assert!(
            Endpoint::parse("--x", "http://[::2]:9").is_err(),
            "not loopback"
        );
        assert!(Endpoint::parse("--x", "https://h/path").is_err());
        assert!(Endpoint::parse("--x", "ftp://h").is_err());
        assert!(Endpoint::parse("--x", "https://h:port").is_err());
    }
}
