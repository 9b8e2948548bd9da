//! A fake Tencent Cloud CAM, STS and Organization on 127.0.0.1: it checks every request's TC3
//! signature, pages its lists (shorter pages than asked for), limits GetSecurityLastUsed to ten
//! SecretIds, throttles each user's first ListAccessKeys, enforces CAM's rate limit per action
//! and account when asked (with STS's and Organization's documented limits beside it),
//! exchanges a TKE token, and plays scripted answers before its own.
//! As an organization's management account it lists its members (pages of 7, shorter than asked)
//! and issues each member's role temporary keys, which then act on that member's own small
//! (or, for benchmarks, large) account, and on nothing else, until they expire.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::{Fake, Fault, RateLimits, Request, Scripts, Tc3Verifier};

pub const SECRET_ID: &str = "AKIDFakeSecretIdForTests0123456789ab";
pub const SECRET_KEY: &str = "FakeSecretKeyForTests0123456789a";
pub const TOKEN: &str = "FakeSessionTokenForTests0123456789abcdef";
pub const OWNER: &str = "100000000001";

pub struct Cam {
    verifier: Tc3Verifier,
    pub scripts: Scripts,
    /// An account of this many sub-users with one key each, and nobody else; no throttling
    /// but the rate limit.
    large: Option<u64>,
    /// This user's keys cannot be read: ListAccessKeys fails for it with a server error.
    pub unreadable_keys: Mutex<Option<u64>>,
    /// Why requests were refused, one entry each.
    pub bad: Mutex<Vec<String>>,
    /// UINs whose first ListAccessKeys was throttled already.
    throttled: Mutex<HashSet<u64>>,
    /// The documented limits, enforced when asked: CAM's per action and account, and
    /// STS's and Organization's (`refused` counts the calls over them).
    pub limits: Option<RateLimits>,
    /// The organization the fake's own account manages; no members: not one.
    pub org: Mutex<Org>,
}

/// The organization: its members in listing order, and the keys AssumeRole issued.
#[derive(Default)]
pub struct Org {
    pub members: Vec<Member>,
    /// By TmpSecretId.
    issued: HashMap<String, Issued>,
    /// The lifetime of the keys AssumeRole issues from now on, if not the DurationSeconds asked.
    pub session_seconds: Option<i64>,
    /// Each member an account of this many sub-users with one key each (as the fake's own
    /// `large` account), not the two users of [`member_account`].
    pub users_per_member: Option<u64>,
}

/// One member account.
#[derive(Clone)]
pub struct Member {
    pub uin: u64,
    pub name: String,
    pub tags: Vec<(String, String)>,
    /// The role the fetcher may assume in it: `None` where it has none.
    pub role: Option<String>,
}

impl Member {
    /// A member with the default role and a `team` tag.
    pub fn new(uin: u64, name: &str) -> Member {
        Member {
            uin,
            name: name.to_owned(),
            tags: vec![("team".to_owned(), format!("team-{name}"))],
            role: Some(ROLE.to_owned()),
        }
    }
}

/// Temporary keys AssumeRole issued: which member they act on, until when.
#[derive(Clone)]
pub struct Issued {
    pub secret_key: String,
    pub token: String,
    pub member: u64,
    pub expires: i64,
}

/// The role the fetcher assumes by default (`--tencent.role-name`).
pub const ROLE: &str = "OrganizationAccessControlRole";

pub fn ok(v: Value) -> (u16, String) {
    let mut v = v;
    v["RequestId"] = "5b4d1725-5a30-4bd8-b36d-cfa0d1d4706b".into();
    (200, json!({ "Response": v }).to_string())
}

pub fn err(code: &str, message: &str) -> (u16, String) {
    ok(json!({"Error": {"Code": code, "Message": message}}))
}

/// Sub-users: alice (console), bot (no console), carol (WeCom, also listed by ListUsers),
/// svc0..svc7 (two keys each, so last use takes more than one call of ten).
fn sub_users() -> Vec<Value> {
    let mut v = vec![
        json!({"Uin": 100000000011u64, "Name": "alice", "Uid": 11, "ConsoleLogin": 1, "CreateTime": "2019-08-16 09:25:56"}),
        json!({"Uin": 100000000012u64, "Name": "bot, the \"builder\"", "Uid": 12, "ConsoleLogin": 0, "CreateTime": "2021-01-02 03:04:05"}),
        json!({"Uin": 100000000013u64, "Name": "carol", "Uid": 13, "ConsoleLogin": 1, "CreateTime": "2022-02-03 04:05:06"}),
    ];
    for i in 0..8u64 {
        v.push(json!({"Uin": 100000000100u64 + i, "Name": format!("svc{i}"), "Uid": 100 + i, "ConsoleLogin": 0, "CreateTime": "2023-01-01 00:00:00"}));
    }
    v
}

fn collaborators() -> Vec<Value> {
    (0..3u64)
        .map(|i| json!({"Uin": 200000000000u64 + i, "Name": format!("partner{i}"), "Uid": 200 + i, "ConsoleLogin": 1, "CreateTime": "2020-05-05 05:05:05"}))
        .collect()
}

fn days_ago(d: i64) -> String {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * d);
    tz.to_datetime(t).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

fn keys_of(uin: u64) -> Vec<Value> {
    match uin {
        100000000011 => vec![
            json!({"AccessKeyId": "AKIDalice000000000000000000000000001", "Status": "Active", "CreateTime": "2020-03-14 11:22:33"}),
            json!({"AccessKeyId": "AKIDalice000000000000000000000000002", "Status": "Inactive", "CreateTime": days_ago(10)}),
        ],
        100000000012 => vec![json!({"AccessKeyId": "AKIDbot00000000000000000000000000001", "Status": "Active", "CreateTime": days_ago(40)})],
        // A collaborator holds API keys like a sub-user (Tencent's CAM guide, "Access Key").
        200000000000 => vec![json!({"AccessKeyId": "AKIDpartner0000000000000000000000000001", "Status": "Active", "CreateTime": "2021-06-01 10:00:00"})],
        u @ 100000000100..=100000000107 => (1..=2)
            .map(|k| json!({"AccessKeyId": format!("AKIDsvc{}00000000000000000000000000{k}", u - 100000000100), "Status": "Active", "CreateTime": days_ago(100)}))
            .collect(),
        _ => vec![],
    }
}

/// Pages of at most 2, whatever Limit asks: the fetcher must follow Offset and the total.
fn paged(r: &Value, all: Vec<Value>, total_field: &str, list_field: &str) -> (u16, String) {
    let offset = r["Offset"].as_u64().unwrap_or(0) as usize;
    let limit = r["Limit"].as_u64().unwrap_or(20).min(2) as usize;
    let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    ok(json!({ total_field: all.len(), list_field: page }))
}

impl Cam {
    fn handle(&self, r: &Request) -> (u16, String) {
        if r.header("x-tc-action") == Some("AssumeRoleWithWebIdentity") {
            return self.assume_role(r);
        }
        let action = r.header("x-tc-action").unwrap_or("").to_owned();
        // Who signed: the fake's own account, or a member through keys AssumeRole issued.
        let member = match self.verify(r, &action) {
            Ok(member) => member,
            Err(e) => {
                self.bad.lock().unwrap().push(e.clone());
                return err(&e, "signature check failed");
            }
        };
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        // CAM limits each action per account: a member's calls count apart.
        let account = member.map_or_else(|| OWNER.to_owned(), |m| m.to_string());
        if (self.limits.as_ref()).is_some_and(|l| !l.admit(&account, &action)) {
            return fault(Fault::Throttle);
        }
        // A fault for one member first (AssumeRole's member is the one its role is in).
        let target = match action.as_str() {
            "AssumeRole" => member_of_arn(body["RoleArn"].as_str().unwrap_or("")),
            _ => member,
        };
        if let Some(answer) = target.and_then(|m| self.scripts.next(&format!("{action}@{m}"))) {
            return answer;
        }
        if let Some(answer) = self.scripts.next(&action) {
            return answer;
        }
        match (action.as_str(), member) {
            ("AssumeRole", None) => return self.assume_member_role(r, &body),
            ("DescribeOrganizationMembers", None) => return self.list_members(&body),
            ("AssumeRole" | "DescribeOrganizationMembers", Some(_)) => {
                return fault(Fault::Deny);
            }
            _ => {}
        }
        let mut large = self.large;
        if let Some(member) = member {
            let users = self.org.lock().unwrap().users_per_member;
            if users.is_none() || action == "GetUserAppId" {
                return member_account(member, &action, &body);
            }
            large = users;
        }
        // A large account: its sub-users, one key each, and nobody else; no throttling.
        let small = large.is_none();
        let only_if_small = |list: Vec<Value>| if small { list } else { Vec::new() };
        match action.as_str() {
            "GetUserAppId" => ok(json!({"Uin": OWNER, "OwnerUin": OWNER, "AppId": 1250000000})),
            "ListUsers" => ok(json!({ "Data": large.map_or_else(sub_users, large_account) })),
            "ListCollaborators" => paged(&body, only_if_small(collaborators()), "TotalNum", "Data"),
            "ListWeChatWorkSubAccounts" => {
                let carol = json!({"Uin": 100000000013u64, "Name": "carol", "Uid": 13, "ConsoleLogin": 1, "CreateTime": "2022-02-03 04:05:06"});
                paged(&body, only_if_small(vec![carol]), "TotalCount", "Data")
            }
            "ListReceiver" => {
                let receivers = vec![
                    json!({"Uid": 555, "Name": "oncall"}),
                    // alice also receives messages: she stays one row, a sub-user.
                    json!({"Uid": 11, "Uin": 100000000011u64, "Name": "alice"}),
                ];
                paged(&body, only_if_small(receivers), "TotalCount", "Receivers")
            }
            "DescribeSubAccounts" => {
                let uins: Vec<u64> =
                    serde_json::from_value(body["FilterSubAccountUin"].clone()).unwrap();
                if uins.len() > 50 {
                    return err("InvalidParameter", "more than 50 UINs");
                }
                let subs: Vec<Value> = uins
                    .iter()
                    .map(|u| {
                        let t = match u {
                            100000000013 => 3,
                            200000000000.. => 4,
                            _ => 2,
                        };
                        json!({"Uin": u, "UserType": t, "Name": "x", "Uid": 1, "CreateTime": "2020-05-05 05:05:05"})
                    })
                    .collect();
                ok(json!({ "SubAccounts": subs }))
            }
            "ListAccessKeys" => {
                let uin = body["TargetUin"].as_u64().unwrap();
                if uin == 200000000001 {
                    return err(
                        "ResourceNotFound.UserNotExist",
                        "deleted since the lists were read",
                    );
                }
                if *self.unreadable_keys.lock().unwrap() == Some(uin) {
                    return err("InternalError", "an internal error occurred");
                }
                if small && self.throttled.lock().unwrap().insert(uin) {
                    return fault(Fault::Throttle);
                }
                if !small {
                    let key = json!({"AccessKeyId": format!("AKID{uin:032}"), "Status": "Active", "CreateTime": "2024-01-01 00:00:00"});
                    return ok(json!({ "AccessKeys": [key] }));
                }
                ok(json!({ "AccessKeys": keys_of(uin) }))
            }
            "DescribeSafeAuthFlagColl" => {
                let zero = json!({"Phone": 0, "Token": 0, "Stoken": 0, "Wechat": 0, "Custom": 0, "Mail": 0, "U2FToken": 0});
                match body["SubUin"].as_u64().unwrap() {
                    100000000011 => ok(
                        json!({"LoginFlag": {"Stoken": 1, "Phone": 0}, "ActionFlag": {"Phone": 1}, "PromptTrust": 0}),
                    ),
                    100000000013 => ok(
                        json!({"LoginFlag": {"Wechat": 1}, "ActionFlag": zero, "PromptTrust": 0}),
                    ),
                    // partner1 was deleted after the lists were read: dropped from the report.
                    200000000001 => err(
                        "ResourceNotFound.UserNotExist",
                        "deleted since the lists were read",
                    ),
                    // Nothing for partner2: its protection is unknown, written N/A.
                    200000000002 => err("InvalidParameter", "no settings for this user"),
                    _ => ok(json!({"LoginFlag": zero, "ActionFlag": zero, "PromptTrust": 0})),
                }
            }
            "GetSecurityLastUsed" => {
                let ids: Vec<String> =
                    serde_json::from_value(body["SecretIdList"].clone()).unwrap();
                if ids.len() > 10 {
                    return err("InvalidParameter.SecretIdListLimit", "at most 10");
                }
                let rows: Vec<Value> = ids
                    .iter()
                    .map(|id| {
                        // alice's first key: the lagging date and the moment (ms), which wins.
                        let (date, moment) = if id.ends_with("alice000000000000000000000000001") {
                            ("2026-11-20", 1_795_219_750_000i64)
                        } else if id.ends_with("partner0000000000000000000000000001") {
                            ("2026-11-19", 0)
                        } else {
                            ("", 0)
                        };
                        json!({"SecretId": id, "LastUsedDate": date, "LastSecretUsedDate": moment})
                    })
                    .collect();
                ok(json!({ "SecretIdLastUsedRows": rows }))
            }
            other => err("InvalidAction", &format!("{other} unknown")),
        }
    }
}

/// A member's own small account: an admin and a CI user with one key, both named after the
/// member, so that a report written under another member's name shows.
fn member_account(member: u64, action: &str, body: &Value) -> (u16, String) {
    let users = [("admin", 1, 1u64), ("ci", 0, 2u64)].map(|(who, console, i)| {
        json!({"Uin": member * 10 + i, "Name": format!("{who}-of-{member}"), "Uid": i, "ConsoleLogin": console, "CreateTime": "2024-02-03 04:05:06"})
    });
    match action {
        "GetUserAppId" => ok(
            json!({"Uin": member.to_string(), "OwnerUin": member.to_string(), "AppId": 1250000000}),
        ),
        "ListUsers" => ok(json!({ "Data": users })),
        "ListCollaborators" => paged(body, Vec::new(), "TotalNum", "Data"),
        "ListWeChatWorkSubAccounts" => paged(body, Vec::new(), "TotalCount", "Data"),
        "ListReceiver" => paged(body, Vec::new(), "TotalCount", "Receivers"),
        "DescribeSubAccounts" => {
            let uins: Vec<u64> =
                serde_json::from_value(body["FilterSubAccountUin"].clone()).unwrap();
            let subs: Vec<Value> = uins
                .iter()
                .map(|u| json!({"Uin": u, "UserType": 2, "Name": "x", "Uid": 1, "CreateTime": "2024-02-03 04:05:06"}))
                .collect();
            ok(json!({ "SubAccounts": subs }))
        }
        "ListAccessKeys" => {
            let keys: Vec<Value> = match body["TargetUin"].as_u64() {
                Some(uin) if uin == member * 10 + 2 => vec![
                    json!({"AccessKeyId": member_key(member), "Status": "Active", "CreateTime": "2024-02-03 04:05:06"}),
                ],
                _ => Vec::new(),
            };
            ok(json!({ "AccessKeys": keys }))
        }
        "DescribeSafeAuthFlagColl" => {
            let zero = json!({"Phone": 0, "Token": 0, "Stoken": 0, "Wechat": 0, "Custom": 0, "Mail": 0, "U2FToken": 0});
            ok(json!({"LoginFlag": zero, "ActionFlag": zero, "PromptTrust": 0}))
        }
        "GetSecurityLastUsed" => {
            let ids: Vec<String> = serde_json::from_value(body["SecretIdList"].clone()).unwrap();
            let rows: Vec<Value> = ids
                .iter()
                .map(|id| json!({"SecretId": id, "LastUsedDate": "2026-11-19", "LastSecretUsedDate": 0}))
                .collect();
            ok(json!({ "SecretIdLastUsedRows": rows }))
        }
        other => err("InvalidAction", &format!("{other} unknown")),
    }
}

/// The key id of a member's CI user: only the member's report may hold it.
pub fn member_key(member: u64) -> String {
    format!("AKIDmember{member:026}")
}

/// The member whose role `arn` names (`qcs::cam::uin/UIN:roleName/NAME`).
fn member_of_arn(arn: &str) -> Option<u64> {
    let rest = arn.strip_prefix("qcs::cam::uin/")?;
    rest.split_once(":roleName/")?.0.parse().ok()
}

/// The sub-users of an account of `n` of them.
fn large_account(n: u64) -> Vec<Value> {
    let user = |i: u64| json!({"Uin": 100_000_100_000 + i, "Name": format!("user{i}"), "Uid": i, "ConsoleLogin": 0, "CreateTime": "2023-01-01 00:00:00"});
    (0..n).map(user).collect()
}

impl Cam {
    /// The request's signature, checked with the keys its credential names: the fake's own,
    /// or keys AssumeRole issued (and not expired), which act on that member. Every API is
    /// signed for its own service and version.
    fn verify(&self, r: &Request, action: &str) -> Result<Option<u64>, String> {
        let (service, version) = match action {
            "AssumeRole" => ("sts", "2018-08-13"),
            "DescribeOrganizationMembers" => ("organization", "2021-03-31"),
            _ => ("cam", "2019-01-16"),
        };
        let auth = r.header("authorization").unwrap_or("");
        let id = auth
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split('/').next());
        let issued = id.and_then(|id| Some((id, self.org.lock().unwrap().issued.get(id)?.clone())));
        let Some((id, issued)) = issued else {
            self.verifier.verify_for(r, service, version)?;
            return Ok(None);
        };
        let verifier = Tc3Verifier {
            secret_id: id.to_owned(),
            secret_key: issued.secret_key,
            token: Some(issued.token),
        };
        verifier.verify_for(r, service, version)?;
        if issued.expires <= jiff::Timestamp::now().as_second() {
            return Err("AuthFailure.TokenFailure".into());
        }
        Ok(Some(issued.member))
    }

    /// Organization DescribeOrganizationMembers: `Limit` 1 to 50, and pages of at most 7
    /// whatever it asks (but at a benchmark's scale): the fetcher must follow `Offset` and
    /// `Total`.
    fn list_members(&self, body: &Value) -> (u16, String) {
        let (offset, limit) = (body["Offset"].as_u64(), body["Limit"].as_u64());
        let (Some(offset), Some(limit @ 1..=50)) = (offset, limit) else {
            return err(
                "InvalidParameter",
                "Offset and Limit (1 to 50) are required",
            );
        };
        let org = self.org.lock().unwrap();
        let page = org.members.iter().skip(offset as usize);
        // At a benchmark's scale, the pages asked for, as the service gives them.
        let at_most = if org.users_per_member.is_some() {
            limit
        } else {
            limit.min(7)
        };
        let items: Vec<Value> = (page.take(at_most as usize))
            .map(|m| {
                let tags: Vec<Value> = (m.tags.iter())
                    .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
                    .collect();
                json!({
                    "MemberUin": m.uin, "Name": m.name, "MemberType": "Create",
                    "OrgPolicyType": "Financial", "OrgPolicyName": "Finance",
                    "OrgPermission": [{"Id": 1, "Name": "View bills"}],
                    "NodeId": 1001, "NodeName": "root", "Remark": "",
                    "CreateTime": "2021-07-14 20:22:30", "UpdateTime": "2021-07-14 20:22:30",
                    "IsAllowQuit": "Denied", "PayUin": "", "PayName": "", "OrgIdentity": [],
                    "BindStatus": "Success", "PermissionStatus": "Confirmed", "Tags": tags,
                    "NickName": m.name,
                })
            })
            .collect();
        ok(json!({"Items": items, "Total": org.members.len()}))
    }

    /// STS AssumeRole into a member's role, with the fake's own keys: new temporary keys
    /// that act on that member alone. A member not listed, or without that role, is refused
    /// in STS's words.
    fn assume_member_role(&self, r: &Request, body: &Value) -> (u16, String) {
        if r.header("x-tc-region").is_none_or(str::is_empty) {
            return err("MissingParameter", "the Region parameter is required");
        }
        let arn = body["RoleArn"].as_str().unwrap_or("");
        let session_name = body["RoleSessionName"].as_str().unwrap_or("");
        let duration = body["DurationSeconds"].as_i64().unwrap_or(7200);
        let name_ok = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
        if !(2..=128).contains(&session_name.len()) || !session_name.chars().all(name_ok) {
            return err("InvalidParameter.ParamError", "RoleSessionName");
        }
        if !(1..=43200).contains(&duration) {
            return err("InvalidParameter.OverTimeError", "DurationSeconds");
        }
        let mut org = self.org.lock().unwrap();
        let Some(member) =
            member_of_arn(arn).and_then(|uin| org.members.iter().find(|m| m.uin == uin))
        else {
            return err(
                "InvalidParameter.AccountNotAvaliable",
                "the account does not exist or is not available",
            );
        };
        let role = arn.rsplit_once(":roleName/").map(|(_, name)| name);
        if member.role.as_deref().is_none() || member.role.as_deref() != role {
            return err(
                "ResourceNotFound.RoleNotFound",
                "the role of the account does not exist",
            );
        }
        let uin = member.uin;
        let n = org.issued.len();
        let id = format!("AKIDTmp{uin:015}{n:014}");
        let issued = Issued {
            secret_key: format!("TmpKey{uin:015}{n:011}"),
            token: format!("TmpToken{uin:015}{n:017}"),
            member: uin,
            expires: jiff::Timestamp::now().as_second() + org.session_seconds.unwrap_or(duration),
        };
        let answer = ok(json!({
            "Credentials": {"TmpSecretId": id, "TmpSecretKey": issued.secret_key, "Token": issued.token},
            "ExpiredTime": issued.expires,
            "Expiration": jiff::Timestamp::from_second(issued.expires).unwrap().to_string(),
        }));
        org.issued.insert(id, issued);
        answer
    }

    /// Every temporary key id, secret and token AssumeRole issued.
    pub fn issued(&self) -> Vec<String> {
        let org = self.org.lock().unwrap();
        let issued = org.issued.iter();
        issued
            .flat_map(|(id, i)| [id.clone(), i.secret_key.clone(), i.token.clone()])
            .collect()
    }

    /// STS for TKE workload identity: anonymous, the web identity token is the credential.
    fn assume_role(&self, r: &Request) -> (u16, String) {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        if r.header("authorization") != Some("SKIP")
            || r.header("x-tc-version") != Some("2018-08-13")
            || r.header("x-tc-region") != Some("ap-guangzhou")
            || body["WebIdentityToken"] != "eyJhbGciOiJSUzI1NiJ9.tke.token"
            || body["ProviderId"] != "tke-oidc-provider"
            || body["RoleArn"] != "qcs::cam::uin/100000000001:roleName/fetcher"
        {
            return err("InvalidParameter.WebIdentityTokenError", "bad exchange");
        }
        ok(json!({
            "Credentials": {"TmpSecretId": SECRET_ID, "TmpSecretKey": SECRET_KEY, "Token": TOKEN},
            "ExpiredTime": jiff::Timestamp::now().as_second() + 7200,
            "Expiration": "2099-01-01T00:00:00Z"
        }))
    }
}

pub struct FakeTencent {
    pub server: Fake,
    pub state: Arc<Cam>,
}

impl FakeTencent {
    /// The account of [`sub_users`] and the rest; `large`: an account of that many sub-users
    /// instead; `rate_limit`: CAM's limit enforced, that many calls of one action a second
    /// (and STS's `AssumeRole` at 600 a second, Organization's `DescribeOrganizationMembers`
    /// at 20: their documented limits).
    pub fn start(large: Option<u64>, rate_limit: Option<usize>) -> FakeTencent {
        let state = Arc::new(Cam {
            verifier: Tc3Verifier {
                secret_id: SECRET_ID.into(),
                secret_key: SECRET_KEY.into(),
                token: Some(TOKEN.into()),
            },
            scripts: Scripts::default(),
            large,
            unreadable_keys: Mutex::new(None),
            bad: Mutex::new(Vec::new()),
            throttled: Mutex::new(HashSet::new()),
            limits: rate_limit.map(|cam| {
                RateLimits::new(&[
                    ("AssumeRole", 600),
                    ("DescribeOrganizationMembers", 20),
                    ("*", cam),
                ])
            }),
            org: Mutex::new(Org::default()),
        });
        let handler = Arc::clone(&state);
        let server = Fake::start(move |r| handler.handle(r));
        FakeTencent { server, state }
    }

    /// Every answer given, for the CAM, STS and Organization models.
    pub fn model_answers(&self) -> Vec<Value> {
        self.server.model_answers(|action| match action {
            "AssumeRoleWithWebIdentity" | "AssumeRole" => "tencent-sts",
            "DescribeOrganizationMembers" => "tencent-organization",
            _ => "tencent-cam",
        })
    }
}

/// `fault` as CAM answers it (errors with HTTP 200, but for the gateway's own failures);
/// `Garbage` is a list that is not one.
pub fn fault(fault: Fault) -> (u16, String) {
    match fault {
        Fault::Throttle => err("RequestLimitExceeded", "Your current request times equals to `20` in a second, which exceeds the frequency limit"),
        Fault::Deny => err("UnauthorizedOperation", &format!("you are not authorized to perform this operation with SecretId {SECRET_ID}")),
        Fault::ExpiredToken => err("AuthFailure.TokenFailure", "the token has expired"),
        Fault::ServerError => (503, "<html>Service Unavailable</html>".to_owned()),
        Fault::Garbage => ok(json!({"Data": "not a list"})),
    }
}
