//! A fake Alibaba Cloud IMS and STS on 127.0.0.1: it checks every request's ACS3 signature,
//! answers GetCallerIdentity, GenerateCredentialReport (STARTED, INPROGRESS, then COMPLETED)
//! and GetCredentialReport in pages of three lines, exchanges an RRSA token when given one,
//! and plays scripted answers before its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;

use super::{Acs3Verifier, Fake, Fault, Request, Scripts};

pub const KEY_ID: &str = "LTAI5tFakeKeyIdForTests01";
pub const SECRET: &str = "FakeSecretForTests0123456789ab";
pub const TOKEN: &str = "CAISFakeSecurityTokenForTestsOnly0123456789";
pub const ACCOUNT: &str = "1234567890123456";
pub const GENERATED: &str = "2026-11-24T03:04:05Z";
pub const ROLE_ARN: &str = "acs:ram::1234567890123456:role/fetcher";
pub const OIDC_PROVIDER_ARN: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1";

/// An Alibaba report (the IMS columns), long enough to take three pages of three lines.
pub fn report() -> String {
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
            "user{i}@acme.onaliyun.com,2020-01-0{}T00:00:00Z,-,TRUE,TRUE,2026-01-01T00:00:00Z,-,{mfa},TRUE,TRUE,2026-02-01T00:00:00Z,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-,FALSE,FALSE,-,-\n",
            i + 1
        ));
    }
    r
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

pub struct Ims {
    verifier: Acs3Verifier,
    pub scripts: Scripts,
    pub generate_calls: AtomicUsize,
    /// Why requests were refused, one entry each.
    pub bad_signatures: Mutex<Vec<String>>,
    /// For RRSA: the key id of the STS credentials the fake hands out, and the OIDC token it expects.
    oidc: Option<(String, String)>,
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
        });
        let handler = Arc::clone(&state);
        let server = Fake::start(move |r| handler.handle(r));
        FakeAlibaba { server, state }
    }

    /// Every answer given, for the IMS and STS models.
    pub fn model_answers(&self) -> Vec<serde_json::Value> {
        self.server.model_answers(|action| match action {
            "GetCallerIdentity" | "AssumeRoleWithOIDC" => "alibaba-sts",
            _ => "alibaba-ims",
        })
    }
}

impl Ims {
    fn handle(&self, r: &Request) -> (u16, String) {
        if r.param("Action").as_deref() == Some("AssumeRoleWithOIDC") {
            return self.assume_role(r);
        }
        if let Err(e) = self.verifier.verify(r) {
            self.bad_signatures.lock().unwrap().push(e.clone());
            return error(400, "SignatureDoesNotMatch", &e);
        }
        let action = r.header("x-acs-action").unwrap_or_default();
        let version = match action {
            "GetCallerIdentity" => "2015-04-01",
            _ => "2019-08-15",
        };
        if r.header("x-acs-version") != Some(version) {
            return error(400, "InvalidVersion", "wrong x-acs-version");
        }
        if let Some(answer) = self.scripts.next(action) {
            return answer;
        }
        match action {
            "GenerateCredentialReport" => {
                let n = self.generate_calls.fetch_add(1, Ordering::SeqCst);
                // Alibaba's words (the alibabacloud-ims20190815 model): STARTED, INPROGRESS, COMPLETED.
                let state = ["STARTED", "INPROGRESS"].get(n).copied().unwrap_or("COMPLETED");
                (200, serde_json::json!({"RequestId": "r", "State": state}).to_string())
            }
            "GetCredentialReport" => page(r),
            "GetCallerIdentity" => (
                200,
                serde_json::json!({"RequestId": "r", "AccountId": ACCOUNT, "Arn": format!("acs:ram::{ACCOUNT}:user/fetcher"), "IdentityType": "RAMUser"}).to_string(),
            ),
            other => error(404, "InvalidAction.NotFound", &format!("{other:?}")),
        }
    }

    fn assume_role(&self, r: &Request) -> (u16, String) {
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

/// Three lines a page; page 2 repeats the header (the fetcher must keep it once).
fn page(r: &Request) -> (u16, String) {
    let page: usize = r
        .param("NextToken")
        .map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
    let report = report();
    let lines: Vec<&str> = report.lines().collect();
    let chunks: Vec<&[&str]> = lines.chunks(3).collect();
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
