//! The credentials a fetcher signs with, shared by the providers we call without an SDK:
//! static keys from the environment, or a workload identity's projected token exchanged with
//! the cloud's STS for temporary keys, cached until shortly before they expire.

use std::future::Future;
use std::path::PathBuf;

use tokio::sync::Mutex;

use super::sign::{Known, Secret};
use super::{FailureReason, FetchError};

/// A key id and secret (and a session token for temporary ones) to sign with.
#[derive(Clone)]
pub struct Keys {
    pub id: String,
    pub secret: Secret,
    pub token: Option<Secret>,
}

impl Keys {
    /// The values a message must never show.
    pub fn known(&self) -> Known<'_> {
        let mut secrets = vec![self.secret.expose()];
        if let Some(t) = &self.token {
            secrets.push(t.expose());
        }
        Known {
            secrets,
            key_ids: vec![self.id.as_str()],
        }
    }
}

/// A projected service-account token (Kubernetes workload identity: ACK RRSA, TKE), re-read
/// at each exchange because the kubelet rotates it.
pub struct WebIdentity {
    pub token_file: PathBuf,
    /// The environment variable that named the file, for error messages.
    pub token_variable: &'static str,
    /// Renew this long before the temporary keys expire.
    pub renew_before: jiff::SignedDuration,
    cached: Mutex<Option<(Keys, jiff::Timestamp)>>,
}

pub enum Credentials {
    Static(Keys),
    WebIdentity(WebIdentity),
}

impl WebIdentity {
    pub fn new(
        token_file: PathBuf,
        token_variable: &'static str,
        renew_before: jiff::SignedDuration,
    ) -> WebIdentity {
        WebIdentity {
            token_file,
            token_variable,
            renew_before,
            cached: Mutex::new(None),
        }
    }
}

impl Credentials {
    /// The keys to sign with. For a web identity, the cached temporary keys, or, when they
    /// near expiry, new ones from `exchange(token)`, which answers the keys and their expiry.
    /// One exchange at a time: calls waiting meanwhile get its keys.
    pub async fn keys<F, Fut>(&self, exchange: F) -> Result<Keys, FetchError>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<(Keys, jiff::Timestamp), FetchError>>,
    {
        let identity = match self {
            Credentials::Static(keys) => return Ok(keys.clone()),
            Credentials::WebIdentity(identity) => identity,
        };
        let mut cached = identity.cached.lock().await;
        if let Some((keys, expires)) = &*cached {
            if jiff::Timestamp::now() + identity.renew_before < *expires {
                return Ok(keys.clone());
            }
        }
        let token = std::fs::read_to_string(&identity.token_file).map_err(|e| {
            FetchError::new(
                FailureReason::AccessDenied,
                format!(
                    "{} {}: {e}",
                    identity.token_variable,
                    identity.token_file.display()
                ),
            )
        })?;
        let (keys, expires) = exchange(token.trim().to_owned()).await?;
        *cached = Some((keys.clone(), expires));
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(id: &str) -> Keys {
        Keys {
            id: id.to_owned(),
            secret: Secret::new("s"),
            token: Some(Secret::new("t")),
        }
    }

    #[tokio::test]
    async fn temporary_keys_are_cached_until_they_near_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "projected\n").unwrap();
        let credentials = Credentials::WebIdentity(WebIdentity::new(
            file,
            "TOKEN_FILE",
            jiff::SignedDuration::from_mins(5),
        ));
        let far = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
        let first = credentials
            .keys(|token| async move {
                assert_eq!(token, "projected");
                Ok((keys("one"), far))
            })
            .await
            .unwrap();
        assert_eq!(first.id, "one");
        let cached = credentials
            .keys(|_| async { panic!("exchanged again while the keys are fresh") })
            .await
            .unwrap();
        assert_eq!(cached.id, "one");

        // Keys about to expire are renewed.
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(1);
        let credentials = Credentials::WebIdentity(WebIdentity::new(
            dir.path().join("token"),
            "TOKEN_FILE",
            jiff::SignedDuration::from_mins(5),
        ));
        credentials
            .keys(|_| async move { Ok((keys("short"), soon)) })
            .await
            .unwrap();
        let renewed = credentials
            .keys(|_| async move { Ok((keys("two"), far)) })
            .await
            .unwrap();
        assert_eq!(renewed.id, "two");
    }

    #[tokio::test]
    async fn a_missing_token_file_is_access_denied_and_named() {
        let credentials = Credentials::WebIdentity(WebIdentity::new(
            PathBuf::from("/nonexistent/token"),
            "TKE_WEB_IDENTITY_TOKEN_FILE",
            jiff::SignedDuration::from_mins(5),
        ));
        let e = credentials
            .keys(|_| async { unreachable!() })
            .await
            .err()
            .unwrap();
        assert_eq!(e.reason, FailureReason::AccessDenied);
        assert!(
            e.message.contains("TKE_WEB_IDENTITY_TOKEN_FILE"),
            "{}",
            e.message
        );
    }
}
