//! A fake Alibaba Cloud IMS and STS on 127.0.0.1: it checks every request's ACS3 signature,
//! answers GetCallerIdentity, GenerateCredentialReport (STARTED, INPROGRESS, then COMPLETED)
//! and GetCredentialReport in pages of three lines, exchanges an RRSA token when given one,
//! and plays scripted answers before its own. As a Resource Directory's management account
//! it also lists its members (ResourceManager ListAccounts, in pages of the PageSize asked)
//! and hands out each member's own temporary keys (STS AssumeRole of [`ROLE_NAME`]), with
//! which IMS serves that member's own report. For benchmarks, members' reports can be large
//! ([`Scale`]) and the documented limits enforced ([`FakeAlibaba::limit`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;

use super::{Acs3Verifier, Fake, Fault, RateLimits, Request, Scripts};

pub const KEY_ID: &str = "LTAI5tFakeKeyIdForTests01";
pub const SECRET: &str = "FakeSecretForTests0123456789ab";
pub const TOKEN: &str = "CAISFakeSecurityTokenForTestsOnly0123456789";
pub const ACCOUNT: &str = "1234567890123456";
pub const GENERATED: &str = "2026-11-24T03:04:05Z";
pub const ROLE_ARN: &str = "acs:ram::1234567890123456:role/fetcher";
pub const OIDC_PROVIDER_ARN: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1";

/// The role Resource Directory creates in its members, the fetcher's default.
pub const ROLE_NAME: &str = "ResourceDirectoryAccountAccessRole";
/// Members a ListAccounts page holds at most, whatever its PageSize asks (10 is the service's
/// default size).
pub const PAGE_AT_MOST: usize = 10;

/// An Alibaba report (the IMS columns), long enough to take three pages of three lines.
pub fn report() -> String {
    report_of(ACCOUNT)
}

/// The report of `account`: its users are named after it, so each member's differs.
pub fn report_of(account: &str) -> String {
    let domain = match account {
        ACCOUNT => "acme".to_owned(),
        member => format!("m{member}"),
    };
    let mut r = String::from(
        "user,user_creation_time,user_last_logon,password_exist,password_active,password_last_changed,password_next_rotation,mfa_active,\
access_key_1_exist,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used,access_key_2_exist,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used,\
additional_access_key_1_exist,additional_access_key_1_active,additional_access_key_1_last_rotated,additional_access_key_1_last_used,\
additional_access_key_2_exist,additional_access_key_2_active,additional_access_key_2_last_rotated,additional_access_key_2_last_used,\
additional_access_key_3_exist,additional_access_key_3_active,additional_access_key_3_last_rotated,additional_access_key_3_last_used\n",
    );
    r.push_str("<root>,2017-03-01T02:00:00Z,2026-11-23T12:00:00Z,TRUE,TRUE,2025-01-01T00:00:00Z,-,FALSE,TRUE,TRUE,2018-06-01T00:00:00Z,2026-11-22T03:00:00Z,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-\n");
    for (i, mfa) in ["TRUE", "FALSE", "FALSE", "TRUE", "FALSE", "TRUE"]
        .iter()
        .enumerate()
    {
        r.push_str(&format!(
            "user{i}@{domain}.onaliyun.com,2020-01-0{}T00:00:00Z,-,TRUE,TRUE,2026-01-01T00:00:00Z,-,{mfa},TRUE,TRUE,2026-02-01T00:00:00Z,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-\n",
            i + 1
        ));
    }
    r
}

/// The report of `account` with `users` RAM users (each with one key, every other one with
/// MFA), for benchmarks.
pub fn large_report_of(account: &str, users: usize) -> String {
    // The header and the root's row of the small report, then the users.
    let small = report_of(account);
    let mut r: String = small.split_inclusive('\n').take(2).collect();
    for i in 0..users {
        let mfa = if i % 2 == 0 { "TRUE" } else { "FALSE" };
        r.push_str(&format!(
            "user{i}@m{account}.onaliyun.com,2020-01-01T00:00:00Z,-,TRUE,TRUE,2026-01-01T00:00:00Z,-,{mfa},TRUE,TRUE,2026-02-01T00:00:00Z,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-\n"
        ));
    }
    r
}

/// Members' reports for benchmarks: this many users each, served this many lines a page
/// (the service's own page), not six users three lines a page.
pub struct Scale {
    pub users: usize,
    pub lines_a_page: usize,
}

/// An Alibaba error answer (the RPC APIs' common error body).
pub fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    let body = serde_json::json!({"RequestId": "7A01826E-7601-44B0-B4DF-2B0C509836DE", "Code": code, "Message": message});
    (status, body.to_string())
}

/// `fault` as Alibaba answers it; `Garbage` is a report page whose Content is not base64.
pub fn fault(fault: Fault) -> (u16, String) {
    match fault {
        Fault::Throttle => error(400, "Throttling.User", "Request was denied due to user flow control."),
        Fault::Deny => error(403, "Forbidden.RAM", &format!("User not authorized to operate on the specified resource, or this API doesn't support RAM. AccessKeyId: {KEY_ID}")),
        Fault::ExpiredToken => error(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."),
        Fault::ServerError => error(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."),
        Fault::Garbage => (200, serde_json::json!({"RequestId": "r", "GeneratedTime": GENERATED, "Content": "%%% not base64 %%%", "IsTruncated": "false"}).to_string()),
    }
}

pub struct FakeAlibaba {
    pub server: Fake,
    pub state: Arc<Ims>,
}

/// A member of the fake's Resource Directory.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    /// Its `Status`, one of the ResourceManager model's words.
    pub status: &'static str,
    pub tags: Vec<(String, String)>,
    /// Whether [`ROLE_NAME`] is there for the management account to assume.
    pub role: bool,
}

pub struct Ims {
    verifier: Acs3Verifier,
    pub scripts: Scripts,
    pub generate_calls: AtomicUsize,
    /// Why requests were refused, one entry each.
    pub bad_signatures: Mutex<Vec<String>>,
    /// For RRSA: the key id of the STS credentials the fake hands out, and the OIDC token it expects.
    oidc: Option<(String, String)>,
    /// The Resource Directory, by account id.
    pub members: Mutex<BTreeMap<String, Member>>,
    /// The temporary keys AssumeRole handed out: key id → (member, its verifier).
    issued: Mutex<HashMap<String, (String, Arc<Acs3Verifier>)>>,
    /// GenerateCredentialReport calls per member account.
    member_generations: Mutex<HashMap<String, usize>>,
    /// The documented limits, enforced once set.
    limits: OnceLock<RateLimits>,
    scale: OnceLock<Scale>,
}

/// The temporary key id, secret and token AssumeRole hands out for `member`.
pub fn member_keys(member: &str) -> [String; 3] {
    [
        format!("STS.NMemberKey{member}"),
        format!("MemberSecret{member}x0123456789"),
        format!("CAISMemberToken{member}x0123456789abcdef"),
    ]
}

impl FakeAlibaba {
    /// A fake accepting `key_id` with [`SECRET`] and [`TOKEN`]; with `oidc`, also the exchange.
    pub fn start(key_id: &str, oidc: Option<(&str, &str)>) -> FakeAlibaba {
        let state = Arc::new(Ims {
            verifier: Acs3Verifier::new(key_id, SECRET, Some(TOKEN)),
            scripts: Scripts::default(),
            generate_calls: AtomicUsize::new(0),
            bad_signatures: Mutex::new(Vec::new()),
            oidc: oidc.map(|(k, t)| (k.to_owned(), t.to_owned())),
            members: Mutex::new(BTreeMap::new()),
            issued: Mutex::new(HashMap::new()),
            member_generations: Mutex::new(HashMap::new()),
            limits: OnceLock::new(),
            scale: OnceLock::new(),
        });
        let handler = Arc::clone(&state);
        let server = Fake::start(move |r| handler.handle(r));
        FakeAlibaba { server, state }
    }

    /// Adds `id` to the Resource Directory, active, with its access role unless `role` is false.
    pub fn add_member(&self, id: &str, name: &str, role: bool) {
        let member = Member {
            name: name.to_owned(),
            status: "CreateSuccess",
            tags: Vec::new(),
            role,
        };
        self.state
            .members
            .lock()
            .unwrap()
            .insert(id.to_owned(), member);
    }

    /// Enforces `limits` from now on, per action and account.
    pub fn limit(&self, limits: RateLimits) {
        assert!(self.state.limits.set(limits).is_ok(), "limits set twice");
    }

    /// Serves members' reports at `scale` from now on.
    pub fn scale(&self, scale: Scale) {
        assert!(self.state.scale.set(scale).is_ok(), "scale set twice");
    }

    /// Changes a member in place.
    pub fn member(&self, id: &str, change: impl FnOnce(&mut Member)) {
        change(
            self.state
                .members
                .lock()
                .unwrap()
                .get_mut(id)
                .expect("a member"),
        );
    }

    pub fn remove_member(&self, id: &str) {
        self.state.members.lock().unwrap().remove(id);
    }

    /// Every answer given, for the IMS, STS and ResourceManager models.
    pub fn model_answers(&self) -> Vec<serde_json::Value> {
        self.server.model_answers(|action| match action {
            "GetCallerIdentity" | "AssumeRoleWithOIDC" | "AssumeRole" => "alibaba-sts",
            "ListAccounts" => "alibaba-resourcemanager",
            _ => "alibaba-ims",
        })
    }
}

impl Ims {
    fn handle(&self, r: &Request) -> (u16, String) {
        if r.param("Action").as_deref() == Some("AssumeRoleWithOIDC") {
            return self.assume_role_with_oidc(r);
        }
        // Signed by the management keys, or by a member's temporary keys: its report.
        let credential = credential_of(r);
        let member = self.issued.lock().unwrap().get(&credential).cloned();
        let verified = match &member {
            Some((_, verifier)) => verifier.verify(r),
            None => self.verifier.verify(r),
        };
        if let Err(e) = verified {
            self.bad_signatures.lock().unwrap().push(e.clone());
            return error(400, "SignatureDoesNotMatch", &e);
        }
        let action = r.header("x-acs-action").unwrap_or_default();
        let version = match action {
            "GetCallerIdentity" | "AssumeRole" => "2015-04-01",
            "ListAccounts" => "2020-03-31",
            _ => "2019-08-15",
        };
        if r.header("x-acs-version") != Some(version) {
            return error(400, "InvalidVersion", "wrong x-acs-version");
        }
        let account = member.map_or(ACCOUNT.to_owned(), |(id, _)| id);
        if (self.limits.get()).is_some_and(|l| !l.admit(&account, action)) {
            return fault(Fault::Throttle);
        }
        if let Some(answer) = self.scripts.next(action) {
            return answer;
        }
        if let Some(answer) = self.scripts.next(&format!("{action}@{account}")) {
            return answer;
        }
        match action {
            "GenerateCredentialReport" => {
                let n = match account.as_str() {
                    ACCOUNT => self.generate_calls.fetch_add(1, Ordering::SeqCst),
                    member => {
                        let mut generations = self.member_generations.lock().unwrap();
                        let n = generations.entry(member.to_owned()).or_default();
                        *n += 1;
                        *n - 1
                    }
                };
                // Alibaba's words (the alibabacloud-ims20190815 model): STARTED, INPROGRESS, COMPLETED.
                let state = ["STARTED", "INPROGRESS"].get(n).copied().unwrap_or("COMPLETED");
                (200, serde_json::json!({"RequestId": "r", "State": state}).to_string())
            }
            "GetCredentialReport" => match (self.scale.get(), account.as_str()) {
                (Some(scale), member) if member != ACCOUNT => page(
                    r,
                    &large_report_of(member, scale.users),
                    scale.lines_a_page,
                ),
                _ => page(r, &report_of(&account), 3),
            },
            "GetCallerIdentity" => (
                200,
                serde_json::json!({"RequestId": "r", "AccountId": account, "Arn": format!("acs:ram::{account}:user/fetcher"), "IdentityType": "RAMUser"}).to_string(),
            ),
            "ListAccounts" if account == ACCOUNT => self.list_accounts(r),
            "AssumeRole" if account == ACCOUNT => self.assume_role(r),
            other => error(404, "InvalidAction.NotFound", &format!("{other:?}")),
        }
    }

    /// A page of the directory's members, as ResourceManager answers it.
    fn list_accounts(&self, r: &Request) -> (u16, String) {
        let number = |name: &str, default: usize| match r.param(name) {
            None => Some(default),
            Some(n) => n.parse::<usize>().ok(),
        };
        let (Some(page), Some(size)) = (number("PageNumber", 1), number("PageSize", 10)) else {
            return error(
                400,
                "InvalidParameter",
                "PageNumber or PageSize is not a number",
            );
        };
        // The model: "Valid values: 1 to 100"; pages start from 1.
        if page < 1 || !(1..=100).contains(&size) {
            return error(
                400,
                "InvalidParameter",
                "PageNumber or PageSize is out of range",
            );
        }
        // Smaller pages than asked, so that the fetcher must follow TotalCount to the end;
        // at a benchmark's scale, the pages asked for, as the service gives them.
        let size = match self.scale.get() {
            Some(_) => size,
            None => size.min(PAGE_AT_MOST),
        };
        let with_tags = r.param("IncludeTags").as_deref() == Some("true");
        let members = self.members.lock().unwrap();
        let listed: Vec<serde_json::Value> = (members.iter().skip((page - 1) * size).take(size))
            .map(|(id, m)| {
                let mut account = serde_json::json!({
                    "AccountId": id, "DisplayName": m.name, "Status": m.status,
                    "Type": "ResourceAccount", "JoinMethod": "created",
                    "JoinTime": "2025-03-04T05:06:07Z", "ModifyTime": "2025-03-04T05:06:07Z",
                    "FolderId": "fd-Fake0001", "ResourceDirectoryId": "rd-Fake01",
                    "ResourceDirectoryPath": format!("rd-Fake01/r-Root01/fd-Fake0001/{id}"),
                });
                if with_tags {
                    let tags = m
                        .tags
                        .iter()
                        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}));
                    account["Tags"] = serde_json::json!({"Tag": tags.collect::<Vec<_>>()});
                }
                account
            })
            .collect();
        let body = serde_json::json!({
            "RequestId": "r", "PageNumber": page, "PageSize": size,
            "TotalCount": members.len(), "Accounts": {"Account": listed},
        });
        (200, body.to_string())
    }

    /// STS AssumeRole of a member's [`ROLE_NAME`]: its temporary keys, which IMS then takes.
    fn assume_role(&self, r: &Request) -> (u16, String) {
        let arn = r.param("RoleArn").unwrap_or_default();
        if r.param("RoleSessionName").is_none_or(|n| n.len() < 2) {
            return error(
                400,
                "MissingRoleSessionName",
                "RoleSessionName is mandatory for this action.",
            );
        }
        let Some((member, role)) = arn
            .strip_prefix("acs:ram::")
            .and_then(|rest| rest.split_once(":role/"))
        else {
            return error(
                400,
                "InvalidParameter.RoleArn",
                "The parameter RoleArn is wrongly formed.",
            );
        };
        let exists = self
            .members
            .lock()
            .unwrap()
            .get(member)
            .is_some_and(|m| m.role);
        if role != ROLE_NAME || !exists {
            return error(
                404,
                "EntityNotExist.Role",
                &format!("The role not exists: {arn}."),
            );
        }
        let [id, secret, token] = member_keys(member);
        let verifier = Arc::new(Acs3Verifier::new(&id, &secret, Some(&token)));
        let mut issued = self.issued.lock().unwrap();
        issued.insert(id.clone(), (member.to_owned(), verifier));
        (
            200,
            serde_json::json!({"RequestId": "r",
                "AssumedRoleUser": {"Arn": format!("{arn}/credential-report-exporter"), "AssumedRoleId": format!("3{member}:credential-report-exporter")},
                "Credentials": {"AccessKeyId": id, "AccessKeySecret": secret, "SecurityToken": token,
                    "Expiration": "2099-01-01T00:00:00Z"}})
            .to_string(),
        )
    }

    fn assume_role_with_oidc(&self, r: &Request) -> (u16, String) {
        let (sts_key, expected_token) = self.oidc.clone().expect("RRSA not configured");
        let form = r.form();
        let field = |name: &str| form.get(name).map(String::as_str);
        if field("OIDCToken") != Some(expected_token.as_str())
            || field("RoleArn") != Some(ROLE_ARN)
            || field("OIDCProviderArn") != Some(OIDC_PROVIDER_ARN)
        {
            return error(
                400,
                "AuthenticationFail.OIDCToken.Invalid",
                "bad OIDC exchange",
            );
        }
        (
            200,
            serde_json::json!({"RequestId": "r", "Credentials": {
                "AccessKeyId": sts_key, "AccessKeySecret": SECRET, "SecurityToken": TOKEN,
                "Expiration": "2099-01-01T00:00:00Z"}})
            .to_string(),
        )
    }
}

/// `lines_a_page` lines a page of `report`; page 2 repeats the header (the fetcher must keep it once).
fn page(r: &Request, report: &str, lines_a_page: usize) -> (u16, String) {
    let page: usize = r
        .param("NextToken")
        .map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
    let lines: Vec<&str> = report.lines().collect();
    let chunks: Vec<&[&str]> = lines.chunks(lines_a_page).collect();
    let mut text = String::new();
    if page == 1 {
        text.push_str(lines[0]);
        text.push('\n');
    }
    for l in chunks[page] {
        text.push_str(l);
        text.push('\n');
    }
    let content = base64::engine::general_purpose::STANDARD.encode(text);
    let last = page + 1 == chunks.len();
    // IsTruncated is a string, "true" or "false" (the SDK model's type and words).
    let mut body = serde_json::json!({"RequestId": "r", "GeneratedTime": GENERATED, "Content": content, "IsTruncated": (!last).to_string()});
    if !last {
        body["NextToken"] = format!("page-{}", page + 1).into();
    }
    (200, body.to_string())
}

/// The key id a request is signed with (its `Credential`), or nothing.
fn credential_of(r: &Request) -> String {
    let auth = r.header("authorization").unwrap_or_default();
    let credential = auth
        .split([' ', ','])
        .find_map(|p| p.strip_prefix("Credential="));
    credential.unwrap_or_default().to_owned()
}
