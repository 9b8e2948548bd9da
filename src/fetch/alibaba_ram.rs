//! Alibaba Cloud RAM: the account's credential report from the IMS API (2019-08-15),
//! `GenerateCredentialReport` until complete, then every page of `GetCredentialReport`.
//!
//! Requests are signed with ACS3-HMAC-SHA256 ([`super::sign::acs3`]). Credentials: an AccessKey
//! from `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` (and `ALIBABA_CLOUD_SECURITY_TOKEN` for STS
//! ones), or ACK's RRSA (`ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`,
//! `ALIBABA_CLOUD_OIDC_TOKEN_FILE`), exchanged by STS `AssumeRoleWithOIDC`.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use super::api::{
    failed_call, json_error, nonce, Answer, ApiClient, Endpoint, Env, MAX_ANSWER_BYTES,
    MAX_REPORT_BYTES,
};
use super::call::{self, ApiError, Reply, Retries};
use super::credentials::{Credentials, Keys, WebIdentity};
use super::sign::{acs3, scrub, Secret};
use super::{ApiCalls, FailureReason, FetchError, FetchedReport};

const IMS_VERSION: &str = "2019-08-15";
const STS_VERSION: &str = "2015-04-01";
/// Where STS lives unless `ALIBABA_CLOUD_STS_ENDPOINT` says otherwise (e.g. a VPC endpoint,
/// `https://sts-vpc.cn-hangzhou.aliyuncs.com`, or a test's fake).
const DEFAULT_STS: &str = "https://sts.aliyuncs.com";
/// Renew RRSA credentials this long before they expire.
const RENEW_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);
/// How often one attempt regenerates a report that GetCredentialReport calls expired or absent.
const MAX_REGENERATIONS: u32 = 3;
/// Pages of one report at most (3,501 lines a page: 3.5 million users, far past
/// [`MAX_REPORT_BYTES`]); with it, pages that never end end in a bounded time.
const MAX_PAGES: usize = 1_000;
/// Room in a page's answer for what surrounds its `Content` (NextToken, RequestId...).
const PAGE_ENVELOPE: usize = 64 << 10;

/// ACK RRSA: whom the projected service-account token is exchanged as.
struct Rrsa {
    role_arn: String,
    provider_arn: String,
    session_name: String,
}

/// Throttling is not retried within a call: the fetch loop's attempts, with their backoff,
/// retry the whole report (its generation is the expensive part, and is not redone).
const NO_RETRIES: Retries = Retries {
    throttled: 0,
    base: Duration::ZERO,
};

/// `fetch`'s flags for Alibaba Cloud RAM.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "alibaba")]
pub struct Flags {
    /// Alibaba Cloud: the IMS endpoint.
    #[arg(
        id = "alibaba.endpoint",
        long = "alibaba.endpoint",
        env = "CREDENTIAL_REPORT_FETCH_ALIBABA_ENDPOINT",
        value_name = "URL",
        default_value = "https://ims.aliyuncs.com"
    )]
    pub endpoint: String,
}

pub struct AlibabaRam {
    client: ApiClient,
    ims: Endpoint,
    sts: Endpoint,
    credentials: Credentials,
    rrsa: Option<Rrsa>,
    poll: Duration,
    /// The account id, once known: it never changes, so one answer serves every later fetch.
    account: std::sync::OnceLock<String>,
}

impl super::Source for AlibabaRam {
    fn fetch<'a>(
        &'a self,
        _account: &'a super::Account,
        calls: &'a ApiCalls,
    ) -> futures_util::future::BoxFuture<'a, Result<FetchedReport, FetchError>> {
        Box::pin(self.fetch(calls))
    }
}

impl AlibabaRam {
    /// `endpoint` is `--alibaba.endpoint`; `poll` the wait between "is the report ready?" calls.
    pub fn new(endpoint: &str, poll: Duration, env: Env<'_>) -> anyhow::Result<AlibabaRam> {
        let ims = Endpoint::parse("--alibaba.endpoint", endpoint)?;
        let sts = Endpoint::parse(
            "ALIBABA_CLOUD_STS_ENDPOINT",
            &env("ALIBABA_CLOUD_STS_ENDPOINT").unwrap_or_else(|| DEFAULT_STS.to_owned()),
        )?;
        let (credentials, rrsa) = credentials_from(env)?;
        Ok(AlibabaRam {
            client: ApiClient::new()?,
            ims,
            sts,
            credentials,
            rrsa,
            poll,
            account: std::sync::OnceLock::new(),
        })
    }

    /// One attempt at the report of the credentials' own account.
    pub async fn fetch(&self, calls: &ApiCalls) -> Result<FetchedReport, FetchError> {
        let keys = self.keys(calls).await?;
        let mut regenerations = 0;
        let (content, generated) = loop {
            self.generate(&keys, calls).await?;
            match self.download(&keys, calls).await? {
                Some(report) => break report,
                // Expired or gone between the two calls: generate again, a few times.
                None if regenerations < MAX_REGENERATIONS => regenerations += 1,
                None => {
                    return Err(FetchError::new(
                        FailureReason::InvalidResponse,
                        "GetCredentialReport: the report stayed absent or expired right after GenerateCredentialReport completed",
                    ))
                }
            }
        };
        // The report does not name its account; one cheap call does. Only the default file name
        // depends on it, so a failure here is not a failed fetch.
        let account_id = match self.account.get() {
            Some(id) => Ok(id.clone()),
            None => self.account_id(&keys, calls).await,
        };
        let account_id = match account_id {
            Ok(id) => Some(self.account.get_or_init(|| id).clone()),
            Err(e) => {
                tracing::warn!(error = %e, "GetCallerIdentity failed: the report has no account id for its default name");
                None
            }
        };
        Ok(FetchedReport {
            account_id,
            content,
            generated,
            users_listed: None,
        })
    }

    /// `GenerateCredentialReport` until its `State` is `COMPLETED`. The words are Alibaba's, not
    /// AWS's: `STARTED`, `INPROGRESS`, `COMPLETED` (the API reference of GenerateCredentialReport,
    /// and the comments of the `alibabacloud-ims20190815` SDK model). Any other word is an
    /// answer we cannot act on, refused at once rather than polled until --fetch.timeout.
    async fn generate(&self, keys: &Keys, calls: &ApiCalls) -> Result<(), FetchError> {
        #[derive(Deserialize)]
        struct Generated {
            #[serde(rename = "State")]
            state: String,
        }
        loop {
            let answer: Generated = self
                .ims_call(
                    keys,
                    calls,
                    "GenerateCredentialReport",
                    &[],
                    MAX_ANSWER_BYTES,
                )
                .await?
                .map_err(|code| {
                    FetchError::new(
                        FailureReason::InvalidResponse,
                        format!("GenerateCredentialReport: unexpected error {code}"),
                    )
                })?;
            match ReportState::parse(&answer.state) {
                Some(ReportState::Completed) => return Ok(()),
                Some(ReportState::Started | ReportState::InProgress) => {
                    tracing::debug!(state = %answer.state, "credential report not complete yet");
                    tokio::time::sleep(self.poll).await;
                }
                None => {
                    return Err(FetchError::invalid(
                        "GenerateCredentialReport",
                        format!(
                            "State {:?} is none of STARTED, INPROGRESS, COMPLETED",
                            scrub(&answer.state, &[], &[])
                        ),
                    ))
                }
            }
        }
    }

    /// Every page of `GetCredentialReport`, joined; `None` when the report is absent or expired.
    async fn download(
        &self,
        keys: &Keys,
        calls: &ApiCalls,
    ) -> Result<Option<(Vec<u8>, jiff::Timestamp)>, FetchError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(rename = "Content", deserialize_with = "base64_content")]
            content: Result<Vec<u8>, String>,
            #[serde(rename = "GeneratedTime")]
            generated: String,
            #[serde(rename = "IsTruncated", default, deserialize_with = "bool_or_string")]
            truncated: bool,
            #[serde(rename = "NextToken", default)]
            next_token: Option<String>,
        }
        let mut content: Vec<u8> = Vec::new();
        let mut header: Option<Vec<u8>> = None;
        let mut generated = None;
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = Vec::new();
            if let Some(token) = &next {
                query.push(("NextToken".to_owned(), token.clone()));
            }
            // The pages together are at most MAX_REPORT_BYTES: each answer may hold what is
            // left of it, in base64, so a page past it is refused before it is held.
            let room = MAX_REPORT_BYTES.saturating_sub(content.len());
            let max = (room / 3 * 4 + PAGE_ENVELOPE).min(MAX_ANSWER_BYTES);
            let page: Page = match self
                .ims_call(keys, calls, "GetCredentialReport", &query, max)
                .await
                .map_err(|e| match e.reason {
                    FailureReason::InvalidResponse if !content.is_empty() => FetchError::new(
                        e.reason,
                        format!("{} ({} bytes of the report read: its pages together may not pass {MAX_REPORT_BYTES} bytes)", e.message, content.len()),
                    ),
                    _ => e,
                })?
            {
                Ok(page) => page,
                Err(_not_ready) => return Ok(None),
            };
            let bytes = page
                .content
                .map_err(|e| FetchError::invalid("GetCredentialReport", e))?;
            if bytes.len() > room {
                return Err(FetchError::invalid(
                    "GetCredentialReport",
                    format!("the report's pages pass {MAX_REPORT_BYTES} bytes, the most the fetcher takes for a report"),
                ));
            }
            let time = time_of("GeneratedTime", &page.generated)
                .map_err(|e| FetchError::invalid("GetCredentialReport", e))?;
            match generated {
                None => generated = Some(time),
                // A report regenerated while we paged: its pages do not belong together.
                Some(first) if first != time => {
                    return Err(FetchError::invalid(
                        "GetCredentialReport",
                        "the report changed while its pages were read (GeneratedTime differs); try again",
                    ))
                }
                Some(_) => {}
            }
            append_page(&mut content, &mut header, bytes);
            if !page.truncated {
                if !looks_like_report(&content) {
                    return Err(FetchError::invalid(
                        "GetCredentialReport",
                        "Content is not a credential report (no CSV header starting with `user`)",
                    ));
                }
                return Ok(Some((content, generated.expect("set on the first page"))));
            }
            match page.next_token {
                Some(t) if !t.is_empty() && Some(&t) != next.as_ref() => next = Some(t),
                _ => {
                    return Err(FetchError::invalid(
                        "GetCredentialReport",
                        "IsTruncated is true but NextToken is missing or repeats",
                    ))
                }
            }
        }
        Err(FetchError::invalid(
            "GetCredentialReport",
            format!("more than {MAX_PAGES} pages"),
        ))
    }

    async fn account_id(&self, keys: &Keys, calls: &ApiCalls) -> Result<String, FetchError> {
        #[derive(Deserialize)]
        struct Identity {
            #[serde(rename = "AccountId")]
            account_id: String,
        }
        let id: Identity = self
            .call(
                &self.sts,
                STS_VERSION,
                keys,
                calls,
                "GetCallerIdentity",
                &[],
                MAX_ANSWER_BYTES,
            )
            .await?
            .map_err(|code| FetchError::invalid("GetCallerIdentity", format!("error {code}")))?;
        if id.account_id.is_empty() || !id.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FetchError::invalid(
                "GetCallerIdentity",
                "AccountId is not a number",
            ));
        }
        Ok(id.account_id)
    }

    async fn ims_call<T: for<'de> Deserialize<'de>>(
        &self,
        keys: &Keys,
        calls: &ApiCalls,
        action: &'static str,
        query: &[(String, String)],
        max: usize,
    ) -> Result<Result<T, String>, FetchError> {
        self.call(&self.ims, IMS_VERSION, keys, calls, action, query, max)
            .await
    }

    /// One signed RPC call, its answer at most `max` bytes. `Ok(Err(code))`: the service said
    /// the report is absent, expired or not ready (counted as `not_ready`); every other error
    /// is a [`FetchError`].
    #[allow(clippy::too_many_arguments)]
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        endpoint: &Endpoint,
        version: &str,
        keys: &Keys,
        calls: &ApiCalls,
        action: &'static str,
        query: &[(String, String)],
        max: usize,
    ) -> Result<Result<T, String>, FetchError> {
        let path = if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", acs3::canonical_query(query))
        };
        let known = keys.known();
        let reply = call::call(calls, None, NO_RETRIES, action, || async {
            let date = jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let nonce = nonce();
            let headers = acs3::sign_rpc(
                &acs3::RpcCall {
                    method: "POST",
                    host: endpoint.host(),
                    action,
                    version,
                    query,
                    body: b"",
                    date: &date,
                    nonce: &nonce,
                },
                &keys.id,
                &keys.secret,
                keys.token.as_ref(),
            );
            let answer = self
                .client
                .post(endpoint, &path, &headers, None, Vec::new(), max)
                .await
                .map_err(failed_call(action, &known))?;
            read_answer(action, answer, &known)
        })
        .await?;
        match reply {
            Reply::Done(v) => Ok(Ok(v)),
            Reply::NotReady(e) => Ok(Err(e.code)),
            Reply::Failed(e) => Err(FetchError::new(
                e.reason,
                format!("{action}: {}", e.message),
            )),
        }
    }

    /// The keys to sign with; for RRSA, fresh STS credentials when the cached ones near expiry.
    async fn keys(&self, calls: &ApiCalls) -> Result<Keys, FetchError> {
        self.credentials
            .keys(|token| async move {
                let rrsa = self
                    .rrsa
                    .as_ref()
                    .expect("web identity comes with its role");
                self.assume_role_with_oidc(rrsa, &token, calls).await
            })
            .await
    }

    /// STS `AssumeRoleWithOIDC`: anonymous (the OIDC token is the credential), form-encoded.
    async fn assume_role_with_oidc(
        &self,
        rrsa: &Rrsa,
        oidc_token: &str,
        calls: &ApiCalls,
    ) -> Result<(Keys, jiff::Timestamp), FetchError> {
        const ACTION: &str = "AssumeRoleWithOIDC";
        #[derive(Deserialize)]
        struct Answer {
            #[serde(rename = "Credentials")]
            credentials: StsCredentials,
        }
        #[derive(Deserialize)]
        struct StsCredentials {
            #[serde(rename = "AccessKeyId")]
            id: String,
            #[serde(rename = "AccessKeySecret")]
            secret: String,
            #[serde(rename = "SecurityToken")]
            token: String,
            #[serde(rename = "Expiration")]
            expiration: String,
        }
        let form = [
            ("RoleArn", rrsa.role_arn.as_str()),
            ("OIDCProviderArn", rrsa.provider_arn.as_str()),
            ("OIDCToken", oidc_token),
            ("RoleSessionName", rrsa.session_name.as_str()),
            ("DurationSeconds", "3600"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", super::sign::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
        let headers = vec![("host".to_owned(), self.sts.host().to_owned())];
        let known: (Vec<&str>, Vec<&str>) = (vec![oidc_token], vec![]);
        let reply = call::call(calls, None, NO_RETRIES, ACTION, || async {
            let timestamp = jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let path = format!(
                "/?Action={ACTION}&Format=JSON&Version={STS_VERSION}&Timestamp={}",
                super::sign::percent_encode(&timestamp)
            );
            let answer = self
                .client
                .post(
                    &self.sts,
                    &path,
                    &headers,
                    Some("application/x-www-form-urlencoded"),
                    form.clone().into_bytes(),
                    MAX_ANSWER_BYTES,
                )
                .await
                .map_err(failed_call(ACTION, &known))?;
            let reply = read_answer::<Answer>(ACTION, answer, &known)?;
            // The expiry is part of a usable answer: checked here, so a bad one is recorded.
            if let Reply::Done(a) = &reply {
                time_of("Credentials.Expiration", &a.credentials.expiration)
                    .map_err(|e| FetchError::invalid(ACTION, e))?;
            }
            Ok(reply)
        })
        .await?;
        let a = match reply {
            Reply::Done(a) => a,
            Reply::NotReady(e) | Reply::Failed(e) => {
                return Err(FetchError::new(
                    e.reason,
                    format!(
                    "{ACTION} (RRSA: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN): {}",
                    e.message
                ),
                ))
            }
        };
        let expires = time_of("Credentials.Expiration", &a.credentials.expiration)
            .map_err(|e| FetchError::invalid(ACTION, e))?;
        Ok((
            Keys {
                id: a.credentials.id,
                secret: Secret::new(a.credentials.secret),
                token: Some(Secret::new(a.credentials.token)),
            },
            expires,
        ))
    }
}

/// What one answer says: `T` from a 2xx answer's JSON; [`Reply::NotReady`] for "the report is
/// absent, expired or not ready"; else the error's code, message and request id, scrubbed of
/// `known`.
fn read_answer<T: for<'de> Deserialize<'de>>(
    action: &str,
    answer: Answer,
    known: &(Vec<&str>, Vec<&str>),
) -> Result<Reply<T>, FetchError> {
    if (200..300).contains(&answer.status) {
        return serde_json::from_slice::<T>(&answer.body)
            .map(Reply::Done)
            .map_err(|e| {
                FetchError::invalid(
                    action,
                    format!("the answer is not the documented JSON: {}", json_error(&e)),
                )
            });
    }
    let err: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
    let code = scrub(&err.code, &known.0, &known.1);
    let message = format!(
        "HTTP {} {}{}{}",
        answer.status,
        if code.is_empty() {
            "(no error code)"
        } else {
            &code
        },
        if err.message.is_empty() {
            String::new()
        } else {
            format!(": {}", scrub(&err.message, &known.0, &known.1))
        },
        if err.request_id.is_empty() {
            String::new()
        } else {
            format!(
                " (RequestId {})",
                scrub(&err.request_id, &known.0, &known.1)
            )
        },
    );
    let error = ApiError {
        reason: classify(answer.status, &err.code),
        code,
        message,
    };
    Ok(match is_report_absent(&err.code) {
        true => Reply::NotReady(error),
        false => Reply::Failed(error),
    })
}

fn credentials_from(env: Env<'_>) -> anyhow::Result<(Credentials, Option<Rrsa>)> {
    let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(id) = get("ALIBABA_CLOUD_ACCESS_KEY_ID") {
        let secret = get("ALIBABA_CLOUD_ACCESS_KEY_SECRET").ok_or_else(|| {
            anyhow::anyhow!(
                "ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"
            )
        })?;
        let keys = Keys {
            id: id.trim().to_owned(),
            secret: Secret::new(secret.trim()),
            token: get("ALIBABA_CLOUD_SECURITY_TOKEN").map(|t| Secret::new(t.trim())),
        };
        return Ok((Credentials::Static(keys), None));
    }
    let rrsa = [
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    ]
    .map(get);
    match rrsa {
        [Some(role_arn), Some(provider_arn), Some(token_file)] => Ok((
            Credentials::WebIdentity(WebIdentity::new(
                PathBuf::from(token_file),
                "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
                RENEW_BEFORE,
            )),
            Some(Rrsa {
                role_arn,
                provider_arn,
                session_name: get("ALIBABA_CLOUD_ROLE_SESSION_NAME")
                    .unwrap_or_else(|| "credential-report-exporter".to_owned()),
            }),
        )),
        [None, None, None] => anyhow::bail!(
            "no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET \
             (and ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials), or use ACK RRSA \
             (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE)"
        ),
        _ => anyhow::bail!(
            "RRSA needs all of ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and ALIBABA_CLOUD_OIDC_TOKEN_FILE; some are missing"
        ),
    }
}

/// GenerateCredentialReport's `State`, in Alibaba's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReportState {
    Started,
    InProgress,
    Completed,
}

impl ReportState {
    fn parse(word: &str) -> Option<ReportState> {
        match word {
            "STARTED" => Some(ReportState::Started),
            "INPROGRESS" => Some(ReportState::InProgress),
            "COMPLETED" => Some(ReportState::Completed),
            _ => None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ErrorBody {
    #[serde(rename = "Code")]
    code: String,
    #[serde(rename = "Message")]
    message: String,
    #[serde(rename = "RequestId")]
    request_id: String,
}

/// Codes that mean "no usable report now; generate one" rather than a failure.
fn is_report_absent(code: &str) -> bool {
    let c = code.to_ascii_lowercase();
    c.contains("credentialreport")
        && (c.contains("notexist")
            || c.contains("expired")
            || c.contains("notready")
            || c.contains("inprogress"))
}

/// The failure reason of an error answer, from its code first, then its HTTP status.
fn classify(status: u16, code: &str) -> FailureReason {
    let c = code.to_ascii_lowercase();
    if c.contains("throttl") || c.contains("flowcontrol") || status == 429 {
        FailureReason::Throttled
    } else if c.starts_with("forbidden")
        || c.starts_with("nopermission")
        || c.starts_with("invalidaccesskeyid")
        || c.starts_with("invalidsecuritytoken")
        || c.starts_with("signaturedoesnotmatch")
        || c.starts_with("incompletesignature")
        || c.starts_with("entitynotexist.role")
        || c.starts_with("authenticationfail")
        || c.contains("accessdenied")
        || status == 401
        || status == 403
    {
        FailureReason::AccessDenied
    } else if status >= 500 || c.starts_with("internalerror") || c.starts_with("serviceunavailable")
    {
        FailureReason::Server
    } else {
        FailureReason::InvalidResponse
    }
}

/// Joins a page to the report: later pages may repeat the CSV header line; it is kept once.
fn append_page(content: &mut Vec<u8>, header: &mut Option<Vec<u8>>, page: Vec<u8>) {
    let first_line = |b: &[u8]| -> Vec<u8> {
        let end = b
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |i| i + 1);
        b[..end].to_vec()
    };
    let mut start = 0;
    match header {
        None => *header = Some(first_line(&page)),
        Some(h) => {
            let strip = |l: &[u8]| -> Vec<u8> {
                l.iter()
                    .copied()
                    .filter(|c| *c != b'\r' && *c != b'\n')
                    .collect()
            };
            if strip(&first_line(&page)) == strip(h) {
                start = first_line(&page).len();
            }
        }
    }
    // The first page is kept as it came, not copied: a report of one page is held once.
    if content.is_empty() && start == 0 {
        *content = page;
        return;
    }
    let page = &page[start..];
    if !content.is_empty() && !content.ends_with(b"\n") && !page.is_empty() {
        content.push(b'\n');
    }
    content.extend_from_slice(page);
}

/// `Content`, decoded from base64 as it is read (the answer's text is not copied first);
/// `Err` says why it is not base64.
fn base64_content<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Result<Vec<u8>, String>, D::Error> {
    struct Base64;
    impl serde::de::Visitor<'_> for Base64 {
        type Value = Result<Vec<u8>, String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("base64 text")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map_err(|e| format!("Content is not base64: {e}")))
        }
    }
    d.deserialize_str(Base64)
}

fn looks_like_report(content: &[u8]) -> bool {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    content.starts_with(b"user,") || content.starts_with(b"\"user\",")
}

/// Alibaba writes booleans as JSON booleans or as "true"/"false" strings, depending on the API.
fn bool_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        B(bool),
        S(String),
    }
    match B::deserialize(d)? {
        B::B(b) => Ok(b),
        B::S(s) => Ok(s.eq_ignore_ascii_case("true")),
    }
}

/// A time the API wrote (ISO 8601 in UTC, `2024-11-01T08:00:00Z`), or what is wrong with
/// it: not such a time, or one outside the years a timestamp holds (-9999 to 9999).
fn time_of(field: &str, text: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(time) = text.parse::<jiff::Timestamp>() {
        return Ok(time);
    }
    let shown = scrub(&crate::report::prefix(text, 64), &[], &[]);
    // The date and time alone read, but not as an instant: it is out of range.
    let civil = text
        .get(..19)
        .and_then(|t| t.parse::<jiff::civil::DateTime>().ok());
    Err(match civil {
        Some(_) => format!("{field} {shown:?} is out of the range of times the fetcher takes (years -9999 to 9999)"),
        None => format!("{field} {shown:?} is not an ISO 8601 time like 2024-11-01T08:00:00Z"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_out_of_range_or_malformed_are_told_apart() {
        assert!(time_of("GeneratedTime", "2024-11-01T08:00:00Z").is_ok());
        assert_eq!(
            time_of("GeneratedTime", "9999-12-31T23:59:59Z").unwrap_err(),
            "GeneratedTime \"9999-12-31T23:59:59Z\" is out of the range of times the fetcher takes (years -9999 to 9999)"
        );
        assert_eq!(
            time_of("GeneratedTime", "yesterday").unwrap_err(),
            "GeneratedTime \"yesterday\" is not an ISO 8601 time like 2024-11-01T08:00:00Z"
        );
        let long = time_of("GeneratedTime", &"9".repeat(1 << 20)).unwrap_err();
        assert!(long.len() < 200, "{long}");
    }

    #[test]
    fn pages_repeating_the_header_keep_it_once() {
        let mut content = Vec::new();
        let mut header = None;
        append_page(&mut content, &mut header, b"user,arn\n<root>,a\n".to_vec());
        append_page(&mut content, &mut header, b"user,arn\nbob,b\n".to_vec());
        append_page(&mut content, &mut header, b"carol,c".to_vec());
        append_page(&mut content, &mut header, b"dave,d\n".to_vec());
        assert_eq!(content, b"user,arn\n<root>,a\nbob,b\ncarol,c\ndave,d\n");
    }

    #[test]
    fn report_states_are_alibabas_words() {
        assert_eq!(ReportState::parse("STARTED"), Some(ReportState::Started));
        assert_eq!(
            ReportState::parse("INPROGRESS"),
            Some(ReportState::InProgress)
        );
        assert_eq!(
            ReportState::parse("COMPLETED"),
            Some(ReportState::Completed)
        );
        // AWS's word is not Alibaba's: waiting for it would poll until --fetch.timeout.
        assert_eq!(ReportState::parse("COMPLETE"), None);
    }

    #[test]
    fn error_codes_map_to_reasons() {
        assert_eq!(classify(400, "Throttling.User"), FailureReason::Throttled);
        assert_eq!(classify(403, "Forbidden.RAM"), FailureReason::AccessDenied);
        assert_eq!(
            classify(400, "InvalidAccessKeyId.NotFound"),
            FailureReason::AccessDenied
        );
        assert_eq!(
            classify(400, "SignatureDoesNotMatch"),
            FailureReason::AccessDenied
        );
        assert_eq!(classify(503, "ServiceUnavailable"), FailureReason::Server);
        assert_eq!(classify(500, ""), FailureReason::Server);
        assert!(is_report_absent("EntityNotExist.CredentialReport"));
        assert!(is_report_absent("CredentialReport.Expired"));
        assert!(!is_report_absent("Forbidden.RAM"));
    }

    #[test]
    fn json_errors_never_quote_values() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            n: u32,
        }
        let e = serde_json::from_str::<T>(r#"{"n":"LTAI5tSecretLookingValue1234"}"#).unwrap_err();
        let msg = json_error(&e);
        assert!(!msg.contains("LTAI"), "{msg}");
        let e = serde_json::from_str::<T>("{}").unwrap_err();
        assert!(
            json_error(&e).contains("missing field n"),
            "{}",
            json_error(&e)
        );
    }

    #[test]
    fn credentials_need_a_complete_source() {
        let none = |_: &str| None;
        let err = credentials_from(&none).err().unwrap().to_string();
        assert!(err.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"), "{err}");
        let half =
            |k: &str| (k == "ALIBABA_CLOUD_ROLE_ARN").then(|| "acs:ram::1:role/r".to_owned());
        assert!(credentials_from(&half).is_err());
        let keys = |k: &str| match k {
            "ALIBABA_CLOUD_ACCESS_KEY_ID" => Some("LTAIexample".to_owned()),
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET" => Some("secret".to_owned()),
            _ => None,
        };
        assert!(matches!(
            credentials_from(&keys).unwrap(),
            (Credentials::Static(_), None)
        ));
    }
}
