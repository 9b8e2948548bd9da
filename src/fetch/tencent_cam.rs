//! Tencent Cloud CAM: no API hands out the console's credential report, so it is rebuilt from
//! CAM API 3.0 (2019-01-16) calls, signed with TC3-HMAC-SHA256 ([`super::sign::tc3`]).
//!
//! The column-to-API mapping is in docs/providers/tencent-cam.md. `MayBeAtRisk` and
//! `Abnormal LoginsNumWithin30Days` have no API and are left out of the file.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{json_error, ApiClient, Endpoint, Env};
use super::sign::{scrub, tc3, Secret};
use super::{ApiCalls, FailureReason, FetchError, FetchedReport, CALL_SUCCESS};

const VERSION: &str = "2019-01-16";
/// The credential scope's service: every call goes to CAM.
const SERVICE: &str = "cam";
/// Per-user calls in flight at once. CAM allows about 20 calls a second per action; a few at a
/// time stays well under it, and `RequestLimitExceeded` backs off when other tools share the limit.
const CONCURRENCY: usize = 4;
/// Page size of the offset-paged lists.
const PAGE: u64 = 50;
/// `DescribeSubAccounts` takes at most 50 UINs, `GetSecurityLastUsed` at most 10 SecretIds.
const SUB_ACCOUNTS_PER_CALL: usize = 50;
const SECRET_IDS_PER_CALL: usize = 10;
/// Retries of one throttled call, waiting 250 ms, 500 ms, 1 s … (at most 8 s) in between.
const THROTTLE_RETRIES: u32 = 6;
/// The console writes local times of this zone; so do we (the exporter's default --report.timezone).
const REPORT_TZ: &str = "Asia/Shanghai";

/// The columns we write, in the international console's order and spelling, without the two
/// no API gives (`Abnormal LoginsNumWithin30Days`, `AccessKeyNMayBeAtRisk`).
pub const HEADER: [&str; 22] = [
    "AccountID",
    "Username",
    "UserType",
    "CreationTime",
    "PasswordEnabled",
    "PasswordLastRotation",
    "LoginConsoleActive",
    "LoginProtectionActive",
    "OperationProtectionActive",
    "MFADeviceActive",
    "AccessKey1SecretId",
    "AccessKey1CreationTime",
    "AccessKey1Status",
    "AccessKey1lastUsedDate",
    "AccessKey1CreatedOver90Days",
    "AccessKey1CreatedOver30Days",
    "AccessKey2SecretId",
    "AccessKey2CreationTime",
    "AccessKey2Status",
    "AccessKey2lastUsedDate",
    "AccessKey2CreatedOver90Days",
    "AccessKey2CreatedOver30Days",
];

pub struct TencentCam {
    client: ApiClient,
    endpoint: Endpoint,
    credentials: Credentials,
    throttle_base: Duration,
}

/// A SecretId and SecretKey (and a token for temporary ones) to sign with.
#[derive(Clone)]
struct Keys {
    id: String,
    key: Secret,
    token: Option<Secret>,
}

impl Keys {
    /// The values a message must never show: (secrets, key ids to mask).
    /// The values a message must never show: (secrets, key ids to mask).
    fn known(&self) -> (Vec<&str>, Vec<&str>) {
        let mut secrets = vec![self.key.expose()];
        if let Some(t) = &self.token {
            secrets.push(t.expose());
        }
        (secrets, vec![self.id.as_str()])
    }
}

enum Credentials {
    Static(Keys),
    /// TKE workload identity: a projected service-account token, exchanged with STS
    /// `AssumeRoleWithWebIdentity` for temporary keys (what Tencent's SDKs do with `TKE_*`).
    Tke {
        region: String,
        provider_id: String,
        role_arn: String,
        token_file: std::path::PathBuf,
        sts: Endpoint,
        /// The keys and when to renew them (Unix seconds).
        cached: tokio::sync::Mutex<Option<(Keys, i64)>>,
    },
}

/// Where STS lives unless `TENCENTCLOUD_STS_ENDPOINT` says otherwise.
const DEFAULT_STS: &str = "https://sts.tencentcloudapi.com";
/// Lifetime asked of TKE temporary keys; renewed when a tenth of it is left.
const TKE_DURATION: i64 = 7200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    SubUser,
    WeComSubUser,
    Collaborator,
    MessageReceiver,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::SubUser => "Sub-user",
            Kind::WeComSubUser => "WeWork-Sub-user",
            Kind::Collaborator => "Collaborator",
            Kind::MessageReceiver => "Message-receiver",
        }
    }
    /// DescribeSubAccounts' `UserType`: 2 sub-user, 3 WeCom sub-user, 4 collaborator, 5 receiver.
    fn from_user_type(t: i64) -> Option<Kind> {
        match t {
            2 => Some(Kind::SubUser),
            3 => Some(Kind::WeComSubUser),
            4 => Some(Kind::Collaborator),
            5 => Some(Kind::MessageReceiver),
            _ => None,
        }
    }
}

/// One row's facts as the list calls give them.
#[derive(Clone, Debug)]
struct Person {
    id: String,
    uin: Option<u64>,
    name: String,
    kind: Kind,
    created: Option<jiff::civil::DateTime>,
    console_login: Option<bool>,
}

#[derive(Debug, Default)]
struct Protection {
    login: bool,
    operation: bool,
    mfa: bool,
}

#[derive(Debug)]
struct Key {
    id: String,
    active: bool,
    created: Option<jiff::civil::DateTime>,
    last_used: Option<jiff::civil::Date>,
}

/// What the per-user calls found; `None` where the call does not apply to the user.
struct Details {
    protection: Option<Protection>,
    keys: Option<Vec<Key>>,
}

/// An error answer of the API (`Response.Error`).
#[derive(Debug)]
struct ApiError {
    code: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserInfo {
    uin: u64,
    name: String,
    #[serde(default)]
    create_time: Option<String>,
    #[serde(default)]
    console_login: Option<i64>,
}

impl TencentCam {
    /// `endpoint` is `--tencent.endpoint`.
    pub fn new(endpoint: &str, env: Env<'_>) -> anyhow::Result<TencentCam> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let tke = [
            "TKE_REGION",
            "TKE_PROVIDER_ID",
            "TKE_ROLE_ARN",
            "TKE_WEB_IDENTITY_TOKEN_FILE",
        ]
        .map(get);
        let credentials = match (get("TENCENTCLOUD_SECRET_ID"), get("TENCENTCLOUD_SECRET_KEY"), tke) {
            (Some(id), Some(key), _) => Credentials::Static(Keys {
                id,
                key: Secret::new(key),
                token: get("TENCENTCLOUD_SESSION_TOKEN").map(Secret::new),
            }),
            (Some(_), None, _) | (None, Some(_), _) => anyhow::bail!(
                "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY go together; one of them is not set"
            ),
            (None, None, [Some(region), Some(provider_id), Some(role_arn), Some(token_file)]) => Credentials::Tke {
                region,
                provider_id,
                role_arn,
                token_file: token_file.into(),
                sts: Endpoint::parse(
                    "TENCENTCLOUD_STS_ENDPOINT",
                    &get("TENCENTCLOUD_STS_ENDPOINT").unwrap_or_else(|| DEFAULT_STS.to_owned()),
                )?,
                cached: tokio::sync::Mutex::new(None),
            },
            (None, None, [None, None, None, None]) => anyhow::bail!(
                "no Tencent Cloud credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY \
                 (and TENCENTCLOUD_SESSION_TOKEN for temporary credentials), or use TKE workload identity \
                 (TKE_REGION, TKE_PROVIDER_ID, TKE_ROLE_ARN, TKE_WEB_IDENTITY_TOKEN_FILE)"
            ),
            (None, None, _) => anyhow::bail!(
                "TKE workload identity needs all of TKE_REGION, TKE_PROVIDER_ID, TKE_ROLE_ARN and TKE_WEB_IDENTITY_TOKEN_FILE; some are missing"
            ),
        };
        Ok(TencentCam {
            client: ApiClient::new()?,
            endpoint: Endpoint::parse("--tencent.endpoint", endpoint)?,
            credentials,
            throttle_base: Duration::from_millis(250),
        })
    }

    /// One attempt at the report of the credentials' own account.
    pub async fn fetch(&self, calls: &ApiCalls) -> Result<FetchedReport, FetchError> {
        let generated = jiff::Timestamp::now();
        let account_id = self.owner_uin(calls).await?;
        let people = self.people(calls).await?;
        let details: Vec<Details> = futures_util::stream::iter(people.iter())
            .map(|p| self.details(p, calls))
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        let ids: Vec<String> = details
            .iter()
            .flat_map(|d| d.keys.iter().flatten().map(|k| k.id.clone()))
            .collect();
        let last_used = self.last_used(&ids, calls).await?;
        let mut details = details;
        for d in &mut details {
            for k in d.keys.iter_mut().flatten() {
                k.last_used = last_used.get(&k.id).copied().flatten();
            }
        }
        Ok(FetchedReport {
            account_id: Some(account_id),
            content: render(&people, &details, generated),
            generated,
            users_listed: Some(people.len() as u64),
        })
    }

    /// `GetUserAppId`: the main account's UIN, which names the report by default.
    async fn owner_uin(&self, calls: &ApiCalls) -> Result<String, FetchError> {
        #[derive(Deserialize)]
        struct AppId {
            #[serde(rename = "OwnerUin")]
            owner_uin: Value,
        }
        let a: AppId = self.required(calls, "GetUserAppId", json!({})).await?;
        let uin = match a.owner_uin {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        if uin.is_empty() || !uin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("GetUserAppId", "OwnerUin is not a number"));
        }
        Ok(uin)
    }

    /// Everyone the report lists: sub-users, collaborators, WeCom sub-users, message receivers,
    /// with each UIN's kind as DescribeSubAccounts says.
    async fn people(&self, calls: &ApiCalls) -> Result<Vec<Person>, FetchError> {
        #[derive(Deserialize)]
        struct Users {
            #[serde(rename = "Data", default)]
            data: Vec<UserInfo>,
        }
        let mut by_uin: BTreeMap<u64, Person> = BTreeMap::new();
        let users: Users = self.required(calls, "ListUsers", json!({})).await?;
        for u in users.data {
            by_uin.insert(u.uin, person(u, Kind::SubUser));
        }
        for u in self
            .offset_pages::<UserInfo>(calls, "ListCollaborators", "TotalNum", "Data", true)
            .await?
        {
            by_uin
                .entry(u.uin)
                .or_insert_with(|| person(u, Kind::Collaborator));
        }
        for u in self
            .offset_pages::<UserInfo>(
                calls,
                "ListWeChatWorkSubAccounts",
                "TotalCount",
                "Data",
                false,
            )
            .await?
        {
            // Also listed by ListUsers on some accounts: the WeCom kind wins.
            by_uin.insert(u.uin, person(u, Kind::WeComSubUser));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Receiver {
            uid: Value,
            #[serde(default)]
            uin: Option<Value>,
            name: String,
        }
        let mut receivers = Vec::new();
        for r in self
            .offset_pages::<Receiver>(calls, "ListReceiver", "TotalCount", "Receivers", false)
            .await?
        {
            let uin = r.uin.as_ref().and_then(number);
            // A sub-user who also receives messages is listed once, as the sub-user.
            if uin.is_some_and(|u| by_uin.contains_key(&u)) {
                continue;
            }
            receivers.push(Person {
                id: uin
                    .map(|u| u.to_string())
                    .or_else(|| number(&r.uid).map(|u| u.to_string()))
                    .unwrap_or_default(),
                uin,
                name: r.name,
                kind: Kind::MessageReceiver,
                created: None,
                console_login: None,
            });
        }
        // The kind and creation time DescribeSubAccounts gives (it knows every UIN's UserType).
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct SubAccounts {
            #[serde(default)]
            sub_accounts: Vec<SubAccount>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct SubAccount {
            uin: u64,
            #[serde(default)]
            user_type: Option<i64>,
            #[serde(default)]
            create_time: Option<String>,
        }
        let uins: Vec<u64> = by_uin.keys().copied().collect();
        for chunk in uins.chunks(SUB_ACCOUNTS_PER_CALL) {
            let a: SubAccounts = self
                .required(
                    calls,
                    "DescribeSubAccounts",
                    json!({ "FilterSubAccountUin": chunk }),
                )
                .await?;
            for s in a.sub_accounts {
                if let Some(p) = by_uin.get_mut(&s.uin) {
                    if let Some(kind) = s.user_type.and_then(Kind::from_user_type) {
                        p.kind = kind;
                    }
                    if p.created.is_none() {
                        p.created = s.create_time.as_deref().and_then(civil_time);
                    }
                }
            }
        }
        let mut people: Vec<Person> = by_uin.into_values().chain(receivers).collect();
        people.sort_by(|a, b| (a.kind, a.uin, &a.name).cmp(&(b.kind, b.uin, &b.name)));
        Ok(people)
    }

    /// Protection and keys of one person: `DescribeSafeAuthFlagColl` and `ListAccessKeys`.
    async fn details(&self, p: &Person, calls: &ApiCalls) -> Result<Details, FetchError> {
        let (Some(uin), false) = (p.uin, p.kind == Kind::MessageReceiver) else {
            return Ok(Details {
                protection: None,
                keys: None,
            });
        };
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Flags {
            login_flag: Option<BTreeMap<String, Value>>,
            action_flag: Option<BTreeMap<String, Value>>,
        }
        let on = |flags: &Option<BTreeMap<String, Value>>, names: &[&str]| {
            flags.as_ref().is_some_and(|f| {
                f.iter().any(|(k, v)| {
                    (names.is_empty() || names.contains(&k.as_str())) && number(v).unwrap_or(0) != 0
                })
            })
        };
        const MFA: &[&str] = &["Token", "Stoken", "U2FToken", "Passkey"];
        let protection = self
            .optional::<Flags>(calls, "DescribeSafeAuthFlagColl", json!({ "SubUin": uin }))
            .await?
            .map(|f| Protection {
                login: on(&f.login_flag, &[]),
                operation: on(&f.action_flag, &[]),
                mfa: on(&f.login_flag, MFA) || on(&f.action_flag, MFA),
            });
        // A collaborator's keys belong to its own account: the report shows none.
        if p.kind == Kind::Collaborator {
            return Ok(Details {
                protection,
                keys: None,
            });
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct AccessKeys {
            #[serde(default)]
            access_keys: Vec<RawKey>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct RawKey {
            access_key_id: String,
            status: String,
            #[serde(default)]
            create_time: Option<String>,
        }
        // Optional: a user deleted since the lists were read has no keys (ResourceNotFound).
        let Some(keys) = self
            .optional::<AccessKeys>(calls, "ListAccessKeys", json!({ "TargetUin": uin }))
            .await?
        else {
            return Ok(Details {
                protection,
                keys: None,
            });
        };
        let mut keys: Vec<Key> = keys
            .access_keys
            .into_iter()
            .map(|k| Key {
                active: k.status.eq_ignore_ascii_case("Active"),
                created: k.create_time.as_deref().and_then(civil_time),
                id: k.access_key_id,
                last_used: None,
            })
            .collect();
        keys.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        if keys.len() > 2 {
            tracing::warn!(uin, keys = keys.len(), "ListAccessKeys gave more than the two keys a report has columns for; the oldest two are written");
            keys.truncate(2);
        }
        Ok(Details {
            protection,
            keys: Some(keys),
        })
    }

    /// `GetSecurityLastUsed`, ten SecretIds a call: the date each was last used, if ever.
    async fn last_used(
        &self,
        ids: &[String],
        calls: &ApiCalls,
    ) -> Result<BTreeMap<String, Option<jiff::civil::Date>>, FetchError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Rows {
            #[serde(default)]
            secret_id_last_used_rows: Vec<Row>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Row {
            secret_id: String,
            #[serde(default)]
            last_used_date: Option<String>,
        }
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(SECRET_IDS_PER_CALL) {
            let rows: Rows = self
                .required(
                    calls,
                    "GetSecurityLastUsed",
                    json!({ "SecretIdList": chunk }),
                )
                .await?;
            for r in rows.secret_id_last_used_rows {
                let date = r
                    .last_used_date
                    .as_deref()
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .and_then(|d| {
                        jiff::civil::Date::strptime("%Y-%m-%d", d.get(..10).unwrap_or(d)).ok()
                    });
                out.insert(r.secret_id, date);
            }
        }
        Ok(out)
    }

    /// An offset-paged list (`Offset`, `Limit`, a total): every page. `required` false: an
    /// account without the feature (WeCom, message receivers) answers an error; that is an empty list.
    async fn offset_pages<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        total_field: &str,
        list_field: &str,
        required: bool,
    ) -> Result<Vec<T>, FetchError> {
        let mut all = Vec::new();
        let mut offset = 0u64;
        loop {
            let params = json!({ "Offset": offset, "Limit": PAGE });
            let page: Value = if required {
                self.required(calls, action, params).await?
            } else {
                match self.optional(calls, action, params).await? {
                    Some(v) => v,
                    None => return Ok(all),
                }
            };
            let total = page.get(total_field).and_then(number);
            let items: Vec<T> = match page.get(list_field) {
                None | Some(Value::Null) => Vec::new(),
                Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                    invalid(
                        action,
                        format!(
                            "{list_field} is not the documented list: {}",
                            json_error(&e)
                        ),
                    )
                })?,
            };
            let n = items.len() as u64;
            all.extend(items);
            offset += n;
            // Stop on an empty page, or once the total is reached; a total that never comes is
            // bounded by the empty page.
            if n == 0 || total.is_some_and(|t| offset >= t) {
                return Ok(all);
            }
            if offset > 10_000_000 {
                return Err(invalid(
                    action,
                    "more than ten million entries: paging does not end",
                ));
            }
        }
    }

    /// A call whose error answers are all failures.
    async fn required<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        params: Value,
    ) -> Result<T, FetchError> {
        match self.call(calls, action, &params).await? {
            Ok(v) => Ok(v),
            Err(e) => Err(self.api_failure(action, e)),
        }
    }

    /// A call the account may not support: `ResourceNotFound`, `UnsupportedOperation`,
    /// `InvalidParameter` and the like give `None`; throttling, access denied and server errors
    /// stay failures.
    async fn optional<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        params: Value,
    ) -> Result<Option<T>, FetchError> {
        match self.call(calls, action, &params).await? {
            Ok(v) => Ok(Some(v)),
            Err(e) if classify(&e.code) == FailureReason::InvalidResponse => {
                tracing::info!(action, code = %e.code, "not available for this account; left out");
                Ok(None)
            }
            Err(e) => Err(self.api_failure(action, e)),
        }
    }

    fn api_failure(&self, action: &str, e: ApiError) -> FetchError {
        FetchError::new(
            classify(&e.code),
            format!("{action}: {}: {}", e.code, e.message),
        )
    }

    /// One signed call, retried with backoff while the answer is `RequestLimitExceeded`.
    /// `Ok(Err(_))`: the API answered an error (recorded under its reason), its code and
    /// message already scrubbed of credentials.
    async fn call<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        params: &Value,
    ) -> Result<Result<T, ApiError>, FetchError> {
        let body = params.to_string().into_bytes();
        let mut attempt = 0;
        loop {
            let keys = self.keys(calls).await?;
            let known = keys.known();
            let timestamp = jiff::Timestamp::now().as_second();
            let req = tc3::Request {
                host: self.endpoint.host(),
                service: SERVICE,
                content_type: tc3::JSON,
                timestamp,
                payload: &body,
            };
            let headers = tc3::sign(
                &req,
                action,
                VERSION,
                None,
                &keys.id,
                &keys.key,
                keys.token.as_ref(),
            );
            let answer = match self
                .client
                .post(&self.endpoint, "/", &headers, None, body.clone())
                .await
            {
                Ok(a) => a,
                Err(e) => {
                    calls.record(action, e.reason.as_str());
                    return Err(FetchError::new(
                        e.reason,
                        format!("{action}: {}", scrub(&e.message, &known.0, &known.1)),
                    ));
                }
            };
            if answer.status >= 500 {
                calls.record(action, FailureReason::Server.as_str());
                return Err(FetchError::new(
                    FailureReason::Server,
                    format!("{action}: HTTP {}", answer.status),
                ));
            }
            let mut envelope: Value = match serde_json::from_slice(&answer.body) {
                Ok(v) => v,
                Err(e) => {
                    calls.record(action, FailureReason::InvalidResponse.as_str());
                    return Err(invalid(
                        action,
                        format!(
                            "HTTP {}: the answer is not JSON: {}",
                            answer.status,
                            json_error(&e)
                        ),
                    ));
                }
            };
            let Some(response) = envelope.get_mut("Response").map(Value::take) else {
                calls.record(action, FailureReason::InvalidResponse.as_str());
                return Err(invalid(
                    action,
                    format!("HTTP {}: the answer has no Response object", answer.status),
                ));
            };
            if let Some(error) = response.get("Error") {
                let text = |field: &str| error.get(field).and_then(Value::as_str).unwrap_or("");
                let e = ApiError {
                    code: scrub(text("Code"), &known.0, &known.1),
                    message: scrub(text("Message"), &known.0, &known.1),
                };
                let reason = classify(&e.code);
                calls.record(action, reason.as_str());
                if reason == FailureReason::Throttled && attempt < THROTTLE_RETRIES {
                    let wait = (self.throttle_base * 2u32.pow(attempt)).min(Duration::from_secs(8));
                    tracing::debug!(action, ?wait, "RequestLimitExceeded; backing off");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                return Ok(Err(e));
            }
            if !(200..300).contains(&answer.status) {
                calls.record(action, FailureReason::InvalidResponse.as_str());
                return Err(invalid(
                    action,
                    format!("HTTP {} without an error in the answer", answer.status),
                ));
            }
            return match serde_json::from_value::<T>(response) {
                Ok(v) => {
                    calls.record(action, CALL_SUCCESS);
                    Ok(Ok(v))
                }
                Err(e) => {
                    calls.record(action, FailureReason::InvalidResponse.as_str());
                    Err(invalid(
                        action,
                        format!("the answer is not the documented JSON: {}", json_error(&e)),
                    ))
                }
            };
        }
    }

    /// The keys to sign with; for TKE, fresh temporary keys when the cached ones near expiry.
    async fn keys(&self, calls: &ApiCalls) -> Result<Keys, FetchError> {
        let (region, provider_id, role_arn, token_file, sts, cached) = match &self.credentials {
            Credentials::Static(keys) => return Ok(keys.clone()),
            Credentials::Tke {
                region,
                provider_id,
                role_arn,
                token_file,
                sts,
                cached,
            } => (region, provider_id, role_arn, token_file, sts, cached),
        };
        let mut cached = cached.lock().await;
        let now = jiff::Timestamp::now().as_second();
        if let Some((keys, renew_at)) = &*cached {
            if now < *renew_at {
                return Ok(keys.clone());
            }
        }
        // Re-read every time: the kubelet rotates the projected token.
        let token = std::fs::read_to_string(token_file).map_err(|e| {
            FetchError::new(
                FailureReason::AccessDenied,
                format!("TKE_WEB_IDENTITY_TOKEN_FILE {}: {e}", token_file.display()),
            )
        })?;
        const ACTION: &str = "AssumeRoleWithWebIdentity";
        let body = json!({
            "ProviderId": provider_id,
            "WebIdentityToken": token.trim(),
            "RoleArn": role_arn,
            "RoleSessionName": format!("credential-report-exporter-{now}"),
            "DurationSeconds": TKE_DURATION,
        })
        .to_string();
        // Anonymous: the web identity token is the credential ("Authorization: SKIP", as the SDKs send).
        let headers = vec![
            ("Host".to_owned(), sts.host().to_owned()),
            ("Content-Type".to_owned(), tc3::JSON.to_owned()),
            ("X-TC-Action".to_owned(), ACTION.to_owned()),
            ("X-TC-Version".to_owned(), "2018-08-13".to_owned()),
            ("X-TC-Timestamp".to_owned(), now.to_string()),
            ("X-TC-Region".to_owned(), region.clone()),
            ("Authorization".to_owned(), "SKIP".to_owned()),
        ];
        let known: (Vec<&str>, Vec<&str>) = (vec![token.trim()], vec![]);
        let answer = self
            .client
            .post(sts, "/", &headers, None, body.into_bytes())
            .await
            .map_err(|e| {
                calls.record(ACTION, e.reason.as_str());
                FetchError::new(
                    e.reason,
                    format!("{ACTION}: {}", scrub(&e.message, &known.0, &known.1)),
                )
            })?;
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            credentials: Option<StsKeys>,
            expired_time: Option<i64>,
            error: Option<Value>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct StsKeys {
            token: String,
            tmp_secret_id: String,
            tmp_secret_key: String,
        }
        let parsed = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|mut v| v.get_mut("Response").map(Value::take))
            .ok_or_else(|| {
                invalid(
                    ACTION,
                    format!("HTTP {}: the answer has no Response object", answer.status),
                )
            })
            .and_then(|r| {
                serde_json::from_value::<Answer>(r).map_err(|e| {
                    invalid(
                        ACTION,
                        format!("the answer is not the documented JSON: {}", json_error(&e)),
                    )
                })
            });
        let a = match parsed {
            Ok(a) => a,
            Err(e) => {
                calls.record(ACTION, e.reason.as_str());
                return Err(e);
            }
        };
        if let Some(error) = a.error {
            let text = |f: &str| {
                scrub(
                    error.get(f).and_then(Value::as_str).unwrap_or(""),
                    &known.0,
                    &known.1,
                )
            };
            let code = text("Code");
            // STS answers a bad web identity token with InvalidParameter…: access denied, not retried.
            let reason = match classify(&code) {
                FailureReason::InvalidResponse => FailureReason::AccessDenied,
                other => other,
            };
            calls.record(ACTION, reason.as_str());
            return Err(FetchError::new(
                reason,
                format!(
                    "{ACTION} (TKE workload identity: TKE_ROLE_ARN, TKE_PROVIDER_ID): {code}: {}",
                    text("Message")
                ),
            ));
        }
        let (Some(k), Some(expires)) = (a.credentials, a.expired_time) else {
            calls.record(ACTION, FailureReason::InvalidResponse.as_str());
            return Err(invalid(
                ACTION,
                "no Credentials or ExpiredTime in the answer",
            ));
        };
        calls.record(ACTION, CALL_SUCCESS);
        let keys = Keys {
            id: k.tmp_secret_id,
            key: Secret::new(k.tmp_secret_key),
            token: Some(Secret::new(k.token)),
        };
        *cached = Some((keys.clone(), expires - TKE_DURATION / 10));
        Ok(keys)
    }
}

fn person(u: UserInfo, kind: Kind) -> Person {
    Person {
        id: u.uin.to_string(),
        uin: Some(u.uin),
        name: u.name,
        kind,
        created: u.create_time.as_deref().and_then(civil_time),
        console_login: u.console_login.map(|c| c != 0),
    }
}

/// The failure reason of an error code (Tencent answers errors with HTTP 200).
fn classify(code: &str) -> FailureReason {
    if code.starts_with("RequestLimitExceeded") {
        FailureReason::Throttled
    } else if code.starts_with("AuthFailure")
        || code.starts_with("UnauthorizedOperation")
        || code.starts_with("OperationDenied")
    {
        FailureReason::AccessDenied
    } else if code.starts_with("InternalError")
        || code.starts_with("ServiceUnavailable")
        || code.starts_with("FailedOperation")
    {
        FailureReason::Server
    } else {
        FailureReason::InvalidResponse
    }
}

/// CAM writes times as `2019-08-16 09:25:56`, Beijing time.
fn civil_time(s: &str) -> Option<jiff::civil::DateTime> {
    let s = s.trim();
    jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", s)
        .or_else(|_| {
            jiff::civil::Date::strptime("%Y-%m-%d", s)
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .ok()
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn invalid(action: &str, message: impl std::fmt::Display) -> FetchError {
    FetchError::new(
        FailureReason::InvalidResponse,
        format!("{action}: {message}"),
    )
}

/// The international console's date form, `2019/8/16 9:25:56`.
fn console_time(t: jiff::civil::DateTime) -> String {
    format!(
        "{}/{}/{} {}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn flag(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// The CSV, header first, one row per person, with RFC 4180 quoting where a cell needs it.
fn render(people: &[Person], details: &[Details], generated: jiff::Timestamp) -> Vec<u8> {
    let tz = jiff::tz::TimeZone::get(REPORT_TZ).expect("the bundled time zone database");
    let now = tz.to_datetime(generated);
    let mut out = String::new();
    out.push_str(&HEADER.join(","));
    out.push('\n');
    const NS: &str = "not_supported";
    for (p, d) in people.iter().zip(details) {
        let mut row: Vec<String> = vec![p.id.clone(), p.name.clone(), p.kind.label().to_owned()];
        row.push(p.created.map_or("N/A".to_owned(), console_time));
        let console = p.console_login.unwrap_or(false);
        // Only a sub-user has a password; WeCom sub-users scan a code, collaborators log in as
        // their own root account, receivers never log in (the console's own not_supported cases).
        match p.kind {
            Kind::SubUser => {
                row.push(flag(console).to_owned());
                // No API gives when a password last changed: unknown (N/A), or FALSE for no password.
                row.push(if console { "N/A" } else { "FALSE" }.to_owned());
                row.push(flag(console).to_owned());
            }
            Kind::WeComSubUser => {
                row.extend([NS.to_owned(), NS.to_owned(), flag(console).to_owned()]);
            }
            Kind::Collaborator | Kind::MessageReceiver => {
                row.extend([NS.to_owned(), NS.to_owned(), NS.to_owned()]);
            }
        }
        match (&d.protection, p.kind) {
            (_, Kind::MessageReceiver) => row.extend([NS, NS, NS].map(String::from)),
            (Some(pr), _) => {
                row.extend([flag(pr.login), flag(pr.operation), flag(pr.mfa)].map(String::from))
            }
            (None, _) => row.extend(["N/A", "N/A", "N/A"].map(String::from)),
        }
        for slot in 0..2 {
            match (&d.keys, p.kind) {
                (_, Kind::MessageReceiver) => {
                    row.extend(["N/A", NS, NS, NS, NS, NS].map(String::from))
                }
                (Some(keys), _) if slot < keys.len() => {
                    let k = &keys[slot];
                    let age = k.created.map(|c| c.duration_until(now).as_secs() / 86_400);
                    row.push(k.id.clone());
                    row.push(k.created.map_or("N/A".to_owned(), console_time));
                    row.push(if k.active { "Active" } else { "Disable" }.to_owned());
                    row.push(k.last_used.map_or("N/A".to_owned(), |d| {
                        format!("{}/{}/{}", d.year(), d.month(), d.day())
                    }));
                    row.push(age.map_or("N/A", |a| flag(a > 90)).to_owned());
                    row.push(age.map_or("N/A", |a| flag(a > 30)).to_owned());
                }
                _ => row.extend(["N/A"; 6].map(String::from)),
            }
        }
        out.push_str(
            &row.iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out.into_bytes()
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_dates_have_no_padding() {
        let t = civil_time("2019-08-16 09:05:06").unwrap();
        assert_eq!(console_time(t), "2019/8/16 9:05:06");
    }

    #[test]
    fn error_codes_map_to_reasons() {
        assert_eq!(classify("RequestLimitExceeded"), FailureReason::Throttled);
        assert_eq!(
            classify("RequestLimitExceeded.UinLimitExceeded"),
            FailureReason::Throttled
        );
        assert_eq!(
            classify("AuthFailure.SignatureFailure"),
            FailureReason::AccessDenied
        );
        assert_eq!(
            classify("UnauthorizedOperation"),
            FailureReason::AccessDenied
        );
        assert_eq!(classify("InternalError"), FailureReason::Server);
        assert_eq!(
            classify("ResourceNotFound.UserNotExist"),
            FailureReason::InvalidResponse
        );
    }

    #[test]
    fn rows_follow_the_consoles_states() {
        let t = civil_time("2020-01-01 00:00:00");
        let people = vec![
            Person {
                id: "1".into(),
                uin: Some(1),
                name: "a,\"b\"".into(),
                kind: Kind::SubUser,
                created: t,
                console_login: Some(true),
            },
            Person {
                id: "9".into(),
                uin: None,
                name: "r".into(),
                kind: Kind::MessageReceiver,
                created: None,
                console_login: None,
            },
        ];
        let details = vec![
            Details {
                protection: Some(Protection {
                    login: true,
                    operation: false,
                    mfa: true,
                }),
                keys: Some(vec![Key {
                    id: "AKID1".into(),
                    active: false,
                    created: t,
                    last_used: None,
                }]),
            },
            Details {
                protection: None,
                keys: None,
            },
        ];
        let now = "2026-11-25T00:00:00Z".parse().unwrap();
        let csv = String::from_utf8(render(&people, &details, now)).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(
            lines[1],
            "1,\"a,\"\"b\"\"\",Sub-user,2020/1/1 0:00:00,TRUE,N/A,TRUE,TRUE,FALSE,TRUE,AKID1,2020/1/1 0:00:00,Disable,N/A,TRUE,TRUE,N/A,N/A,N/A,N/A,N/A,N/A"
        );
        assert_eq!(
            lines[2],
            "9,r,Message-receiver,N/A,not_supported,not_supported,not_supported,not_supported,not_supported,not_supported,\
             N/A,not_supported,not_supported,not_supported,not_supported,not_supported,N/A,not_supported,not_supported,not_supported,not_supported,not_supported"
        );
    }
}
