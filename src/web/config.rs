//! The `--web.config.file` of the Prometheus exporter-toolkit, read once at start: TLS,
//! basic auth users, extra response headers and a rate limit, checked before anything is served.
//!
//! Every key the toolkit accepts is accepted here, so existing files work unchanged. Keys
//! that would *tighten* access but cannot be honoured with rustls (TLS 1.0/1.1, the P-521
//! curve, `client_allowed_sans`) are refused with an error rather than silently ignored;
//! `http2: true` only draws a warning, since serving HTTP/1.1 instead loosens nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use axum::http::{HeaderName, HeaderValue};
use serde::Deserialize;

/// The file as written; names and shapes are the toolkit's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    tls_server_config: TlsFile,
    #[serde(default)]
    http_server_config: HttpFile,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    #[serde(default)]
    rate_limit: RateLimitFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Vec<String>,
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    curve_preferences: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    interval: Option<GoDuration>,
    burst: Option<u32>,
}

/// Go's YAML reads a `time.Duration` from a string like `1m30s` or from nanoseconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum GoDuration {
    Text(String),
    Nanoseconds(u64),
}

/// The web configuration, checked; the files it names are read when TLS is set up.
#[derive(Debug, Default)]
pub struct WebConfig {
    /// `None`: plain HTTP.
    pub tls: Option<TlsSettings>,
    /// Users and their bcrypt hashes; empty: no basic auth.
    pub users: BTreeMap<String, String>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub rate_limit: Option<RateLimit>,
    /// Keys accepted but not acted on, for the log.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert: Pem,
    pub key: Pem,
    pub client_auth: ClientAuth,
    pub client_ca: Option<Pem>,
    pub min_version: TlsVersion,
    pub max_version: TlsVersion,
    /// IANA names of the TLS 1.2 suites allowed; empty: rustls's defaults.
    pub cipher_suites: Vec<String>,
    pub prefer_server_cipher_suites: bool,
    /// Key exchange groups in preference order; empty: rustls's defaults.
    pub curve_preferences: Vec<Curve>,
}

/// PEM text, from a file (re-read when it changes, for certificate rotation) or inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    File(PathBuf),
    Inline(String),
}

/// Go's `tls.ClientAuthType`, by the toolkit's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    NoClientCert,
    /// Asks for a certificate, accepts any or none.
    RequestClientCert,
    /// Requires a certificate but does not verify it.
    RequireAnyClientCert,
    /// Verifies a certificate if one is sent.
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    X25519,
}

/// A token bucket: one request per `interval`, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

/// Headers the toolkit lets a file set, with the values it allows (`None`: any).
const EXTRA_HEADERS: &[(&str, Option<&[&str]>)] = &[
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

impl WebConfig {
    /// Reads and checks the file. Relative paths in it are relative to its folder, as in the
    /// toolkit. Errors name the key at fault; callers add the file's name.
    pub fn load(path: &Path) -> anyhow::Result<WebConfig> {
        let text = std::fs::read_to_string(path).context("cannot read the file")?;
        let dir = path.parent().unwrap_or(Path::new(""));
        WebConfig::parse(&text, dir)
    }

    /// Parses and checks the text, without reading the files it names.
    pub fn parse(text: &str, dir: &Path) -> anyhow::Result<WebConfig> {
        // An empty file (or one of comments only) is a valid, empty configuration.
        let file: File = serde_norway::from_str::<Option<File>>(text)
            .context("not a valid web configuration")?
            .unwrap_or_default();
        let mut warnings = Vec::new();
        let tls = tls_settings(file.tls_server_config, dir)?;
        if file.http_server_config.http2 == Some(true) {
            warnings.push(
                "http_server_config.http2: true is accepted, but only HTTP/1.1 is served (Prometheus scrapes over HTTP/1.1)".to_owned(),
            );
        }
        let headers = headers(file.http_server_config.headers)?;
        for (user, hash) in &file.basic_auth_users {
            // Basic auth sends `user:password`, split at the first colon: such a user could
            // never log in.
            if user.contains(':') {
                bail!("basic_auth_users.{user}: a user name cannot contain a colon: basic auth splits user and password at the first one, so this user could never log in");
            }
            if user.is_empty() {
                bail!("basic_auth_users: a user name cannot be empty");
            }
            check_bcrypt_hash(hash).with_context(|| format!("basic_auth_users.{user}"))?;
        }
        Ok(WebConfig {
            tls,
            users: file.basic_auth_users,
            headers,
            rate_limit: rate_limit(file.rate_limit)?,
            warnings,
        })
    }
}

fn tls_settings(file: TlsFile, dir: &Path) -> anyhow::Result<Option<TlsSettings>> {
    // As in the toolkit: TLS is on when any certificate, key, CA or client auth key is set;
    // a section with only versions or suites leaves plain HTTP.
    let enabled = file.cert.is_some()
        || file.key.is_some()
        || file.cert_file.is_some()
        || file.key_file.is_some()
        || file.client_ca.is_some()
        || file.client_ca_file.is_some()
        || file.client_auth_type.is_some();
    if !enabled {
        return Ok(None);
    }
    let pem = |file_key: &str,
               path: Option<PathBuf>,
               inline_key: &str,
               inline: Option<String>|
     -> anyhow::Result<Option<Pem>> {
        match (path, inline) {
            (Some(_), Some(_)) => {
                bail!("tls_server_config: set {file_key} or {inline_key}, not both")
            }
            (Some(path), None) => Ok(Some(Pem::File(dir.join(path)))),
            (None, Some(text)) => Ok(Some(Pem::Inline(text))),
            (None, None) => Ok(None),
        }
    };
    let cert = pem("cert_file", file.cert_file, "cert", file.cert)?
        .context("tls_server_config: missing one of cert or cert_file")?;
    let key = pem("key_file", file.key_file, "key", file.key)?
        .context("tls_server_config: missing one of key or key_file")?;
    let client_ca = pem(
        "client_ca_file",
        file.client_ca_file,
        "client_ca",
        file.client_ca,
    )?;
    let client_auth = match file.client_auth_type.as_deref().unwrap_or("") {
        "" | "NoClientCert" => ClientAuth::NoClientCert,
        "RequestClientCert" => ClientAuth::RequestClientCert,
        // The toolkit keeps the old name for compatibility.
        "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
        other => bail!(
            "tls_server_config.client_auth_type: {other:?} is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"
        ),
    };
    if client_ca.is_some() && client_auth == ClientAuth::NoClientCert {
        bail!("tls_server_config: a client CA is configured without a client_auth_type (set RequireAndVerifyClientCert to verify clients)");
    }
    if client_ca.is_none()
        && matches!(
            client_auth,
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
        )
    {
        bail!("tls_server_config: client_auth_type {client_auth:?} needs client_ca_file or client_ca to verify client certificates against");
    }
    if file.client_allowed_sans.is_some() {
        bail!("tls_server_config.client_allowed_sans is not supported by this exporter; restrict clients with a dedicated client CA instead");
    }
    let min_version = tls_version("min_version", file.min_version)?.unwrap_or(TlsVersion::Tls12);
    let max_version = tls_version("max_version", file.max_version)?.unwrap_or(TlsVersion::Tls13);
    if min_version > max_version {
        bail!("tls_server_config: min_version is above max_version");
    }
    let cipher_suites = cipher_suites(file.cipher_suites)?;
    let curve_preferences = file
        .curve_preferences
        .iter()
        .map(|name| match name.as_str() {
            "CurveP256" => Ok(Curve::P256),
            "CurveP384" => Ok(Curve::P384),
            "X25519" => Ok(Curve::X25519),
            "CurveP521" => bail!("tls_server_config.curve_preferences: CurveP521 is not supported by this exporter's TLS library (rustls with ring); use CurveP256, CurveP384 or X25519"),
            other => bail!("tls_server_config.curve_preferences: unknown curve {other:?}; expected CurveP256, CurveP384 or X25519"),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(TlsSettings {
        cert,
        key,
        client_auth,
        client_ca,
        min_version,
        max_version,
        cipher_suites,
        prefer_server_cipher_suites: file.prefer_server_cipher_suites.unwrap_or(true),
        curve_preferences,
    }))
}

fn tls_version(key: &str, name: Option<String>) -> anyhow::Result<Option<TlsVersion>> {
    match name.as_deref() {
        None => Ok(None),
        Some("TLS12") => Ok(Some(TlsVersion::Tls12)),
        Some("TLS13") => Ok(Some(TlsVersion::Tls13)),
        Some(old @ ("TLS10" | "TLS11")) => bail!(
            "tls_server_config.{key}: {old} is not supported: this exporter's TLS library (rustls) speaks TLS 1.2 and 1.3 only; use TLS12 or TLS13"
        ),
        Some(other) => bail!("tls_server_config.{key}: unknown TLS version {other:?}; expected TLS12 or TLS13"),
    }
}

/// Go's names for TLS 1.2 suites are the IANA names rustls uses. As in Go, the list does
/// not apply to TLS 1.3, whose suites are always on; naming them is allowed and does nothing.
fn cipher_suites(names: Vec<String>) -> anyhow::Result<Vec<String>> {
    let tls12: Vec<String> = super::suites::tls12_suite_names();
    let tls13 = super::suites::tls13_suite_names();
    let mut kept = Vec::new();
    for name in names {
        if tls12.contains(&name) {
            kept.push(name);
        } else if !tls13.contains(&name) {
            bail!(
                "tls_server_config.cipher_suites: {name:?} is not supported by this exporter (rustls); supported TLS 1.2 suites: {}",
                tls12.join(", ")
            );
        }
    }
    Ok(kept)
}

fn headers(headers: BTreeMap<String, String>) -> anyhow::Result<Vec<(HeaderName, HeaderValue)>> {
    let mut checked = Vec::new();
    for (name, value) in headers {
        let Some((_, allowed)) = EXTRA_HEADERS.iter().find(|(known, _)| *known == name) else {
            bail!(
                "http_server_config.headers: HTTP header {name:?} can not be configured; allowed: {}",
                EXTRA_HEADERS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            );
        };
        // "Unset if blank", as the toolkit documents.
        if value.is_empty() {
            continue;
        }
        if let Some(allowed) = allowed {
            if !allowed.contains(&value.as_str()) {
                bail!("http_server_config.headers.{name}: {value:?} is not one of {allowed:?}");
            }
        }
        let value = HeaderValue::from_str(&value).with_context(|| {
            format!("http_server_config.headers.{name}: not a valid header value")
        })?;
        checked.push((HeaderName::from_bytes(name.as_bytes())?, value));
    }
    Ok(checked)
}

/// The highest bcrypt cost accepted. Each step doubles the time a check takes: 10 (what
/// `htpasswd -nBC 10` and the toolkit's docs use) takes about 50 ms, 12 about 0.2 s, and 16
/// about 3 s, already most of Prometheus's default 10 s scrape timeout for the first scrape
/// after a start. 31 would take days: the exporter would look hung.
pub const MAX_BCRYPT_COST: u32 = 16;

fn check_bcrypt_hash(hash: &str) -> anyhow::Result<()> {
    let parts: bcrypt::HashParts = hash.parse().context("not a bcrypt hash")?;
    let cost = parts.get_cost();
    if cost < 4 {
        bail!("bcrypt cost {cost} is below 4, the least bcrypt allows");
    }
    if cost > MAX_BCRYPT_COST {
        let seconds = 0.05 * f64::from(1u32 << (cost - 10).min(30));
        bail!(
            "bcrypt cost {cost} is above {MAX_BCRYPT_COST}: each check of a new password would take about {} (cost 10 takes about 50 ms, and each step doubles it); make the hash again with cost 10 to 12, e.g. htpasswd -nBC 10 \"\" | tr -d ':\\n'",
            about(seconds)
        );
    }
    Ok(())
}

/// A rough duration for a message: seconds, minutes, hours or days.
fn about(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} minutes", s / 60.0),
        s if s < 172_800.0 => format!("{:.0} hours", s / 3600.0),
        s => format!("{:.0} days", s / crate::model::DAY as f64),
    }
}

fn rate_limit(file: RateLimitFile) -> anyhow::Result<Option<RateLimit>> {
    let interval = match file.interval {
        None => return Ok(None),
        Some(GoDuration::Nanoseconds(nanos)) => Duration::from_nanos(nanos),
        Some(GoDuration::Text(text)) => parse_go_duration(&text).with_context(|| {
            format!("rate_limit.interval: {text:?} is not a duration like 1s or 100ms")
        })?,
    };
    // Zero turns the limiter off, as in the toolkit.
    if interval.is_zero() {
        return Ok(None);
    }
    let burst = file.burst.unwrap_or(0);
    if burst == 0 {
        bail!("rate_limit.burst must be at least 1 when rate_limit.interval is set (a burst of 0 refuses every request)");
    }
    Ok(Some(RateLimit { interval, burst }))
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units, such as `1m30s` or `1.5h`.
fn parse_go_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * seconds;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<WebConfig> {
        WebConfig::parse(text, Path::new("/etc/exporter"))
    }

    fn error(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    const HASH: &str = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";

    #[test]
    fn empty_file_is_plain_http_without_auth() {
        for text in ["", "# nothing yet\n", "{}"] {
            let config = parse(text).unwrap();
            assert!(config.tls.is_none() && config.users.is_empty() && config.headers.is_empty());
        }
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let config =
            parse("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: /abs/server.key\n")
                .unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.cert, Pem::File("/etc/exporter/tls/server.crt".into()));
        assert_eq!(tls.key, Pem::File("/abs/server.key".into()));
        assert_eq!(tls.min_version, TlsVersion::Tls12);
        assert_eq!(tls.client_auth, ClientAuth::NoClientCert);
    }

    #[test]
    fn toolkit_sample_file_is_accepted() {
        let config = parse(&format!(
            r#"
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  alice: {HASH}
rate_limit:
  interval: 1s
  burst: 10
"#
        ))
        .unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.client_auth, ClientAuth::RequireAndVerifyClientCert);
        assert_eq!(tls.min_version, TlsVersion::Tls13);
        assert_eq!(tls.cipher_suites, ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]);
        assert_eq!(tls.curve_preferences, [Curve::X25519, Curve::P256]);
        assert!(!tls.prefer_server_cipher_suites);
        assert_eq!(config.users["alice"], HASH);
        assert_eq!(config.headers.len(), 2, "blank headers are unset");
        assert_eq!(
            config.rate_limit,
            Some(RateLimit {
                interval: Duration::from_secs(1),
                burst: 10
            })
        );
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
    }

    #[test]
    fn mistakes_are_named() {
        assert!(error("tls_server_config:\n  cert_fil: a\n").contains("cert_fil"));
        assert!(error("basic_auth_user:\n  a: b\n").contains("basic_auth_user"));
        assert!(error("basic_auth_users:\n  alice: hunter2\n").contains("basic_auth_users.alice"));
        let colon = error(&format!("basic_auth_users:\n  \"ali:ce\": {HASH}\n"));
        assert!(colon.contains("cannot contain a colon"), "{colon}");
        // Cost 31 hung the start silently, making the dummy hash.
        let slow = HASH.replacen("$10$", "$31$", 1);
        let slow = error(&format!("basic_auth_users:\n  alice: {slow}\n"));
        assert!(slow.contains("bcrypt cost 31 is above 16"), "{slow}");
        assert!(slow.contains("29 hours"), "{slow}");
        assert!(error("tls_server_config:\n  cert_file: a\n").contains("key_file"));
        assert!(error(
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n"
        )
        .contains("Sometimes"));
        assert!(
            error("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n")
                .contains("client_auth_type")
        );
        assert!(error("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n").contains("client_ca_file"));
        assert!(
            error("http_server_config:\n  headers:\n    X-Powered-By: me\n")
                .contains("X-Powered-By")
        );
        assert!(
            error("http_server_config:\n  headers:\n    X-Frame-Options: allow\n")
                .contains("allow")
        );
        assert!(error("rate_limit:\n  interval: soon\n  burst: 1\n").contains("soon"));
        assert!(error("rate_limit:\n  interval: 1s\n").contains("burst"));
    }

    #[test]
    fn what_rustls_cannot_do_is_refused_not_ignored() {
        let tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
        let message = error(&format!("{tls}  min_version: TLS10\n"));
        assert!(
            message.contains("TLS10") && message.contains("TLS 1.2"),
            "{message}"
        );
        assert!(error(&format!("{tls}  max_version: TLS11\n")).contains("TLS11"));
        assert!(error(&format!(
            "{tls}  min_version: TLS13\n  max_version: TLS12\n"
        ))
        .contains("above"));
        assert!(error(&format!(
            "{tls}  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n"
        ))
        .contains("TLS_RSA_WITH_RC4_128_SHA"));
        assert!(error(&format!("{tls}  curve_preferences: [CurveP521]\n")).contains("CurveP521"));
        assert!(error(&format!("{tls}  client_allowed_sans: [a.example]\n"))
            .contains("client_allowed_sans"));
    }

    #[test]
    fn the_shipped_example_parses() {
        let text = include_str!("../../examples/web-config.yml");
        let config = parse(text).unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.client_auth, ClientAuth::RequireAndVerifyClientCert);
        assert_eq!(tls.cert, Pem::File("/etc/exporter/tls/server.crt".into()));
        assert!(config.users.contains_key("prometheus"));
        assert!(config.warnings.is_empty());
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("1d"), None);
    }
}
