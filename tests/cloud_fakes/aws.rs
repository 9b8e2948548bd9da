//! A fake AWS IAM and STS query API, and Organizations' JSON API, on 127.0.0.1. It verifies
//! every request's SigV4 signature with the independent verifier in `sigv4.rs` against the
//! credentials it knows, answers GenerateCredentialReport, GetCredentialReport, AssumeRole,
//! ListAccounts and ListTagsForResource as AWS does, and plays scripted answers (errors,
//! states, malformed bodies) before its defaults.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use base64::Engine;

use super::sigv4::{self, Request};
use super::Fake;

/// Credentials the fake accepts, and the account they belong to.
#[derive(Clone, Debug)]
pub struct Credential {
    pub secret: String,
    pub session_token: Option<String>,
    pub account: String,
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub enum Answer {
    /// GenerateCredentialReport's State (STARTED, INPROGRESS, COMPLETE).
    State(&'static str),
    /// An AWS error document with this HTTP status and code.
    Error(u16, &'static str),
    /// Any body, for malformed answers.
    Raw(u16, String),
}

/// One request the fake saw.
#[derive(Clone, Debug)]
pub struct Call {
    pub action: String,
    pub access_key_id: String,
    /// Err: why the signature or token was refused.
    pub verified: Result<(), String>,
}

/// An account of the fake organization, as ListAccounts gives it.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: String,
    pub name: String,
    /// `State` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, PENDING_ACTIVATION).
    pub state: &'static str,
    pub tags: Vec<(String, String)>,
}

/// How many accounts a ListAccounts page holds at most here: fewer than MaxResults is
/// allowed (AWS: "NextToken ... even when there are fewer results than MaxResults"), and a
/// few a page makes every listing paged.
pub const ACCOUNTS_PAGE: usize = 7;

#[derive(Default)]
struct State {
    /// The organization's management account, and its members in listing order.
    management: Option<String>,
    members: Vec<Member>,
    credentials: HashMap<String, Credential>,
    /// Role ARN → the account its credentials get; roles not here are denied.
    roles: HashMap<String, String>,
    /// (account, action) → answers to give before the default one.
    scripts: HashMap<(String, String), VecDeque<Answer>>,
    /// account → (report bytes, GeneratedTime).
    reports: HashMap<String, (Vec<u8>, String)>,
    calls: Vec<Call>,
    issued: u32,
}

#[derive(Clone)]
pub struct FakeAws {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<Fake>,
}

impl FakeAws {
    pub fn start() -> FakeAws {
        let state: Arc<Mutex<State>> = Arc::default();
        let answering = Arc::clone(&state);
        let server = Fake::start_answering("text/xml", move |request| answer(&answering, request));
        FakeAws {
            url: server.url(),
            state,
            server: Arc::new(server),
        }
    }

    pub fn add_credential(&self, access_key_id: &str, credential: Credential) {
        let mut state = self.state.lock().unwrap();
        state
            .credentials
            .insert(access_key_id.to_owned(), credential);
    }

    pub fn add_role(&self, arn: &str, account: &str) {
        let mut state = self.state.lock().unwrap();
        state.roles.insert(arn.to_owned(), account.to_owned());
    }

    pub fn set_report(&self, account: &str, content: &[u8], generated: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .reports
            .insert(account.to_owned(), (content.to_vec(), generated.to_owned()));
    }

    /// Makes `management`'s credentials the management account of an organization of
    /// `members` (the management account among them, as AWS lists it).
    pub fn set_organization(&self, management: &str, members: Vec<Member>) {
        let mut state = self.state.lock().unwrap();
        state.management = Some(management.to_owned());
        state.members = members;
    }

    /// Whether the organization still lists `id`.
    pub fn is_member(&self, id: &str) -> bool {
        let state = self.state.lock().unwrap();
        state.members.iter().any(|m| m.id == id)
    }

    /// The role can no longer be assumed.
    pub fn remove_role(&self, arn: &str) {
        self.state.lock().unwrap().roles.remove(arn);
    }

    /// The account leaves the organization: no longer listed.
    pub fn remove_member(&self, id: &str) {
        let mut state = self.state.lock().unwrap();
        state.members.retain(|m| m.id != id);
    }

    pub fn script(&self, account: &str, action: &str, answers: &[Answer]) {
        let mut state = self.state.lock().unwrap();
        state
            .scripts
            .entry((account.to_owned(), action.to_owned()))
            .or_default()
            .extend(answers.iter().cloned());
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Every answer given so far, in order: (action, HTTP status, body).
    pub fn answers(&self) -> Vec<(String, u16, String)> {
        self.server
            .answers()
            .into_iter()
            .map(|a| (a.action, a.status, a.body))
            .collect()
    }

    /// Every answer given so far, for botocore's IAM, STS and Organizations models.
    pub fn model_answers(&self) -> Vec<serde_json::Value> {
        let api = |action: &str| match action {
            "AssumeRole" => "aws-sts",
            "ListAccounts" | "ListTagsForResource" => "aws-organizations",
            _ => "aws-iam",
        };
        self.server.model_answers(api)
    }

    /// Every secret and session token the fake knows or issued.
    pub fn secrets(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .credentials
            .values()
            .flat_map(|c| [Some(c.secret.clone()), c.session_token.clone()])
            .flatten()
            .collect()
    }

    /// Every access key id the fake knows or issued.
    pub fn key_ids(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .credentials
            .keys()
            .cloned()
            .collect()
    }
}

/// The fake's answer to one request, as AWS gives it.
fn answer(state: &Mutex<State>, request: &Request) -> (u16, String) {
    let form = form(request);
    // The query APIs name the action in the form, the JSON ones in X-Amz-Target.
    let target = request
        .header("x-amz-target")
        .and_then(|t| t.split_once('.'));
    let action = match target {
        Some((_, action)) => action.to_owned(),
        None => form.get("Action").cloned().unwrap_or_default(),
    };
    let json = target.is_some();
    let mut state = state.lock().unwrap();
    let credentials = state.credentials.clone();
    let now = jiff::Timestamp::now().as_second();
    let verified = sigv4::verify(
        request,
        |id| credentials.get(id).map(|c| c.secret.clone()),
        Some(now),
    );
    let (access_key_id, verdict) = match verified {
        Err(error) => (String::new(), Err(error)),
        Ok(signed) => {
            let credential = &credentials[&signed.access_key_id];
            let expected_service = match action.as_str() {
                "AssumeRole" => "sts",
                "ListAccounts" | "ListTagsForResource" => "organizations",
                _ => "iam",
            };
            let verdict = if signed.service != expected_service {
                Err(format!("{action} signed for service {}", signed.service))
            } else if signed.region != "us-east-1" {
                Err(format!("signed for region {}", signed.region))
            } else if request.header("x-amz-security-token") != credential.session_token.as_deref()
            {
                Err("session token missing or wrong".to_owned())
            } else {
                Ok(())
            };
            (signed.access_key_id, verdict)
        }
    };
    state.calls.push(Call {
        action: action.clone(),
        access_key_id: access_key_id.clone(),
        verified: verdict.clone(),
    });
    if let Err(why) = verdict {
        eprintln!("fake AWS refused {action}: {why}");
        return error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    let account = credentials[&access_key_id].account.clone();
    let scripted = state
        .scripts
        .get_mut(&(account.clone(), action.clone()))
        .and_then(VecDeque::pop_front);
    if json {
        return organizations(&state, &account, &action, scripted, request);
    }
    match (scripted, action.as_str()) {
        (Some(Answer::Error(status, code)), _) => error(
            status,
            code,
            // AWS quotes the caller in denials; the fetcher must mask the key id.
            &format!("{code} for the request signed with {access_key_id}"),
        ),
        (Some(Answer::Raw(status, body)), _) => (status, body),
        (Some(Answer::State(s)), "GenerateCredentialReport") => generate(s),
        (None, "GenerateCredentialReport") => generate("COMPLETE"),
        (None, "GetCredentialReport") => match state.reports.get(&account) {
            Some((content, generated)) => get_report(content, generated),
            None => error(410, "ReportNotPresent", "no report"),
        },
        (None, "AssumeRole") => {
            let arn = form.get("RoleArn").cloned().unwrap_or_default();
            match state.roles.get(&arn).cloned() {
                None => error(
                    403,
                    "AccessDenied",
                    &format!(
                        "{access_key_id} is not authorized to perform sts:AssumeRole on {arn}"
                    ),
                ),
                Some(role_account) => {
                    state.issued += 1;
                    let id = format!("ASIAFAKEISSUED{:06}", state.issued);
                    let credential = Credential {
                        secret: format!("issued-secret-{}-xYz/+AbC", state.issued),
                        session_token: Some(format!(
                            "issued-token-{}-FwoGZXIvYXdzEJr//////////wEaDE",
                            state.issued
                        )),
                        account: role_account,
                    };
                    state.credentials.insert(id.clone(), credential.clone());
                    assume_role(&id, &credential, &arn)
                }
            }
        }
        (_, other) => error(400, "InvalidAction", &format!("unknown action {other}")),
    }
}

/// Organizations' answer (JSON 1.1), for the management account only.
fn organizations(
    state: &State,
    account: &str,
    action: &str,
    scripted: Option<Answer>,
    request: &Request,
) -> (u16, String) {
    let input: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    match scripted {
        Some(Answer::Error(status, code)) => return json_error(status, code),
        Some(Answer::Raw(status, body)) => return (status, body),
        Some(Answer::State(_)) | None => {}
    }
    let Some(management) = state.management.as_deref() else {
        return json_error(400, "AWSOrganizationsNotInUseException");
    };
    if account != management {
        return json_error(400, "AccessDeniedException");
    }
    let arn = |id: &str| format!("arn:aws:organizations::{management}:account/o-fake0example/{id}");
    match action {
        "ListAccounts" => {
            let start: usize = (input["NextToken"].as_str())
                .and_then(|t| t.strip_prefix("page-from-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let end = (start + ACCOUNTS_PAGE).min(state.members.len());
            let accounts: Vec<serde_json::Value> = state.members[start.min(end)..end]
                .iter()
                .map(|m| {
                    // Status is the older word for State; AWS still sends both.
                    let status = match m.state {
                        "ACTIVE" | "SUSPENDED" | "PENDING_CLOSURE" => m.state,
                        _ => "SUSPENDED",
                    };
                    serde_json::json!({
                        "Id": m.id, "Arn": arn(&m.id), "Email": format!("{}@example.com", m.id),
                        "Name": m.name, "Status": status, "State": m.state,
                        "JoinedMethod": "CREATED", "JoinedTimestamp": 1.7e9,
                    })
                })
                .collect();
            let mut answer = serde_json::json!({ "Accounts": accounts });
            if end < state.members.len() {
                answer["NextToken"] = format!("page-from-{end}").into();
            }
            (200, answer.to_string())
        }
        "ListTagsForResource" => {
            let id = input["ResourceId"].as_str().unwrap_or_default();
            match state.members.iter().find(|m| m.id == id) {
                None => json_error(400, "TargetNotFoundException"),
                Some(member) => {
                    let tags: Vec<serde_json::Value> = (member.tags.iter())
                        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
                        .collect();
                    (200, serde_json::json!({ "Tags": tags }).to_string())
                }
            }
        }
        other => json_error(
            400,
            if other.is_empty() {
                "UnknownOperationException"
            } else {
                "InvalidInputException"
            },
        ),
    }
}

/// An error of a JSON 1.1 API: its code in `__type`.
fn json_error(status: u16, code: &str) -> (u16, String) {
    let body = serde_json::json!({ "__type": code, "Message": format!("{code} (fake)") });
    (status, body.to_string())
}

/// The query API's parameters, from the form body.
fn form(request: &Request) -> HashMap<String, String> {
    String::from_utf8_lossy(&request.body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (sigv4::percent_decode(k), sigv4::percent_decode(v)))
        .collect()
}

fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>00000000-fake</RequestId></ErrorResponse>"
        ),
    )
}

fn generate(state: &str) -> (u16, String) {
    (
        200,
        format!(
            "<GenerateCredentialReportResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GenerateCredentialReportResult><State>{state}</State><Description>fake</Description></GenerateCredentialReportResult><ResponseMetadata><RequestId>00000000-fake</RequestId></ResponseMetadata></GenerateCredentialReportResponse>"
        ),
    )
}

fn get_report(content: &[u8], generated: &str) -> (u16, String) {
    let content = base64::engine::general_purpose::STANDARD.encode(content);
    (
        200,
        format!(
            "<GetCredentialReportResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetCredentialReportResult><Content>{content}</Content><ReportFormat>text/csv</ReportFormat><GeneratedTime>{generated}</GeneratedTime></GetCredentialReportResult><ResponseMetadata><RequestId>00000000-fake</RequestId></ResponseMetadata></GetCredentialReportResponse>"
        ),
    )
}

fn assume_role(id: &str, credential: &Credential, arn: &str) -> (u16, String) {
    let expiration = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(900))
        .round(jiff::Unit::Second)
        .unwrap();
    (
        200,
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROAFAKEROLEID:credential-report-exporter</AssumedRoleId><Arn>{arn}/credential-report-exporter</Arn></AssumedRoleUser><Credentials><AccessKeyId>{id}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>00000000-fake</RequestId></ResponseMetadata></AssumeRoleResponse>",
            credential.secret,
            credential.session_token.as_deref().unwrap_or(""),
        ),
    )
}

/// An IAM credential report in AWS's format for `account`: root (MFA on, no keys), alice
/// (console, no MFA, one active key used), bob (no console, two active keys, an active
/// signing certificate).
pub fn report(account: &str) -> Vec<u8> {
    format!(
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n\
<root_account>,arn:aws:iam::{account}:root,2019-03-01T10:00:00+00:00,not_supported,2026-11-20T08:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
alice,arn:aws:iam::{account}:user/alice,2020-01-01T00:00:00+00:00,true,2026-11-01T00:00:00+00:00,2025-06-01T00:00:00+00:00,N/A,false,true,2024-01-01T00:00:00+00:00,2026-11-24T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
bob,arn:aws:iam::{account}:user/bob,2021-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2021-01-02T00:00:00+00:00,N/A,N/A,N/A,true,2026-10-01T00:00:00+00:00,2026-11-20T00:00:00+00:00,eu-west-1,ec2,true,2022-01-01T00:00:00+00:00,false,N/A"
    )
    .into_bytes()
}

/// `fault` as Organizations answers it (its error words, from botocore's model); `Garbage`
/// is a ListAccounts answer whose Accounts is not a list.
pub fn organizations_fault(fault: super::Fault) -> Answer {
    use super::Fault;
    match fault {
        Fault::Throttle => Answer::Error(400, "TooManyRequestsException"),
        Fault::Deny => Answer::Error(400, "AccessDeniedException"),
        Fault::ExpiredToken => Answer::Error(400, "ExpiredTokenException"),
        Fault::ServerError => Answer::Error(500, "ServiceException"),
        Fault::Garbage => Answer::Raw(200, r#"{"Accounts": "none"}"#.to_owned()),
    }
}

/// `fault` as IAM and STS answer it (the error's message quotes the caller's key id);
/// `Garbage` is a GetCredentialReport answer cut off after its first element.
pub fn fault(fault: super::Fault) -> Answer {
    use super::Fault;
    match fault {
        Fault::Throttle => Answer::Error(400, "Throttling"),
        Fault::Deny => Answer::Error(403, "AccessDenied"),
        Fault::ExpiredToken => Answer::Error(403, "ExpiredToken"),
        Fault::ServerError => Answer::Error(503, "ServiceUnavailable"),
        Fault::Garbage => Answer::Raw(
            200,
            "<GetCredentialReportResponse><GetCredentialReportResult><Content>".to_owned(),
        ),
    }
}
