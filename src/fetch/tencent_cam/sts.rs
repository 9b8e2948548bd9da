//! STS (2018-08-13): TKE workload identity, the projected service-account token exchanged
//! with `AssumeRoleWithWebIdentity` for temporary keys, as Tencent's SDKs do with the `TKE_*`
//! variables; and `AssumeRole` into an organization member's role with the fetcher's own keys.

use serde::Deserialize;
use serde_json::json;

use super::super::api::{failed_call, ApiClient, Endpoint, MAX_ANSWER_BYTES};
use super::super::call::{self, Pacer, Reply, Retries};
use super::super::credentials::Keys;
use super::super::sign::{tc3, Known, Secret};
use super::super::{ApiCalls, FailureReason, FetchError};
use super::envelope;
use super::RENEW_BEFORE;

const ACTION: &str = "AssumeRoleWithWebIdentity";
/// Lifetime asked of the temporary keys.
pub const DURATION: i64 = 7200;

/// Where and as whom to exchange the token.
pub struct Tke {
    pub region: String,
    pub provider_id: String,
    pub role_arn: String,
    pub sts: Endpoint,
}

impl Tke {
    /// Temporary keys for `token`, and when they expire.
    pub async fn exchange(
        &self,
        client: &ApiClient,
        token: String,
        calls: &ApiCalls,
    ) -> Result<(Keys, jiff::Timestamp), FetchError> {
        let now = jiff::Timestamp::now().as_second();
        let body = json!({
            "ProviderId": self.provider_id,
            "WebIdentityToken": token,
            "RoleArn": self.role_arn,
            "RoleSessionName": format!("credential-report-exporter-{now}"),
            "DurationSeconds": DURATION,
        })
        .to_string()
        .into_bytes();
        // Anonymous: the web identity token is the credential ("Authorization: SKIP", as the SDKs send).
        let headers = vec![
            ("Host".to_owned(), self.sts.host().to_owned()),
            ("Content-Type".to_owned(), tc3::JSON.to_owned()),
            ("X-TC-Action".to_owned(), ACTION.to_owned()),
            ("X-TC-Version".to_owned(), "2018-08-13".to_owned()),
            ("X-TC-Timestamp".to_owned(), now.to_string()),
            ("X-TC-Region".to_owned(), self.region.clone()),
            ("Authorization".to_owned(), "SKIP".to_owned()),
        ];
        let known = Known {
            secrets: vec![token.as_str()],
            key_ids: vec![],
        };
        let no_retries = Retries {
            throttled: 0,
            base: std::time::Duration::ZERO,
        };
        let reply = call::call(calls, None, no_retries, ACTION, || async {
            let answer = client
                .post(
                    &self.sts,
                    "/",
                    &headers,
                    None,
                    body.clone(),
                    MAX_ANSWER_BYTES,
                )
                .await
                .map_err(failed_call(ACTION, &known))?;
            envelope::read::<AssumedKeys>(ACTION, answer, &known)
        })
        .await?;
        let a = match reply {
            Reply::Done(a) => a,
            Reply::NotReady(e) | Reply::Failed(e) => {
                // STS answers a bad web identity token with InvalidParameter…: access denied, not retried.
                let reason = match e.reason {
                    FailureReason::InvalidResponse => FailureReason::AccessDenied,
                    other => other,
                };
                return Err(FetchError::new(
                    reason,
                    format!(
                        "{ACTION} (TKE workload identity: TKE_ROLE_ARN, TKE_PROVIDER_ID): {}: {}",
                        e.code, e.message
                    ),
                ));
            }
        };
        let expires = jiff::Timestamp::from_second(a.expired_time)
            .map_err(|_| FetchError::invalid(ACTION, "ExpiredTime is not a Unix time"))?;
        Ok((a.credentials.into_keys(), expires))
    }
}

/// `AssumeRole`: the documented limit is 600 calls a second per caller.
pub const ASSUME_ROLE_PER_SECOND: u32 = 600;
/// STS requires a region though its keys act everywhere; the SDKs' examples use this one,
/// which both sites serve.
const REGION: &str = "ap-guangzhou";

/// A member account's role for one attempt: its temporary keys, assumed with the fetcher's own
/// and assumed again when a tenth of their life is left, so a long attempt goes on. They live
/// only here, in memory, and go with the attempt.
pub struct Role<'a> {
    pub arn: &'a str,
    cached: tokio::sync::Mutex<Option<(Keys, jiff::Timestamp)>>,
}

impl<'a> Role<'a> {
    pub fn new(arn: &'a str) -> Role<'a> {
        Role {
            arn,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The role's keys, cached or from `assume()`. One assumption at a time: calls waiting
    /// meanwhile get its keys.
    pub async fn keys<F, Fut>(&self, assume: F) -> Result<Keys, FetchError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(Keys, jiff::Timestamp), FetchError>>,
    {
        let mut cached = self.cached.lock().await;
        if let Some((keys, expires)) = &*cached {
            if jiff::Timestamp::now() + RENEW_BEFORE < *expires {
                return Ok(keys.clone());
            }
        }
        let (keys, expires) = assume().await?;
        *cached = Some((keys.clone(), expires));
        Ok(keys)
    }
}

/// `AssumeRole` of `arn` with the fetcher's own `keys`, paced by `pacer` and retried while
/// throttled: the role's temporary keys and when they expire. A role that does not exist or
/// an account that no longer does is `access_denied`, like a refusal: neither changes by
/// itself within the round.
pub async fn assume_role(
    client: &ApiClient,
    sts: &Endpoint,
    pacer: &Pacer,
    retries: Retries,
    keys: &Keys,
    arn: &str,
    calls: &ApiCalls,
) -> Result<(Keys, jiff::Timestamp), FetchError> {
    const ACTION: &str = "AssumeRole";
    let body = json!({
        "RoleArn": arn,
        "RoleSessionName": "credential-report-exporter",
        "DurationSeconds": DURATION,
    })
    .to_string()
    .into_bytes();
    let known = keys.known();
    let reply = call::call(calls, Some(pacer), retries, ACTION, || async {
        let request = tc3::Request {
            host: sts.host(),
            service: "sts",
            content_type: tc3::JSON,
            timestamp: jiff::Timestamp::now().as_second(),
            payload: &body,
        };
        let headers = tc3::sign(
            &request,
            ACTION,
            "2018-08-13",
            Some(REGION),
            &keys.id,
            &keys.secret,
            keys.token.as_ref(),
        );
        let answer = client
            .post(sts, "/", &headers, None, body.clone(), MAX_ANSWER_BYTES)
            .await
            .map_err(failed_call(ACTION, &known))?;
        let reply = envelope::read::<AssumedKeys>(ACTION, answer, &known)?;
        Ok(match reply {
            Reply::NotReady(mut e) | Reply::Failed(mut e) => {
                if let "ResourceNotFound.RoleNotFound" | "InvalidParameter.AccountNotAvaliable" =
                    e.code.as_str()
                {
                    e.reason = FailureReason::AccessDenied;
                }
                Reply::Failed(e)
            }
            done => done,
        })
    })
    .await?;
    let a = match reply {
        Reply::Done(a) => a,
        Reply::NotReady(e) | Reply::Failed(e) => {
            return Err(FetchError::new(
                e.reason,
                format!("{ACTION} {arn}: {}: {}", e.code, e.message),
            ));
        }
    };
    let expires = jiff::Timestamp::from_second(a.expired_time)
        .ok()
        .filter(|t| *t > jiff::Timestamp::now())
        .ok_or_else(|| {
            FetchError::invalid(ACTION, format!("{arn}: ExpiredTime is not a time to come"))
        })?;
    Ok((a.credentials.into_keys(), expires))
}

/// What STS answers AssumeRole and AssumeRoleWithWebIdentity with: temporary keys and
/// when they expire.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumedKeys {
    credentials: StsKeys,
    expired_time: i64,
}

/// Temporary keys as STS answers them.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsKeys {
    token: String,
    tmp_secret_id: String,
    tmp_secret_key: String,
}

impl StsKeys {
    fn into_keys(self) -> Keys {
        Keys {
            id: self.tmp_secret_id,
            secret: Secret::new(self.tmp_secret_key),
            token: Some(Secret::new(self.token)),
        }
    }
}
