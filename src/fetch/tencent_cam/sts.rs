//! TKE workload identity: the projected service-account token exchanged with STS
//! `AssumeRoleWithWebIdentity` (2018-08-13) for temporary keys, as Tencent's SDKs do with the
//! `TKE_*` variables.

use serde::Deserialize;
use serde_json::json;

use super::super::api::{failed_call, ApiClient, Endpoint, MAX_ANSWER_BYTES};
use super::super::call::{self, Reply, Retries};
use super::super::credentials::Keys;
use super::super::sign::{tc3, Secret};
use super::super::{ApiCalls, FailureReason, FetchError};
use super::envelope;

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
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            credentials: StsKeys,
            expired_time: i64,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct StsKeys {
            token: String,
            tmp_secret_id: String,
            tmp_secret_key: String,
        }
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
        let known: (Vec<&str>, Vec<&str>) = (vec![token.as_str()], vec![]);
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
            envelope::read::<Answer>(ACTION, answer, &known)
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
        Ok((
            Keys {
                id: a.credentials.tmp_secret_id,
                secret: Secret::new(a.credentials.tmp_secret_key),
                token: Some(Secret::new(a.credentials.token)),
            },
            expires,
        ))
    }
}
