//! Alibaba Cloud RAM: the account's credential report from the IMS API (2019-08-15),
//! `GenerateCredentialReport` until complete, then every page of `GetCredentialReport`. With
//! `--organization`, every member of the Resource Directory (ResourceManager `ListAccounts`,
//! 2020-03-31), each through STS `AssumeRole` of `--alibaba.role-name` in the member.
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
use super::call::{self, ApiError, Pacer, Reply, Retries};
use super::credentials::{Credentials, Keys, WebIdentity};
use super::sign::{acs3, scrub, Known, Secret};
use super::{organization, Account, ApiCalls, FailureReason, FetchError, FetchedReport};

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
/// Resource Directory's API (ResourceManager), for `ListAccounts`.
const RM_VERSION: &str = "2020-03-31";
/// Members a `ListAccounts` page holds: the most its `PageSize` takes.
const PAGE_SIZE: usize = 100;
/// Pages of one listing at most: a million members, far past any directory's quota.
const MAX_MEMBER_PAGES: usize = 10_000;
/// The calls the management account makes for the whole organization, `ListAccounts` and
/// `AssumeRole`, at most this often per action: ResourceManager's published quotas for its
/// list calls start at 10 a second, STS allows the account 100 `AssumeRole` a second shared
/// with its other callers, and a member's report takes far longer than a tenth of a second.
const ORGANIZATION_CALLS_PER_SECOND: u32 = 10;
/// A member's temporary keys, assumed anew for each attempt, last this long: an attempt is
/// bounded by --fetch.timeout (10 minutes by default), and an hour is what every role allows
/// (a RAM role's `MaxSessionDuration` is at least 3600).
const MEMBER_SESSION_SECONDS: &str = "3600";
/// The role session's name in ActionTrail; roles' trust policies can require it.
const SESSION_NAME: &str = "credential-report-exporter";

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

    /// Alibaba Cloud, with --organization: the RAM role assumed in every member account (Resource Directory creates this one in the members it creates).
    #[arg(
        id = "alibaba.role-name",
        long = "alibaba.role-name",
        env = "CREDENTIAL_REPORT_FETCH_ALIBABA_ROLE_NAME",
        value_name = "NAME",
        default_value = "ResourceDirectoryAccountAccessRole"
    )]
    pub role_name: String,

    /// Alibaba Cloud, with --organization: the ResourceManager endpoint the Resource Directory's members are listed from.
    #[arg(
        id = "alibaba.resourcemanager-endpoint",
        long = "alibaba.resourcemanager-endpoint",
        env = "CREDENTIAL_REPORT_FETCH_ALIBABA_RESOURCEMANAGER_ENDPOINT",
        value_name = "URL",
        default_value = "https://resourcemanager.aliyuncs.com"
    )]
    pub resourcemanager_endpoint: String,
}

/// What `--organization` asks of the Alibaba fetcher.
struct Organization {
    resourcemanager: Endpoint,
    role_name: String,
    /// The tag keys kept from the listing (`--organization.tag-labels`); none: no tags asked.
    tag_keys: Vec<String>,
}

pub struct AlibabaRamFetcher {
    client: ApiClient,
    ims: Endpoint,
    sts: Endpoint,
    credentials: Credentials,
    rrsa: Option<Rrsa>,
    poll: Duration,
    /// The account id, once known: it never changes, so one answer serves every later fetch.
    account: std::sync::OnceLock<String>,
    /// With --organization: where the members are listed, and the role assumed in each.
    organization: Option<Organization>,
    /// Paces `ListAccounts` and `AssumeRole`, which every member's fetch shares.
    pacer: Pacer,
}

impl super::Source for AlibabaRamFetcher {
    fn accounts<'a>(
        &'a self,
        calls: &'a ApiCalls,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<Account>, FetchError>> {
        Box::pin(async move {
            match &self.organization {
                Some(organization) => self.members(organization, calls).await,
                None => Ok(vec![Account::own()]),
            }
        })
    }

    fn fetch<'a>(
        &'a self,
        account: &'a Account,
        calls: &'a ApiCalls,
    ) -> futures_util::future::BoxFuture<'a, Result<FetchedReport, FetchError>> {
        Box::pin(self.fetch(account, calls))
    }
}

/// Where a call goes, and whether it waits for the organization calls' pace.
#[derive(Clone, Copy)]
struct Api<'a> {
    endpoint: &'a Endpoint,
    version: &'static str,
    pacer: Option<&'a Pacer>,
    /// The most bytes an answer may have.
    max: usize,
}

impl AlibabaRamFetcher {
    /// `poll` is the wait between "is the report ready?" calls.
    pub fn new(
        flags: &Flags,
        members: &organization::Flags,
        poll: Duration,
        env: Env<'_>,
    ) -> anyhow::Result<AlibabaRamFetcher> {
        let ims = Endpoint::parse("--alibaba.endpoint", &flags.endpoint)?;
        let sts = Endpoint::parse(
            "ALIBABA_CLOUD_STS_ENDPOINT",
            &env("ALIBABA_CLOUD_STS_ENDPOINT").unwrap_or_else(|| DEFAULT_STS.to_owned()),
        )?;
        let organization = match members.enabled {
            false => None,
            true => Some(Organization {
                resourcemanager: Endpoint::parse(
                    "--alibaba.resourcemanager-endpoint",
                    &flags.resourcemanager_endpoint,
                )?,
                role_name: role_name(&flags.role_name)?,
                tag_keys: members.tag_labels.clone(),
            }),
        };
        let (credentials, rrsa) = credentials_from(env)?;
        Ok(AlibabaRamFetcher {
            client: ApiClient::new()?,
            ims,
            sts,
            credentials,
            rrsa,
            poll,
            account: std::sync::OnceLock::new(),
            organization,
            pacer: Pacer::new(ORGANIZATION_CALLS_PER_SECOND),
        })
    }

    /// One attempt at the report of `account`: the credentials' own, or a member's through
    /// its role.
    pub async fn fetch(
        &self,
        account: &Account,
        calls: &ApiCalls,
    ) -> Result<FetchedReport, FetchError> {
        let keys = match &account.role {
            None => self.keys(calls).await?,
            Some(arn) => self.assume_role(arn, calls).await?,
        };
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
        // A member is named by the listing. The own account's report does not name it; one
        // cheap call does. Only the default file name depends on it, so a failure here is not
        // a failed fetch.
        let account_id = match (&account.role, self.account.get()) {
            (Some(_), _) => Ok(account.id.clone()),
            (None, Some(id)) => Ok(id.clone()),
            (None, None) => self.account_id(&keys, calls).await,
        };
        let account_id = match account_id {
            Ok(id) if account.role.is_none() => Ok(self.account.get_or_init(|| id).clone()),
            other => other,
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
            match GenerationState::parse(&answer.state) {
                Some(GenerationState::Completed) => return Ok(()),
                Some(GenerationState::Started | GenerationState::InProgress) => {
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
            content: Vec<u8>,
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
            let bytes = page.content;
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
            // The pages joined are held to the end: past SMALL, with the gate.
            super::budget::hold(content.capacity()).await;
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

    /// Resource Directory `ListAccounts`, every page; the tags asked come from the same
    /// answers (`IncludeTags`). A page that is not the model's answer, a member id that is not
    /// an account id or a `Status` outside the model's words fails the whole listing.
    async fn members(
        &self,
        organization: &Organization,
        calls: &ApiCalls,
    ) -> Result<Vec<Account>, FetchError> {
        const ACTION: &str = "ListAccounts";
        let keys = self.keys(calls).await?;
        let api = Api {
            endpoint: &organization.resourcemanager,
            version: RM_VERSION,
            pacer: Some(&self.pacer),
            max: MAX_ANSWER_BYTES,
        };
        let mut accounts = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for page in 1..=MAX_MEMBER_PAGES {
            let mut query = vec![
                ("PageNumber".to_owned(), page.to_string()),
                ("PageSize".to_owned(), PAGE_SIZE.to_string()),
            ];
            if !organization.tag_keys.is_empty() {
                query.push(("IncludeTags".to_owned(), "true".to_owned()));
            }
            let answer: MemberPage = self
                .call_with(api, &keys, calls, ACTION, &query, MemberPage::check)
                .await?
                .map_err(|code| FetchError::invalid(ACTION, format!("unexpected error {code}")))?;
            let listed = answer.accounts.account.len();
            for member in answer.accounts.account {
                // A member that joined while the pages were read shifts the next page by one.
                if seen.insert(member.id.clone()) {
                    accounts.push(member.account(organization));
                }
            }
            // TotalCount says when the listing is whole, whatever size the pages came in.
            let whole = match answer.total {
                Some(total) => seen.len() >= total,
                None => listed < PAGE_SIZE,
            };
            if listed == 0 || whole {
                return Ok(accounts);
            }
        }
        Err(FetchError::invalid(
            ACTION,
            format!("more than {MAX_MEMBER_PAGES} pages of members: the pages do not end"),
        ))
    }

    /// STS `AssumeRole` of a member's role with the fetcher's own credentials: the member's
    /// temporary keys, held in memory for one attempt only.
    async fn assume_role(&self, arn: &str, calls: &ApiCalls) -> Result<Keys, FetchError> {
        const ACTION: &str = "AssumeRole";
        #[derive(Deserialize)]
        struct Assumed {
            #[serde(rename = "Credentials")]
            credentials: StsCredentials,
        }
        let keys = self.keys(calls).await?;
        let api = Api {
            endpoint: &self.sts,
            version: STS_VERSION,
            pacer: Some(&self.pacer),
            max: MAX_ANSWER_BYTES,
        };
        let query = [
            ("RoleArn", arn),
            ("RoleSessionName", SESSION_NAME),
            ("DurationSeconds", MEMBER_SESSION_SECONDS),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let check = |a: &Assumed| a.credentials.check(ACTION).map(drop);
        let answer = self
            .call_with(api, &keys, calls, ACTION, &query, check)
            .await
            .and_then(|reply| {
                reply
                    .map_err(|code| FetchError::invalid(ACTION, format!("unexpected error {code}")))
            })
            .map_err(|e| FetchError::new(e.reason, format!("{} (assuming {arn})", e.message)))?;
        Ok(answer.credentials.keys())
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
        version: &'static str,
        keys: &Keys,
        calls: &ApiCalls,
        action: &'static str,
        query: &[(String, String)],
        max: usize,
    ) -> Result<Result<T, String>, FetchError> {
        let api = Api {
            endpoint,
            version,
            pacer: None,
            max,
        };
        self.call_with(api, keys, calls, action, query, |_| Ok(()))
            .await
    }

    /// [`Self::call`] to `api`, whose answer must also pass `check`: one that does not is
    /// counted as the `invalid_response` it is.
    async fn call_with<T: for<'de> Deserialize<'de>>(
        &self,
        api: Api<'_>,
        keys: &Keys,
        calls: &ApiCalls,
        action: &'static str,
        query: &[(String, String)],
        check: impl Fn(&T) -> Result<(), FetchError>,
    ) -> Result<Result<T, String>, FetchError> {
        let Api {
            endpoint,
            version,
            pacer,
            max,
        } = api;
        let path = if query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", acs3::canonical_query(query))
        };
        let known = keys.known();
        let reply = call::call(calls, pacer, NO_RETRIES, action, || async {
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
            let reply = read_answer(action, answer, &known)?;
            if let Reply::Done(answer) = &reply {
                check(answer)?;
            }
            Ok(reply)
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
        struct AssumedRole {
            #[serde(rename = "Credentials")]
            credentials: StsCredentials,
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
        let known = Known {
            secrets: vec![oidc_token],
            key_ids: vec![],
        };
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
            let reply = read_answer::<AssumedRole>(ACTION, answer, &known)?;
            if let Reply::Done(a) = &reply {
                a.credentials.check(ACTION)?;
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
        let expires = a.credentials.check(ACTION)?;
        Ok((a.credentials.keys(), expires))
    }
}

/// Temporary credentials as STS answers them (`AssumeRole`, `AssumeRoleWithOIDC`).
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

impl StsCredentials {
    /// Their expiry, which is part of a usable answer: checked where the call is recorded,
    /// so a bad one counts as the invalid answer it is.
    fn check(&self, action: &str) -> Result<jiff::Timestamp, FetchError> {
        if [&self.id, &self.secret, &self.token]
            .iter()
            .any(|v| v.is_empty())
        {
            return Err(FetchError::invalid(
                action,
                "Credentials has an empty key, secret or token",
            ));
        }
        time_of("Credentials.Expiration", &self.expiration)
            .map_err(|e| FetchError::invalid(action, e))
    }

    fn keys(self) -> Keys {
        Keys {
            id: self.id,
            secret: Secret::new(self.secret),
            token: Some(Secret::new(self.token)),
        }
    }
}

/// One page of `ListAccounts`, in the ResourceManager model's names (`Accounts.Account[]`).
#[derive(Deserialize)]
struct MemberPage {
    #[serde(rename = "Accounts")]
    accounts: Members,
    #[serde(rename = "TotalCount", default)]
    total: Option<usize>,
}

#[derive(Deserialize)]
struct Members {
    #[serde(rename = "Account", default)]
    account: Vec<Member>,
}

#[derive(Deserialize)]
struct Member {
    #[serde(rename = "AccountId")]
    id: String,
    #[serde(rename = "DisplayName", default)]
    name: String,
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "Tags", default)]
    tags: Option<MemberTags>,
}

#[derive(Deserialize)]
struct MemberTags {
    #[serde(rename = "Tag", default)]
    tag: Vec<MemberTag>,
}

#[derive(Deserialize)]
struct MemberTag {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

impl MemberPage {
    /// Every member's id is an account id (it names a file and a role) and its `Status` one
    /// of the model's words; the error names the member and what is wrong, quoting at most
    /// 64 characters of the cloud's text.
    fn check(&self) -> Result<(), FetchError> {
        let shown = |text: &str| scrub(&crate::report::prefix(text, 64), &[], &[]);
        for member in &self.accounts.account {
            let id = &member.id;
            if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(FetchError::invalid(
                    "ListAccounts",
                    format!(
                        "the member named {:?} has AccountId {:?}, which is not an account id (digits only)",
                        shown(&member.name),
                        shown(id)
                    ),
                ));
            }
            if member_active(&member.status).is_none() {
                return Err(FetchError::invalid(
                    "ListAccounts",
                    format!(
                        "member {id} has Status {:?}, none of {}",
                        shown(&member.status),
                        MEMBER_STATUSES.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Member {
    /// The listed member as the loop fetches it, with only the tags asked.
    fn account(self, organization: &Organization) -> Account {
        let tags = self.tags.map(|t| t.tag).unwrap_or_default().into_iter();
        let asked = tags.filter(|t| organization.tag_keys.contains(&t.key));
        Account {
            active: member_active(&self.status).unwrap_or(false),
            role: Some(format!(
                "acs:ram::{}:role/{}",
                self.id, organization.role_name
            )),
            tags: asked.map(|t| (t.key, t.value)).collect(),
            name: self.name,
            id: self.id,
        }
    }
}

/// A member's `Status`, in the ResourceManager model's words (the comments of its `Account`
/// models: GetAccount's seven, UpdateAccount's `Removed` and `SwitchSuccess`). Every state but
/// `Removed` is an account in the directory, its access role in place: the `Promote*` ones
/// are a resource account being (or not) upgraded to a cloud account, and still a member.
const MEMBER_STATUSES: [&str; 9] = [
    "CreateSuccess",
    "InviteSuccess",
    "PromoteSuccess",
    "SwitchSuccess",
    "PromoteVerifying",
    "PromoteFailed",
    "PromoteExpired",
    "PromoteCancelled",
    "Removed",
];

/// Whether a member in `status` is fetched; `None`: a word the model does not have.
fn member_active(status: &str) -> Option<bool> {
    match status {
        "Removed" => Some(false),
        word if MEMBER_STATUSES.contains(&word) => Some(true),
        _ => None,
    }
}

/// `--alibaba.role-name`, which becomes part of every member's role ARN: RAM's role names are
/// 1 to 64 letters, digits, periods and hyphens.
fn role_name(name: &str) -> anyhow::Result<String> {
    let name = name.trim();
    let valid = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'-';
    if name.is_empty() || name.len() > 64 || !name.bytes().all(valid) {
        anyhow::bail!("--alibaba.role-name={name:?} is not a RAM role name: 1 to 64 letters, digits, periods (.) and hyphens (-)");
    }
    Ok(name.to_owned())
}

/// What one answer says: `T` from a 2xx answer's JSON; [`Reply::NotReady`] for "the report is
/// absent, expired or not ready"; else the error's code, message and request id, scrubbed of
/// `known`.
fn read_answer<T: for<'de> Deserialize<'de>>(
    action: &str,
    answer: Answer,
    known: &Known,
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
    let code = known.scrub(&err.code);
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
            format!(": {}", known.scrub(&err.message))
        },
        if err.request_id.is_empty() {
            String::new()
        } else {
            format!(" (RequestId {})", known.scrub(&err.request_id))
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
enum GenerationState {
    Started,
    InProgress,
    Completed,
}

impl GenerationState {
    fn parse(word: &str) -> Option<GenerationState> {
        match word {
            "STARTED" => Some(GenerationState::Started),
            "INPROGRESS" => Some(GenerationState::InProgress),
            "COMPLETED" => Some(GenerationState::Completed),
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
/// a text that is not base64 fails the answer (as any answer not in the model), saying why.
fn base64_content<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    struct Base64;
    impl serde::de::Visitor<'_> for Base64 {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("base64 text")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map_err(|e| E::custom(format_args!("Content is not base64: {e}")))
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
        assert_eq!(
            GenerationState::parse("STARTED"),
            Some(GenerationState::Started)
        );
        assert_eq!(
            GenerationState::parse("INPROGRESS"),
            Some(GenerationState::InProgress)
        );
        assert_eq!(
            GenerationState::parse("COMPLETED"),
            Some(GenerationState::Completed)
        );
        // AWS's word is not Alibaba's: waiting for it would poll until --fetch.timeout.
        assert_eq!(GenerationState::parse("COMPLETE"), None);
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
    fn member_states_are_the_models_words_and_only_removed_is_skipped() {
        assert_eq!(member_active("CreateSuccess"), Some(true));
        assert_eq!(member_active("PromoteVerifying"), Some(true));
        assert_eq!(member_active("Removed"), Some(false));
        // AWS's word is not Alibaba's.
        assert_eq!(member_active("ACTIVE"), None);
    }

    #[test]
    fn a_listed_member_must_have_an_account_id_and_a_known_status() {
        let page = |id: &str, status: &str| -> MemberPage {
            serde_json::from_value(
                serde_json::json!({"TotalCount": 1, "Accounts": {"Account": [
                {"AccountId": id, "DisplayName": "payments", "Status": status}]}}),
            )
            .unwrap()
        };
        assert!(page("1234567890123456", "CreateSuccess").check().is_ok());
        for bad in ["", "12a4", "../x", &"1".repeat(33)] {
            let error = page(bad, "CreateSuccess").check().unwrap_err();
            assert_eq!(error.reason, FailureReason::InvalidResponse);
            assert!(error.message.contains("\"payments\""), "{}", error.message);
        }
        let error = page("1234567890123456", &"X".repeat(500))
            .check()
            .unwrap_err();
        assert!(
            error.message.contains("1234567890123456 has Status"),
            "{}",
            error.message
        );
        assert!(
            error.message.len() < 300,
            "quotes at most 64: {}",
            error.message
        );
    }

    #[test]
    fn members_keep_only_the_tags_asked_and_get_the_role_arn() {
        let member: Member = serde_json::from_value(serde_json::json!({
            "AccountId": "1234567890123456", "DisplayName": "payments", "Status": "Removed",
            "Tags": {"Tag": [{"Key": "team", "Value": "pay"}, {"Key": "other", "Value": "x"}]}}))
        .unwrap();
        let organization = Organization {
            resourcemanager: Endpoint::parse("--x", "https://resourcemanager.aliyuncs.com")
                .unwrap(),
            role_name: "Auditor".to_owned(),
            tag_keys: vec!["team".to_owned()],
        };
        let account = member.account(&organization);
        assert_eq!(account.tags, [("team".to_owned(), "pay".to_owned())]);
        assert_eq!(
            account.role.as_deref(),
            Some("acs:ram::1234567890123456:role/Auditor")
        );
        assert!(!account.active);
    }

    #[test]
    fn role_names_are_rams() {
        assert_eq!(
            role_name(" ResourceDirectoryAccountAccessRole ").unwrap(),
            "ResourceDirectoryAccountAccessRole"
        );
        assert!(role_name("audit.v2-ro").is_ok());
        for bad in ["", "a/b", "a:b", "a b", &"r".repeat(65)] {
            let error = role_name(bad).unwrap_err().to_string();
            assert!(error.contains("--alibaba.role-name"), "{error}");
        }
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
