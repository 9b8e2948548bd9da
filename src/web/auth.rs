//! HTTP basic auth against the bcrypt hashes of `basic_auth_users`, with the toolkit's
//! defences: unknown users cost as much as known ones, and good credentials are cached.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// Paths served without credentials: they tell nothing but "up", and Kubernetes probes
/// would otherwise need the password written into the Pod spec.
pub const OPEN_PATHS: [&str; 2] = ["/-/healthy", "/-/ready"];

pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// Checked when the user is unknown, so a wrong name takes as long as a wrong password.
    dummy_hash: String,
    /// Digests of user and password pairs that verified. bcrypt is slow by design and
    /// Prometheus asks every few seconds; only successes are kept, so the set is bounded
    /// by the real users, and the digest keeps plain passwords out of memory.
    verified: Mutex<HashSet<[u8; 32]>>,
    /// One bcrypt at a time, as in the toolkit: a flood of wrong passwords then costs one
    /// core, not all of them.
    bcrypt: Mutex<()>,
}

impl BasicAuth {
    /// `None` when there are no users: no auth, as in the toolkit.
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
        let dummy_hash = bcrypt::hash("no user has this password", cost)
            .expect("bcrypt of a constant at a checked cost");
        Some(Arc::new(BasicAuth {
            users,
            dummy_hash,
            verified: Mutex::new(HashSet::new()),
            bcrypt: Mutex::new(()),
        }))
    }

    /// Whether the pair is a configured user with its password. Blocking (bcrypt).
    pub fn check(&self, user: &str, password: &str) -> bool {
        let digest = digest(user, password);
        if self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&digest)
        {
            return true;
        }
        let (known, hash) = match self.users.get(user) {
            Some(hash) => (true, hash.as_str()),
            None => (false, self.dummy_hash.as_str()),
        };
        let matches = {
            let _one_at_a_time = self.bcrypt.lock().unwrap_or_else(|e| e.into_inner());
            // bcrypt compares its output in constant time.
            bcrypt::verify(password, hash).unwrap_or(false)
        };
        let ok = known && matches;
        if ok {
            self.verified
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(digest);
        }
        ok
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
/// credentials or asks for an open path.
pub async fn require(State(auth): State<Arc<BasicAuth>>, request: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let allowed = match request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(credentials)
    {
        Some((user, password)) => {
            let auth = Arc::clone(&auth);
            tokio::task::spawn_blocking(move || auth.check(&user, &password))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    match allowed {
        true => next.run(request).await,
        false => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic")],
            "Unauthorized\n",
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

    #[test]
    fn only_the_right_pair_passes_and_only_successes_are_cached() {
        let auth = auth();
        assert!(!auth.check("alice", "wrong"));
        assert!(!auth.check("mallory", "right horse"));
        assert!(auth.verified.lock().unwrap().is_empty());
        assert!(auth.check("alice", "right horse"));
        assert!(auth.check("alice", "right horse"));
        assert_eq!(auth.verified.lock().unwrap().len(), 1);
        assert!(!auth.check("alice", "right horsE"));
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
