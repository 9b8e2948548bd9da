//! The one fake-cloud HTTP helper of the fetcher's tests: an HTTP/1.1 server on 127.0.0.1
//! ([`Fake`]) that keeps every request and answer, and the clouds' signature verifiers
//! (ACS3 and TC3 here, SigV4 in [`sigv4`]), written from the clouds' documents, never calling
//! the fetcher's signer, so a bug there cannot hide in both. On top of it, one fake per cloud
//! ([`aws`], [`alibaba`], [`tencent`]), each playing [`Fault`]s in its vendor's words.
#![allow(dead_code)] // each test file uses a different part of this

pub mod alibaba;
pub mod aws;
pub mod hostile;
pub mod sigv4;
pub mod sigv4_suite;
pub mod tencent;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ring::{digest, hmac};

pub const BINARY: &str = env!("CARGO_BIN_EXE_credential-report-exporter");

/// One request as the fake received it: method, path, raw query, lower-case header names, body.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, its name matched without regard to case (as HTTP names are).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The form body's fields, percent-decoded (`+` is a space).
    pub fn form(&self) -> std::collections::HashMap<String, String> {
        String::from_utf8_lossy(&self.body)
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (decode(&k.replace('+', " ")), decode(&v.replace('+', " "))))
            .collect()
    }

    /// A query parameter, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k) == name).then(|| decode(v))
        })
    }
}

/// What can go wrong with one call, in our words; each fake answers it in its vendor's
/// (`aws::fault`, `alibaba::fault`, `tencent::fault`), so a case is written once for all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Too many calls (AWS `Throttling`, Alibaba `Throttling.User`, Tencent `RequestLimitExceeded`).
    Throttle,
    /// The caller may not do this; the message quotes its key id, as the clouds' do.
    Deny,
    /// The session token has expired (AWS `ExpiredToken`, Alibaba
    /// `InvalidSecurityToken.Expired`, Tencent `AuthFailure.TokenFailure`).
    ExpiredToken,
    /// The service failed (HTTP 503, or Tencent's HTML gateway page).
    ServerError,
    /// A success that is not the documented answer.
    Garbage,
}

/// An answer as a fake gives it: HTTP status and body.
pub type Answer = (u16, String);

/// A cloud's documented per-action rate limits, enforced as its gateway does: at most
/// `per_second` calls of one action by one account in any second (a window, not a bucket:
/// the strictest reading of "N requests per second"). A call over it is counted in
/// `refused`, and the fake answers it [`Fault::Throttle`] in its vendor's words.
pub struct RateLimits {
    /// (action, calls a second); the action `*` is every action not named.
    per_second: Vec<(&'static str, usize)>,
    /// Per account and action, when the calls of the last second arrived.
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
    pub refused: AtomicU64,
}

impl RateLimits {
    pub fn new(per_second: &[(&'static str, usize)]) -> RateLimits {
        RateLimits {
            per_second: per_second.to_vec(),
            recent: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        }
    }

    /// Whether `account` may call `action` now; the call is counted if it may.
    pub fn admit(&self, account: &str, action: &str) -> bool {
        let limit = (self.per_second.iter())
            .find(|(a, _)| *a == action)
            .or_else(|| self.per_second.iter().find(|(a, _)| *a == "*"));
        let Some(&(_, limit)) = limit else {
            return true;
        };
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap();
        let calls = recent.entry(format!("{account}/{action}")).or_default();
        while calls
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            calls.pop_front();
        }
        if calls.len() >= limit {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        calls.push_back(now);
        true
    }
}

/// Answers scripted per action, played before the fake's own: `Some` answer, or `None` to
/// answer normally that once (to fault the third call, not the first).
#[derive(Default)]
pub struct Scripts(Mutex<HashMap<String, VecDeque<Option<Answer>>>>);

impl Scripts {
    pub fn push(&self, action: &str, answers: impl IntoIterator<Item = Option<Answer>>) {
        let mut scripts = self.0.lock().unwrap();
        scripts
            .entry(action.to_owned())
            .or_default()
            .extend(answers);
    }

    /// The scripted answer to this call of `action`, if any.
    pub fn next(&self, action: &str) -> Option<Answer> {
        let mut scripts = self.0.lock().unwrap();
        scripts
            .get_mut(action)
            .and_then(VecDeque::pop_front)
            .flatten()
    }
}

/// An HTTP/1.1 server on 127.0.0.1 answering every request with `handler` (status, JSON body).
/// It keeps every request and every answer, for the test to look at afterwards.
pub struct Fake {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
    answers: Arc<Mutex<Vec<Exchange>>>,
}

/// One answer the fake gave: to which action, its HTTP status and body.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub action: String,
    pub status: u16,
    pub body: String,
}

impl Fake {
    /// A fake answering JSON (Alibaba, Tencent).
    pub fn start(handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static) -> Fake {
        Fake::start_answering("application/json", handler)
    }

    /// A fake whose answers are of `content_type` (AWS's query APIs answer `text/xml`).
    pub fn start_answering(
        content_type: &'static str,
        handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static,
    ) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let log = Arc::clone(&requests);
        let answered = Arc::clone(&answers);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                let answered = Arc::clone(&answered);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut stream = stream;
                    // Keep-alive: serve requests on this connection until the client closes it.
                    while let Some(request) = read_request(&mut reader) {
                        let (status, body) = handler(&request);
                        answered.lock().unwrap().push(Exchange {
                            action: action_of(&request),
                            status,
                            body: body.clone(),
                        });
                        log.lock().unwrap().push(request);
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        if stream.write_all(head.as_bytes()).is_err()
                            || stream.write_all(body.as_bytes()).is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Fake {
            port,
            requests,
            answers,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn actions(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(action_of)
            .collect()
    }

    /// Every answer given so far, in order.
    pub fn answers(&self) -> Vec<Exchange> {
        self.answers.lock().unwrap().clone()
    }

    /// Every answer given so far as tests/vendor_models.py takes them; `api` names the model
    /// of each action.
    pub fn model_answers(&self, api: fn(&str) -> &'static str) -> Vec<serde_json::Value> {
        let answers = self.answers().into_iter();
        answers.map(|a| serde_json::json!({"api": api(&a.action), "action": a.action, "status": a.status, "body": a.body})).collect()
    }
}

/// The API action a request asks for: Alibaba's and Tencent's headers, AWS's JSON APIs'
/// `X-Amz-Target`, the query's `Action`, or a form body's (AWS's query APIs).
fn action_of(r: &Request) -> String {
    let amz_target = r.header("x-amz-target").and_then(|t| t.split_once('.'));
    r.header("x-acs-action")
        .or(r.header("x-tc-action"))
        .or(amz_target.map(|(_, action)| action))
        .map(str::to_owned)
        .or_else(|| r.param("Action"))
        .or_else(|| r.form().remove("Action"))
        .unwrap_or_default()
}

fn read_request(reader: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    Some(Request {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
    })
}

pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Checks an ACS3-HMAC-SHA256 request as Alibaba's gateway would: the key id, the signed
/// headers, the body hash, the date (15 minutes), the nonce (never twice), the signature.
pub struct Acs3Verifier {
    pub key_id: String,
    pub secret: String,
    pub token: Option<String>,
    nonces: Mutex<HashSet<String>>,
}

impl Acs3Verifier {
    pub fn new(key_id: &str, secret: &str, token: Option<&str>) -> Acs3Verifier {
        Acs3Verifier {
            key_id: key_id.into(),
            secret: secret.into(),
            token: token.map(Into::into),
            nonces: Mutex::new(HashSet::new()),
        }
    }

    pub fn verify(&self, r: &Request) -> Result<(), String> {
        let auth = r.header("authorization").ok_or("no Authorization")?;
        let rest = auth
            .strip_prefix("ACS3-HMAC-SHA256 ")
            .ok_or("not ACS3-HMAC-SHA256")?;
        let mut credential = "";
        let mut signed = "";
        let mut signature = "";
        for part in rest.split(',') {
            let (k, v) = part
                .trim()
                .split_once('=')
                .ok_or("malformed Authorization")?;
            match k {
                "Credential" => credential = v,
                "SignedHeaders" => signed = v,
                "Signature" => signature = v,
                _ => return Err(format!("unknown Authorization part {k}")),
            }
        }
        if credential != self.key_id {
            return Err(format!("InvalidAccessKeyId.NotFound {credential}"));
        }
        let signed: Vec<&str> = signed.split(';').collect();
        let mut must = vec![
            "host",
            "x-acs-action",
            "x-acs-version",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
        ];
        if self.token.is_some() {
            must.push("x-acs-security-token");
        }
        for h in must {
            if !signed.contains(&h) {
                return Err(format!("{h} is not signed"));
            }
        }
        if r.header("x-acs-security-token") != self.token.as_deref() {
            return Err("InvalidSecurityToken".into());
        }
        let body_hash = sha256_hex(&r.body);
        if r.header("x-acs-content-sha256") != Some(body_hash.as_str()) {
            return Err("x-acs-content-sha256 is not the body's hash".into());
        }
        let date = r.header("x-acs-date").ok_or("no x-acs-date")?;
        let t: jiff::Timestamp = date.parse().map_err(|_| "x-acs-date unreadable")?;
        if (t.as_second() - now()).abs() > 900 {
            return Err("x-acs-date out of 15 minutes".into());
        }
        let nonce = r.header("x-acs-signature-nonce").ok_or("no nonce")?;
        if !self.nonces.lock().unwrap().insert(nonce.to_owned()) {
            return Err("SignatureNonceUsed".into());
        }
        let mut query: Vec<(String, String)> = r
            .query
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (encode(&decode(k)), encode(&decode(v)))
            })
            .collect();
        query.sort();
        let query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut canonical_headers = String::new();
        for h in &signed {
            let v = r.header(h).ok_or(format!("signed header {h} missing"))?;
            canonical_headers.push_str(&format!("{h}:{}\n", v.trim()));
        }
        let canonical = format!(
            "{}\n{}\n{query}\n{canonical_headers}\n{}\n{body_hash}",
            r.method,
            r.path,
            signed.join(";")
        );
        let to_sign = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical.as_bytes()));
        let expected = hex(&hmac256(self.secret.as_bytes(), to_sign.as_bytes()));
        if expected != signature {
            return Err("SignatureDoesNotMatch".into());
        }
        Ok(())
    }
}

/// Checks a TC3-HMAC-SHA256 request as Tencent's gateway would: key id, credential scope and
/// its date, timestamp (5 minutes), token, version, signed headers and signature.
pub struct Tc3Verifier {
    pub secret_id: String,
    pub secret_key: String,
    pub token: Option<String>,
}

impl Tc3Verifier {
    /// A request to CAM (2019-01-16).
    pub fn verify(&self, r: &Request) -> Result<(), String> {
        self.verify_for(r, "cam", "2019-01-16")
    }

    /// A request to the API whose credential scope names `service`, of `version`.
    pub fn verify_for(&self, r: &Request, service: &str, version: &str) -> Result<(), String> {
        if r.method != "POST" || r.path != "/" || !r.query.is_empty() {
            return Err("not a POST to /".into());
        }
        let auth = r.header("authorization").ok_or("no Authorization")?;
        let rest = auth
            .strip_prefix("TC3-HMAC-SHA256 ")
            .ok_or("not TC3-HMAC-SHA256")?;
        let mut credential = "";
        let mut signed = "";
        let mut signature = "";
        for part in rest.split(", ") {
            let (k, v) = part.split_once('=').ok_or("malformed Authorization")?;
            match k {
                "Credential" => credential = v,
                "SignedHeaders" => signed = v,
                "Signature" => signature = v,
                _ => return Err(format!("unknown Authorization part {k}")),
            }
        }
        let scope: Vec<&str> = credential.split('/').collect();
        let [id, date, scope_service, "tc3_request"] = scope.as_slice() else {
            return Err("malformed credential scope".into());
        };
        if *id != self.secret_id {
            return Err("AuthFailure.SecretIdNotFound".into());
        }
        if *scope_service != service {
            return Err(format!("scope service {scope_service}, not {service}"));
        }
        let ts: i64 = r
            .header("x-tc-timestamp")
            .ok_or("no X-TC-Timestamp")?
            .parse()
            .map_err(|_| "X-TC-Timestamp unreadable")?;
        if (ts - now()).abs() > 300 {
            return Err("AuthFailure.SignatureExpire".into());
        }
        let utc_date = jiff::Timestamp::from_second(ts)
            .unwrap()
            .strftime("%Y-%m-%d")
            .to_string();
        if *date != utc_date {
            return Err("scope date is not the timestamp's UTC date".into());
        }
        if r.header("x-tc-version") != Some(version) {
            return Err(format!("X-TC-Version is not {version}"));
        }
        if r.header("x-tc-token") != self.token.as_deref() {
            return Err("AuthFailure.TokenFailure".into());
        }
        let signed: Vec<&str> = signed.split(';').collect();
        if !signed.contains(&"content-type") || !signed.contains(&"host") {
            return Err("content-type and host must be signed".into());
        }
        let mut canonical_headers = String::new();
        for h in &signed {
            let v = r.header(h).ok_or(format!("signed header {h} missing"))?;
            canonical_headers.push_str(&format!("{h}:{}\n", v.trim().to_ascii_lowercase()));
        }
        let canonical = format!(
            "POST\n/\n\n{canonical_headers}\n{}\n{}",
            signed.join(";"),
            sha256_hex(&r.body)
        );
        let to_sign = format!(
            "TC3-HMAC-SHA256\n{ts}\n{date}/{service}/tc3_request\n{}",
            sha256_hex(canonical.as_bytes())
        );
        let k = hmac256(
            format!("TC3{}", self.secret_key).as_bytes(),
            date.as_bytes(),
        );
        let k = hmac256(&k, service.as_bytes());
        let k = hmac256(&k, b"tc3_request");
        if hex(&hmac256(&k, to_sign.as_bytes())) != signature {
            return Err("AuthFailure.SignatureFailure".into());
        }
        Ok(())
    }
}

/// `credential-report-exporter fetch` into `dir` with `args` and exactly `env` (plus PATH),
/// retrying and polling at test speed, logging everything.
fn fetch(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BINARY);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .arg("fetch")
        .arg("--report.dir")
        .arg(dir)
        .args([
            "--fetch.retry-backoff",
            "10ms",
            "--fetch.poll-interval",
            "10ms",
        ])
        .args(["--log.level", "debug"])
        .args(args);
    cmd
}

/// `fetch --once …`, to completion.
pub fn fetch_once(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = fetch(dir, &["--once", "--fetch.timeout", "60s"], env);
    cmd.args(args).output().expect("run the fetcher")
}

/// Everything the fetcher printed.
pub fn printed(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Fails if `text` holds any of the secrets, whole.
pub fn assert_no_secrets(text: &str, secrets: &[impl AsRef<str>]) {
    for s in secrets.iter().map(AsRef::as_ref) {
        assert!(
            !text.contains(s),
            "a secret or whole key id ({}…) reached the output:\n{text}",
            &s[..4]
        );
    }
}

/// A fetcher running in its loop, serving its /metrics; killed when dropped.
pub struct Fetcher {
    child: std::process::Child,
    pub address: String,
    logs: Option<std::thread::JoinHandle<String>>,
}

impl Fetcher {
    pub fn spawn(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Fetcher {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let mut cmd = fetch(dir, &["--web.listen-address", &address], env);
        cmd.args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("start the fetcher");
        let mut stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
            text
        });
        Fetcher {
            child,
            address,
            logs: Some(logs),
        }
    }

    /// `path`'s status and body, asking for `accept`; `None` while nothing answers.
    pub fn get(&self, path: &str, accept: &str) -> Option<(u16, String)> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("http://{}{path}", self.address);
        let mut response = agent.get(url).header("Accept", accept).call().ok()?;
        let body = response.body_mut().read_to_string().ok()?;
        Some((response.status().as_u16(), body))
    }

    /// The fetcher's /metrics once `ready` holds for it (waits up to 30 s).
    pub fn metrics_when(&self, ready: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut last = String::new();
        while std::time::Instant::now() < deadline {
            if let Some((200, body)) = self.get("/metrics", "text/plain") {
                if ready(&body) {
                    return body;
                }
                last = body;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the fetcher's /metrics never got ready; last:\n{last}");
    }

    /// Sends SIGTERM; the exit status and everything the fetcher logged.
    pub fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").arg(pid).status().unwrap();
        let status = self.child.wait().unwrap();
        (status, self.logs.take().unwrap().join().unwrap())
    }
}

impl Drop for Fetcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
