//! HTTP basic auth against the bcrypt hashes of `basic_auth_users`, with the toolkit's
//! defences (unknown users cost as much as known ones, good credentials are cached) and a
//! bound of our own: bcrypt runs on one thread of its own with a short queue.

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio::sync::oneshot;
use tracing::info;

/// Paths served without credentials: they tell nothing but "up", and Kubernetes probes
/// would otherwise need the password written into the Pod spec.
pub const OPEN_PATHS: [&str; 2] = ["/-/healthy", "/-/ready"];

/// bcrypt checks that may wait for the bcrypt thread; more are answered 429 at once, so a
/// flood of wrong passwords holds neither memory nor threads, only this queue.
const BCRYPT_QUEUE: usize = 64;

/// Credentials remembered at most: only pairs that verified are kept, but bcrypt reads only
/// a password's first 72 bytes, so one user could otherwise add endless variants of theirs.
const VERIFIED_KEPT: usize = 1024;

pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// Checked when the user is unknown, so a wrong name takes as long as a wrong password.
    dummy_hash: String,
    verified: Arc<Verified>,
    /// The bcrypt thread's queue. One thread, as the toolkit's one-at-a-time lock: a flood
    /// of wrong passwords costs one core at most, and never a thread of the runtime.
    bcrypt: SyncSender<Job>,
}

/// Digests of user and password pairs that verified. bcrypt is slow by design and
/// Prometheus asks every few seconds; only successes are kept, so the set is bounded by
/// the real users, and the digest keeps plain passwords out of memory.
#[derive(Default)]
struct Verified(Mutex<HashSet<[u8; 32]>>);

impl Verified {
    fn contains(&self, digest: &[u8; 32]) -> bool {
        self.lock().contains(digest)
    }

    fn insert(&self, digest: [u8; 32]) {
        let mut verified = self.lock();
        if verified.len() < VERIFIED_KEPT {
            verified.insert(digest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<[u8; 32]>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One bcrypt check waiting for the bcrypt thread.
struct Job {
    digest: [u8; 32],
    /// Whether the user exists (else `hash` is the dummy, and the check fails whatever).
    known: bool,
    password: String,
    hash: String,
    answer: oneshot::Sender<bool>,
}

impl Job {
    /// Checks the password, and remembers the pair if it is good. Run even when the client
    /// has gone: a scraper whose first check outlasted its scrape timeout (behind a flood
    /// of wrong passwords) then finds its credentials remembered at the next scrape.
    fn run(self, verified: &Verified) {
        // bcrypt compares its output in constant time.
        let matches = bcrypt::verify(&self.password, &self.hash).unwrap_or(false);
        let good = self.known && matches;
        if good {
            verified.insert(self.digest);
        }
        let _ = self.answer.send(good);
    }
}

/// What became of a request's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    /// Not checked: too many checks are waiting already.
    Busy,
}

impl BasicAuth {
    /// `None` when there are no users: no auth, as in the toolkit. Makes the dummy hash at
    /// the users' highest cost, and logs what that cost takes here.
    pub fn new(users: BTreeMap<String, String>) -> Option<Arc<BasicAuth>> {
        if users.is_empty() {
            return None;
        }
        let cost = users
            .values()
            .filter_map(|hash| hash.parse::<bcrypt::HashParts>().ok())
            .map(|parts| parts.get_cost())
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        let started = Instant::now();
        let dummy_hash = bcrypt::hash("no user has this password", cost)
            .expect("bcrypt of a constant at a checked cost");
        info!(
            cost,
            seconds = started.elapsed().as_secs_f64(),
            "basic auth on: checking a new password at this bcrypt cost takes this long; good credentials are then remembered"
        );
        let verified = Arc::new(Verified::default());
        let (bcrypt, jobs) = mpsc::sync_channel::<Job>(BCRYPT_QUEUE);
        let remember = Arc::clone(&verified);
        std::thread::Builder::new()
            .name("bcrypt".into())
            .spawn(move || jobs.into_iter().for_each(|job| job.run(&remember)))
            .expect("starting the bcrypt thread");
        Some(Arc::new(BasicAuth {
            users,
            dummy_hash,
            verified,
            bcrypt,
        }))
    }

    /// Whether the pair is a configured user with its password. Remembered credentials
    /// answer at once; others wait their turn on the bcrypt thread.
    pub async fn check(&self, user: &str, password: &str) -> Verdict {
        let digest = digest(user, password);
        if self.verified.contains(&digest) {
            return Verdict::Allowed;
        }
        let (known, hash) = match self.users.get(user) {
            Some(hash) => (true, hash.as_str()),
            None => (false, self.dummy_hash.as_str()),
        };
        let (answer, answered) = oneshot::channel();
        let job = Job {
            digest,
            known,
            password: password.to_owned(),
            hash: hash.to_owned(),
            answer,
        };
        match self.bcrypt.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Verdict::Busy,
            Err(TrySendError::Disconnected(_)) => return Verdict::Denied,
        }
        match answered.await {
            Ok(true) => Verdict::Allowed,
            _ => Verdict::Denied,
        }
    }
}

fn digest(user: &str, password: &str) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
    context.update(&(user.len() as u64).to_be_bytes());
    context.update(user.as_bytes());
    context.update(password.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// The user and password of an `Authorization: Basic` header.
fn credentials(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Middleware: 401 with a `WWW-Authenticate` challenge unless the request carries good
/// credentials or asks for an open path; 429 when too many checks wait already. It runs
/// before a request takes a `--web.max-requests` slot, so wrong passwords hold none.
pub async fn require(State(auth): State<Arc<BasicAuth>>, request: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let verdict = match request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(credentials)
    {
        Some((user, password)) => auth.check(&user, &password).await,
        None => Verdict::Denied,
    };
    match verdict {
        Verdict::Allowed => next.run(request).await,
        Verdict::Denied => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic")],
            "Unauthorized\n",
        )
            .into_response(),
        Verdict::Busy => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "Too many password checks waiting; try again\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Arc<BasicAuth> {
        let hash = bcrypt::hash("right horse", 4).unwrap();
        BasicAuth::new(BTreeMap::from([("alice".to_owned(), hash)])).unwrap()
    }

    #[tokio::test]
    async fn only_the_right_pair_passes_and_only_successes_are_cached() {
        let auth = auth();
        assert_eq!(auth.check("alice", "wrong").await, Verdict::Denied);
        assert_eq!(auth.check("mallory", "right horse").await, Verdict::Denied);
        assert!(auth.verified.lock().is_empty());
        assert_eq!(auth.check("alice", "right horse").await, Verdict::Allowed);
        assert_eq!(auth.check("alice", "right horse").await, Verdict::Allowed);
        assert_eq!(auth.verified.lock().len(), 1);
        assert_eq!(auth.check("alice", "right horsE").await, Verdict::Denied);
    }

    /// A flood fills the queue and the rest are turned away unchecked; credentials that
    /// verified before the flood still pass at once, without waiting in it.
    #[tokio::test]
    async fn a_flood_is_turned_away_and_remembered_credentials_skip_it() {
        let hash = bcrypt::hash("right horse", 6).unwrap();
        let auth = BasicAuth::new(BTreeMap::from([("alice".to_owned(), hash)])).unwrap();
        assert_eq!(auth.check("alice", "right horse").await, Verdict::Allowed);
        let flood: Vec<_> = (0..4 * BCRYPT_QUEUE)
            .map(|_| {
                let auth = Arc::clone(&auth);
                tokio::spawn(async move { auth.check("alice", "wrong").await })
            })
            .collect();
        tokio::task::yield_now().await;
        let started = Instant::now();
        assert_eq!(auth.check("alice", "right horse").await, Verdict::Allowed);
        let remembered = started.elapsed();
        let mut verdicts = Vec::new();
        for check in flood {
            verdicts.push(check.await.unwrap());
        }
        let busy = verdicts.iter().filter(|&&v| v == Verdict::Busy).count();
        assert!(busy > 0, "some of the flood were turned away");
        assert!(!verdicts.contains(&Verdict::Allowed));
        // Not a timing target: waiting in the queue would take a second or more.
        assert!(remembered.as_millis() < 100, "{remembered:?}");
    }

    #[test]
    fn unknown_users_are_checked_at_the_users_cost() {
        let auth = auth();
        assert_eq!(
            auth.dummy_hash
                .parse::<bcrypt::HashParts>()
                .unwrap()
                .get_cost(),
            4
        );
    }

    #[test]
    fn no_users_means_no_auth() {
        assert!(BasicAuth::new(BTreeMap::new()).is_none());
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let header = |text: &str| HeaderValue::from_str(text).unwrap();
        assert_eq!(
            credentials(&header("Basic YWxpY2U6cDpx")),
            Some(("alice".to_owned(), "p:q".to_owned()))
        );
        assert_eq!(credentials(&header("Bearer YWxpY2U6cDpx")), None);
        assert_eq!(credentials(&header("Basic !!!")), None);
        assert_eq!(credentials(&header("Basic YWxpY2U=")), None, "no colon");
    }
}
