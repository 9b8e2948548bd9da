//! Tencent Cloud CAM: no API hands out the console's credential report, so it is rebuilt from
//! CAM API 3.0 (2019-01-16) calls: the people from the lists, each one's protection and keys,
//! then the keys' last use.
//!
//! Its parts: [`envelope`] (the signed request and its answer), [`paging`] (offset-paged
//! lists), [`sts`] (TKE workload identity, members' roles), [`organization`] (the members of
//! an organization), [`report`] (the rebuilt CSV). The column-to-API mapping, and the vendor
//! page behind each, is in docs/providers/tencent-cam.md.

mod envelope;
mod organization;
mod paging;
mod report;
mod sts;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{failed_call, ApiClient, Endpoint, Env, MAX_ANSWER_BYTES, MAX_REPORT_BYTES};
use super::budget;
use super::call::{self, Pacer, Reply, Retries};
use super::credentials::{Credentials, Keys, WebIdentity};
use super::sign::Secret;
use super::{Account, ApiCalls, FailureReason, FetchError, FetchedReport};
use envelope::{at_most, Num};
use report::{Details, Key, Kind, LastUsed, Person, Protection, REPORT_TZ};

const VERSION: &str = "2019-01-16";
/// The credential scope's service: every call goes to CAM.
const SERVICE: &str = "cam";
/// People whose details are asked at once. The pacer, not this, keeps the rate; this only
/// keeps enough calls waiting for each action's turn.
const CONCURRENCY: usize = 8;
/// `DescribeSubAccounts` takes at most 50 UINs, `GetSecurityLastUsed` at most 10 SecretIds.
const SUB_ACCOUNTS_PER_CALL: usize = 50;
const SECRET_IDS_PER_CALL: usize = 10;
/// Throttled calls are tried again up to this many times, waiting 250 ms, 500 ms, 1 s … (8 s at most).
const THROTTLE_RETRIES: u32 = 6;
/// The entries of one answer's list at most, far more than CAM gives for the page size we
/// ask (50 or 10): a longer list is refused before it is held.
const LIST_MAX: usize = 1_000;
/// People in the account at most (ListUsers answers them all at once); a report of 100,000
/// users is about 30 MB, and a fetch of it would take over two hours at CAM's rate.
const PEOPLE_MAX: usize = 100_000;
/// The answers of the lists of people together at most: half a report, as the report
/// rebuilt from them ([`MAX_REPORT_BYTES`]) is held beside them. The lists of the 12,000
/// people a fetch can reach within --fetch.timeout's 10 minutes at CAM's rate are about 4 MB.
const LISTS_MAX: usize = MAX_REPORT_BYTES / 2;
/// What one person listed costs the attempt until its report is written, counted beside the
/// bytes of its list entry against the gate ([`budget`]): its `Person` (about 150 bytes with
/// its strings) and its row of the report, and most of what two keys add later (their
/// details and last use, about 600). Without it, 20-byte entries of a list under the gate
/// would hold ten times their bytes.
const PERSON_BYTES: usize = 512;
/// The answers of the calls made for each person, [`CONCURRENCY`] at once, at most: a few
/// hundred bytes each (two keys, a few flags, ten SecretIds' dates), and eight of them held
/// at once stay within what an attempt holds without the gate.
const PERSON_ANSWER_MAX: usize = budget::SMALL / CONCURRENCY;
/// A SecretId is 36 characters; one longer than this is not one, and is not kept.
const SECRET_ID_MAX: usize = 128;
/// TKE temporary keys are renewed when a tenth of their life is left.
const RENEW_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_secs(sts::DURATION / 10);

/// Which of Tencent Cloud's two sites the account lives on: its API domains differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Site {
    /// China (cloud.tencent.com): `cam.tencentcloudapi.com`, `sts.tencentcloudapi.com`.
    China,
    /// International (tencentcloud.com): `cam.intl.tencentcloudapi.com`, `sts.intl.tencentcloudapi.com`.
    International,
}

impl Site {
    fn cam(self) -> &'static str {
        match self {
            Site::China => "https://cam.tencentcloudapi.com",
            Site::International => "https://cam.intl.tencentcloudapi.com",
        }
    }

    fn sts(self) -> &'static str {
        match self {
            Site::China => "https://sts.tencentcloudapi.com",
            Site::International => "https://sts.intl.tencentcloudapi.com",
        }
    }

    fn organization(self) -> &'static str {
        match self {
            Site::China => "https://organization.tencentcloudapi.com",
            Site::International => "https://organization.intl.tencentcloudapi.com",
        }
    }
}

/// `fetch`'s flags for Tencent Cloud CAM.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "tencent")]
pub struct Flags {
    /// Tencent Cloud: the site the account lives on, which picks the API domains: `china`
    /// (cam.tencentcloudapi.com) or `international` (cam.intl.tencentcloudapi.com, and STS's
    /// sts.intl.tencentcloudapi.com for TKE workload identity).
    #[arg(
        id = "tencent.site",
        long = "tencent.site",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_SITE",
        value_name = "SITE",
        default_value = "china"
    )]
    pub site: Site,

    /// Tencent Cloud: the CAM endpoint, overriding the one --tencent.site picks.
    #[arg(
        id = "tencent.endpoint",
        long = "tencent.endpoint",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_ENDPOINT",
        value_name = "URL"
    )]
    pub endpoint: Option<String>,

    /// Tencent Cloud: calls a second per CAM action. Tencent documents 20 for each action the
    /// fetcher uses; lower it when other tools call the same actions with this account.
    #[arg(
        id = "tencent.rate-limit",
        long = "tencent.rate-limit",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_RATE_LIMIT",
        value_name = "N",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub rate_limit: u32,

    /// Tencent Cloud, with --organization: the role assumed in every member account (the one
    /// Tencent Cloud Organization creates in the members it creates).
    #[arg(
        id = "tencent.role-name",
        long = "tencent.role-name",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_ROLE_NAME",
        value_name = "NAME",
        default_value = "OrganizationAccessControlRole"
    )]
    pub role_name: String,

    /// Tencent Cloud, with --organization: the Organization endpoint, overriding the one
    /// --tencent.site picks (organization.tencentcloudapi.com, organization.intl.tencentcloudapi.com).
    #[arg(
        id = "tencent.organization-endpoint",
        long = "tencent.organization-endpoint",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_ORGANIZATION_ENDPOINT",
        value_name = "URL"
    )]
    pub organization_endpoint: Option<String>,

    /// Tencent Cloud, with --organization, run by a delegated administrator: the trusted
    /// service it administers, by its product abbreviation (DescribeOrganizationMembers'
    /// Product, which the model says a delegated administrator must give). Not for the
    /// management account.
    #[arg(
        id = "tencent.organization-product",
        long = "tencent.organization-product",
        env = "CREDENTIAL_REPORT_FETCH_TENCENT_ORGANIZATION_PRODUCT",
        value_name = "PRODUCT"
    )]
    pub organization_product: Option<String>,
}

pub struct TencentCamFetcher {
    client: ApiClient,
    endpoint: Endpoint,
    credentials: Credentials,
    /// For TKE workload identity, where to exchange the token.
    tke: Option<sts::Tke>,
    /// The pace of the credentials' own account's CAM calls.
    pacer: Arc<Pacer>,
    retries: Retries,
    /// With --organization: how its members are listed and entered.
    organization: Option<organization::Organization>,
}

/// One account's CAM as one attempt calls it: with the keys that act on it, at its own pace.
struct Session<'a> {
    cam: &'a TencentCamFetcher,
    /// A member's role and the STS it is assumed at; `None`: the credentials' own account.
    role: Option<(sts::Role<'a>, &'a organization::Organization)>,
    pacer: Arc<Pacer>,
    /// Bytes of the attempt's CAM answers so far: the lists of people are read one after
    /// another, and together may not pass [`LISTS_MAX`]. The session's own, as members are
    /// fetched side by side.
    answered: AtomicUsize,
    /// Entries of the lists of people read so far.
    listed: AtomicUsize,
}

/// Where one of Tencent Cloud's APIs is, as the signature names it.
struct Api<'a> {
    endpoint: &'a Endpoint,
    service: &'static str,
    version: &'static str,
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

impl super::Source for TencentCamFetcher {
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

impl TencentCamFetcher {
    /// With `organization.enabled`, every member of the organization the credentials manage.
    pub fn new(
        flags: &Flags,
        organization: &super::organization::Flags,
        env: Env<'_>,
    ) -> anyhow::Result<TencentCamFetcher> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let tke_vars = [
            "TKE_REGION",
            "TKE_PROVIDER_ID",
            "TKE_ROLE_ARN",
            "TKE_WEB_IDENTITY_TOKEN_FILE",
        ]
        .map(get);
        let sts = Endpoint::parse(
            "TENCENTCLOUD_STS_ENDPOINT",
            &get("TENCENTCLOUD_STS_ENDPOINT").unwrap_or_else(|| flags.site.sts().to_owned()),
        )?;
        let (credentials, tke) = match (get("TENCENTCLOUD_SECRET_ID"), get("TENCENTCLOUD_SECRET_KEY"), tke_vars) {
            (Some(id), Some(key), _) => (
                Credentials::Static(Keys {
                    id,
                    secret: Secret::new(key),
                    token: get("TENCENTCLOUD_SESSION_TOKEN").map(Secret::new),
                }),
                None,
            ),
            (Some(_), None, _) | (None, Some(_), _) => anyhow::bail!(
                "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY go together; one of them is not set"
            ),
            (None, None, [Some(region), Some(provider_id), Some(role_arn), Some(token_file)]) => (
                Credentials::WebIdentity(WebIdentity::new(
                    token_file.into(),
                    "TKE_WEB_IDENTITY_TOKEN_FILE",
                    RENEW_BEFORE,
                )),
                Some(sts::Tke {
                    region,
                    provider_id,
                    role_arn,
                    sts: sts.clone(),
                }),
            ),
            (None, None, [None, None, None, None]) => anyhow::bail!(
                "no Tencent Cloud credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY \
                 (and TENCENTCLOUD_SESSION_TOKEN for temporary credentials), or use TKE workload identity \
                 (TKE_REGION, TKE_PROVIDER_ID, TKE_ROLE_ARN, TKE_WEB_IDENTITY_TOKEN_FILE)"
            ),
            (None, None, _) => anyhow::bail!(
                "TKE workload identity needs all of TKE_REGION, TKE_PROVIDER_ID, TKE_ROLE_ARN and TKE_WEB_IDENTITY_TOKEN_FILE; some are missing"
            ),
        };
        let organization = match organization.enabled {
            false => None,
            true => Some(organization::Organization::new(
                Endpoint::parse(
                    "--tencent.organization-endpoint",
                    (flags.organization_endpoint.as_deref()).unwrap_or(flags.site.organization()),
                )?,
                sts,
                flags.role_name.clone(),
                flags.organization_product.clone(),
                organization.tag_labels.clone(),
                flags.rate_limit,
            )?),
        };
        Ok(TencentCamFetcher {
            client: ApiClient::new()?,
            endpoint: Endpoint::parse(
                "--tencent.endpoint",
                flags.endpoint.as_deref().unwrap_or(flags.site.cam()),
            )?,
            credentials,
            tke,
            pacer: Arc::new(Pacer::new(flags.rate_limit)),
            retries: Retries {
                throttled: THROTTLE_RETRIES,
                base: std::time::Duration::from_millis(250),
            },
            organization,
        })
    }

    /// One attempt at the report of `account`: the credentials' own, or a member's through
    /// its role, whose keys must then act on that member and no other account.
    pub async fn fetch(
        &self,
        account: &Account,
        calls: &ApiCalls,
    ) -> Result<FetchedReport, FetchError> {
        let session = match (account.role.as_deref(), &self.organization) {
            (Some(arn), Some(organization)) => Session {
                cam: self,
                role: Some((sts::Role::new(arn), organization)),
                pacer: organization.pacer(&account.id),
                answered: AtomicUsize::new(0),
                listed: AtomicUsize::new(0),
            },
            _ => Session {
                cam: self,
                role: None,
                pacer: Arc::clone(&self.pacer),
                answered: AtomicUsize::new(0),
                listed: AtomicUsize::new(0),
            },
        };
        let report = session.report(calls).await?;
        if let (Some(arn), Ok(owner)) = (&account.role, &report.account_id) {
            if *owner != account.id {
                return Err(FetchError::invalid(
                    "GetUserAppId",
                    format!("the keys of {arn} act on account {owner}, not on the member"),
                ));
            }
        }
        Ok(report)
    }

    /// A call of the management account's own (the listing), its every error answer a failure.
    async fn management_call<T: DeserializeOwned>(
        &self,
        organization: &organization::Organization,
        calls: &ApiCalls,
        action: &'static str,
        params: Value,
    ) -> Result<T, FetchError> {
        let api = Api {
            endpoint: &organization.endpoint,
            service: organization::SERVICE,
            version: organization::VERSION,
        };
        let keys = || self.own_keys(calls);
        let pacer = &organization.listing;
        let max = MAX_ANSWER_BYTES;
        match (self.signed(api, pacer, None, max, calls, action, &params, keys)).await? {
            Reply::Done(v) => Ok(v),
            Reply::NotReady(e) | Reply::Failed(e) => Err(api_failure(action, e)),
        }
    }

    /// One call of `action` to `api`, signed with the keys `keys()` gives for each try, paced
    /// and retried while throttled (see [`call::call`]); each answer read at most `max` bytes
    /// ([`MAX_ANSWER_BYTES`] or less), its size added to `answered` when one is given.
    #[allow(clippy::too_many_arguments)]
    async fn signed<T, K, F>(
        &self,
        api: Api<'_>,
        pacer: &Pacer,
        answered: Option<&AtomicUsize>,
        max: usize,
        calls: &ApiCalls,
        action: &'static str,
        params: &Value,
        keys: K,
    ) -> Result<Reply<T>, FetchError>
    where
        T: DeserializeOwned,
        K: Fn() -> F,
        F: Future<Output = Result<Keys, FetchError>>,
    {
        let body = params.to_string().into_bytes();
        call::call(calls, Some(pacer), self.retries, action, || async {
            let keys = keys().await?;
            let known = keys.known();
            let host = api.endpoint.host();
            let headers = envelope::sign(host, api.service, api.version, action, &body, &keys);
            let answer = self
                .client
                .post(api.endpoint, "/", &headers, None, body.clone(), max)
                .await
                .map_err(failed_call(action, &known))?;
            if let Some(answered) = answered {
                answered.fetch_add(answer.body.len(), Ordering::Relaxed);
            }
            envelope::read(action, answer, &known)
        })
        .await
    }

    /// The keys of the credentials' own account; for TKE, fresh temporary keys when the
    /// cached ones near expiry.
    async fn own_keys(&self, calls: &ApiCalls) -> Result<Keys, FetchError> {
        self.credentials
            .keys(|token| async move {
                let tke = self.tke.as_ref().expect("web identity comes with its STS");
                tke.exchange(&self.client, token, calls).await
            })
            .await
    }
}

impl Session<'_> {
    /// One attempt at the account's report.
    async fn report(&self, calls: &ApiCalls) -> Result<FetchedReport, FetchError> {
        // A member's role first: a refusal is AssumeRole's, not the first CAM call's.
        self.keys(calls).await?;
        let generated = jiff::Timestamp::now();
        let account_id = self.owner_uin(calls).await?;
        let listed = self.people(calls).await?;
        // Each person's calls are made as the stream reaches them, by index: made first, the
        // futures of 99,000 people held 200 MiB. (A closure over borrowed items, rather than
        // indices, is not provably Send: a known limit of the compiler.) Their keys' last use
        // is asked while the next people's keys are listed, not after everyone's: the three
        // actions each have their own turn at CAM's rate, so the last uses cost no time of
        // their own (a 200-person account: 11 s, not 12).
        let (keys_found, keys) = tokio::sync::mpsc::unbounded_channel();
        let people = &listed;
        let found = async move {
            let found: Vec<Option<Details>> = futures_util::stream::iter(0..people.len())
                .map(|i| self.details(&people[i], calls))
                .buffered(CONCURRENCY)
                .inspect_ok(|d| {
                    for k in d.iter().flat_map(|d| &d.keys) {
                        // The receiver lives until both halves end.
                        let _ = keys_found.send(k.id.clone());
                    }
                })
                .try_collect()
                .await?;
            // Dropped here: the last chunk of keys is asked for now.
            drop(keys_found);
            Ok(found)
        };
        let (found, rows) =
            futures_util::future::try_join(found, self.last_used(keys, calls)).await?;
        // A person deleted since the lists were read is not in the account any more.
        let (people, mut details): (Vec<Person>, Vec<Details>) = listed
            .into_iter()
            .zip(found)
            .filter_map(|(p, d)| d.map(|d| (p, d)))
            .unzip();
        let last_used = last_used_of(rows);
        for k in details.iter_mut().flat_map(|d| d.keys.iter_mut()) {
            k.last_used = last_used.get(&k.id).copied().flatten();
        }
        Ok(FetchedReport {
            account_id: Ok(account_id),
            content: report::render(&people, &details, generated, MAX_REPORT_BYTES).ok_or_else(
                || {
                    FetchError::invalid(
                        "rebuilding the report",
                        format!("it passes {MAX_REPORT_BYTES} bytes, the most the fetcher takes for a report"),
                    )
                },
            )?,
            generated,
            users_listed: Some(people.len() as u64),
        })
    }

    /// `GetUserAppId`: the main account's UIN, which names the report by default.
    async fn owner_uin(&self, calls: &ApiCalls) -> Result<String, FetchError> {
        #[derive(Deserialize)]
        struct AppId {
            #[serde(rename = "OwnerUin", default)]
            owner_uin: Num,
        }
        let a: AppId = self.required(calls, "GetUserAppId", json!({})).await?;
        match a.owner_uin {
            Num(Some(uin)) => Ok(uin.to_string()),
            Num(None) => Err(FetchError::invalid(
                "GetUserAppId",
                "OwnerUin is not a number",
            )),
        }
    }

    /// Everyone the report lists: sub-users, collaborators, WeCom sub-users, message receivers,
    /// with each UIN's kind as DescribeSubAccounts says.
    async fn people(&self, calls: &ApiCalls) -> Result<Vec<Person>, FetchError> {
        #[derive(Deserialize)]
        struct Users {
            #[serde(
                rename = "Data",
                default,
                deserialize_with = "at_most::<PEOPLE_MAX, _, _>"
            )]
            data: Vec<UserInfo>,
        }
        // The lists are all read before anyone's details: what they hold stays until the
        // report is written, so their answers together are bounded.
        let start = self.answered.load(Ordering::Relaxed);
        let within = |action: &str| {
            let read = self.answered.load(Ordering::Relaxed) - start;
            match read > LISTS_MAX {
                true => Err(FetchError::invalid(
                    action,
                    format!("the lists of people passed {LISTS_MAX} bytes, the most the fetcher takes for them"),
                )),
                false => Ok(()),
            }
        };
        let mut by_uin: BTreeMap<u64, Person> = BTreeMap::new();
        let users: Users = self.required(calls, "ListUsers", json!({})).await?;
        self.hold_people(users.data.len()).await;
        for u in users.data {
            by_uin.insert(u.uin, person(u, Kind::SubUser));
        }
        for u in self
            .offset_pages::<UserInfo>(calls, "ListCollaborators", true, &within)
            .await?
        {
            by_uin
                .entry(u.uin)
                .or_insert_with(|| person(u, Kind::Collaborator));
        }
        for u in self
            .offset_pages::<UserInfo>(calls, "ListWeChatWorkSubAccounts", false, &within)
            .await?
        {
            // Also listed by ListUsers on some accounts: the WeCom kind wins.
            by_uin.insert(u.uin, person(u, Kind::WeComSubUser));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Receiver {
            #[serde(default)]
            uid: Num,
            #[serde(default)]
            uin: Num,
            name: String,
        }
        let mut receivers = Vec::new();
        for r in self
            .offset_pages::<Receiver>(calls, "ListReceiver", false, &within)
            .await?
        {
            let Num(uin) = r.uin;
            // A sub-user who also receives messages is listed once, as the sub-user.
            if uin.is_some_and(|u| by_uin.contains_key(&u)) {
                continue;
            }
            receivers.push(Person {
                id: uin
                    .map(|u| u.to_string())
                    .or_else(|| r.uid.0.map(|u| u.to_string()))
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
            #[serde(default, deserialize_with = "at_most::<LIST_MAX, _, _>")]
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
            within("DescribeSubAccounts")?;
            self.hold_people(0).await;
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
        if by_uin.len() + receivers.len() > PEOPLE_MAX {
            return Err(FetchError::invalid(
                "ListUsers",
                format!("the lists name more than {PEOPLE_MAX} people"),
            ));
        }
        let mut people: Vec<Person> = by_uin.into_values().chain(receivers).collect();
        people.sort_by(|a, b| (a.kind, a.uin, &a.name).cmp(&(b.kind, b.uin, &b.name)));
        Ok(people)
    }

    /// The people listed are held until the report is written: past [`budget::SMALL`], what
    /// their lists' answers and `more` people besides those counted so far cost is held with
    /// the gate.
    pub(super) async fn hold_people(&self, more: usize) {
        let listed = self.listed.fetch_add(more, Ordering::Relaxed) + more;
        budget::hold(self.answered.load(Ordering::Relaxed) + listed * PERSON_BYTES).await;
    }

    /// Protection and keys of one person (`DescribeSafeAuthFlagColl`, `ListAccessKeys`);
    /// `None` when the person no longer exists.
    async fn details(&self, p: &Person, calls: &ApiCalls) -> Result<Option<Details>, FetchError> {
        let (Some(uin), true) = (p.uin, p.kind.has_keys()) else {
            return Ok(Some(Details {
                protection: None,
                keys: Vec::new(),
            }));
        };
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Flags {
            #[serde(default)]
            login_flag: Option<FlagSet>,
            #[serde(default)]
            action_flag: Option<FlagSet>,
        }
        let on = |flags: &Option<FlagSet>, mfa_only: bool| {
            flags.is_some_and(|f| if mfa_only { f.mfa } else { f.any })
        };
        let protection = match self
            .call::<Flags>(calls, "DescribeSafeAuthFlagColl", &json!({ "SubUin": uin }))
            .await?
        {
            Reply::Done(f) => Some(Protection {
                login: on(&f.login_flag, false),
                operation: on(&f.action_flag, false),
                mfa: on(&f.login_flag, true) || on(&f.action_flag, true),
            }),
            Reply::NotReady(_) => return Ok(None),
            // Unknown, written N/A; throttling, access denied and server errors still fail.
            Reply::Failed(e) if e.reason == FailureReason::InvalidResponse => {
                tracing::info!(action = "DescribeSafeAuthFlagColl", code = %e.code, "no protection settings for this user; written N/A");
                None
            }
            Reply::Failed(e) => return Err(api_failure("DescribeSafeAuthFlagColl", e)),
        };
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct AccessKeys {
            #[serde(default, deserialize_with = "at_most::<LIST_MAX, _, _>")]
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
        // Sub-users and collaborators alike: both hold API keys that act on this account.
        // Any answer but the keys or "no such user" fails the fetch: "no key" must never
        // stand for "could not read".
        let raw = match self
            .call::<AccessKeys>(calls, "ListAccessKeys", &json!({ "TargetUin": uin }))
            .await?
        {
            Reply::Done(k)
                if k.access_keys
                    .iter()
                    .any(|k| k.access_key_id.len() > SECRET_ID_MAX) =>
            {
                return Err(FetchError::invalid(
                    "ListAccessKeys",
                    format!("an AccessKeyId is longer than {SECRET_ID_MAX} bytes: not a SecretId"),
                ))
            }
            Reply::Done(k) => k.access_keys,
            Reply::NotReady(_) => return Ok(None),
            Reply::Failed(e) => return Err(api_failure("ListAccessKeys", e)),
        };
        let mut keys: Vec<Key> = raw
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
        Ok(Some(Details { protection, keys }))
    }

    /// `GetSecurityLastUsed` of the SecretIds `keys` gives, ten a call, each call made as soon
    /// as ten are known (the rest at the end): the rows it answered.
    async fn last_used(
        &self,
        mut keys: tokio::sync::mpsc::UnboundedReceiver<String>,
        calls: &ApiCalls,
    ) -> Result<Vec<LastUsedRow>, FetchError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Rows {
            #[serde(default, deserialize_with = "at_most::<LIST_MAX, _, _>")]
            secret_id_last_used_rows: Vec<LastUsedRow>,
        }
        // Only the SecretIds asked about are kept, from each page as it comes: an answer
        // cannot make the fetcher hold more.
        let pages: Vec<Vec<LastUsedRow>> = futures_util::stream::poll_fn(|cx| keys.poll_recv(cx))
            .chunks(SECRET_IDS_PER_CALL)
            .map(|chunk| async move {
                let page: Rows = (self.required(
                    calls,
                    "GetSecurityLastUsed",
                    json!({ "SecretIdList": chunk }),
                ))
                .await?;
                let rows = page.secret_id_last_used_rows.into_iter();
                Ok::<_, FetchError>(rows.filter(|r| chunk.contains(&r.secret_id)).collect())
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// A call whose every error answer is a failure.
    async fn required<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        params: Value,
    ) -> Result<T, FetchError> {
        match self.call(calls, action, &params).await? {
            Reply::Done(v) => Ok(v),
            Reply::NotReady(e) | Reply::Failed(e) => Err(api_failure(action, e)),
        }
    }

    /// A list the account may not have (WeCom, message receivers): an error of the
    /// `InvalidResponse` class (`ResourceNotFound`, `UnsupportedOperation`, `InvalidParameter`…)
    /// gives `None`; throttling, access denied and server errors stay failures.
    async fn optional<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        params: Value,
    ) -> Result<Option<T>, FetchError> {
        match self.call(calls, action, &params).await? {
            Reply::Done(v) => Ok(Some(v)),
            Reply::NotReady(e) | Reply::Failed(e) if e.reason == FailureReason::InvalidResponse => {
                tracing::info!(action, code = %e.code, "not available for this account; left out");
                Ok(None)
            }
            Reply::NotReady(e) | Reply::Failed(e) => Err(api_failure(action, e)),
        }
    }

    /// One signed call of a CAM action, at the account's pace, retried while throttled.
    async fn call<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        params: &Value,
    ) -> Result<Reply<T>, FetchError> {
        let api = Api {
            endpoint: &self.cam.endpoint,
            service: SERVICE,
            version: VERSION,
        };
        let keys = || self.keys(calls);
        let answered = Some(&self.answered);
        let max = match action {
            "DescribeSafeAuthFlagColl" | "ListAccessKeys" | "GetSecurityLastUsed" => {
                PERSON_ANSWER_MAX
            }
            _ => MAX_ANSWER_BYTES,
        };
        (self.cam)
            .signed(api, &self.pacer, answered, max, calls, action, params, keys)
            .await
    }

    /// The keys that act on the account: the credentials' own, or the member's role's,
    /// assumed with them at the organization's pace.
    async fn keys(&self, calls: &ApiCalls) -> Result<Keys, FetchError> {
        let cam = self.cam;
        let Some((role, organization)) = &self.role else {
            return cam.own_keys(calls).await;
        };
        role.keys(|| async move {
            let own = cam.own_keys(calls).await?;
            let (client, pacer) = (&cam.client, &organization.assuming);
            sts::assume_role(
                client,
                &organization.sts,
                pacer,
                cam.retries,
                &own,
                role.arn,
                calls,
            )
            .await
        })
        .await
    }
}

/// One row of `GetSecurityLastUsed`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LastUsedRow {
    secret_id: String,
    #[serde(default)]
    last_used_date: Option<String>,
    #[serde(default)]
    last_secret_used_date: Option<i64>,
}

/// When each key was last used, if ever, from `GetSecurityLastUsed`'s
/// rows: to the moment where `LastSecretUsedDate` says, else the day `LastUsedDate` says (a
/// day late). The rows are those of the SecretIds asked about (`Session::last_used`).
fn last_used_of(rows: Vec<LastUsedRow>) -> BTreeMap<String, Option<LastUsed>> {
    let tz = jiff::tz::TimeZone::get(REPORT_TZ).expect("the bundled time zone database");
    let mut out = BTreeMap::new();
    for r in rows {
        let moment = r
            .last_secret_used_date
            .filter(|&t| t > 0)
            .and_then(|t| {
                // Milliseconds; seconds if the number is too small to be milliseconds.
                let t = if t > 100_000_000_000 {
                    jiff::Timestamp::from_millisecond(t)
                } else {
                    jiff::Timestamp::from_second(t)
                };
                t.ok()
            })
            .map(|t| LastUsed::Moment(tz.to_datetime(t)));
        let day = r
            .last_used_date
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .and_then(|d| jiff::civil::Date::strptime("%Y-%m-%d", d.get(..10).unwrap_or(d)).ok())
            .map(LastUsed::Day);
        out.insert(r.secret_id, moment.or(day));
    }
    out
}

fn api_failure(action: &str, e: call::ApiError) -> FetchError {
    FetchError::new(e.reason, format!("{action}: {}: {}", e.code, e.message))
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

/// DescribeSafeAuthFlagColl's `LoginFlag` or `ActionFlag`: whether any flag is on, and
/// whether an MFA one is. Folded as it is read, so a map of any size holds nothing.
#[derive(Clone, Copy, Default)]
struct FlagSet {
    any: bool,
    mfa: bool,
}

impl<'de> Deserialize<'de> for FlagSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FlagSet, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FlagSet;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of flags")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<FlagSet, A::Error> {
                const MFA: &[&str] = &["Token", "Stoken", "U2FToken", "Passkey"];
                let mut set = FlagSet::default();
                while let Some((name, Num(value))) = a.next_entry::<String, Num>()? {
                    let on = value.unwrap_or(0) != 0;
                    set.any |= on;
                    set.mfa |= on && MFA.contains(&name.as_str());
                }
                Ok(set)
            }
        }
        d.deserialize_map(V)
    }
}
