//! `fetch --provider tencent-cam` against a fake CAM API on 127.0.0.1 that checks every
//! request's TC3 signature with its own verifier, pages its lists (shorter pages than asked
//! for), limits GetSecurityLastUsed to ten SecretIds, throttles, and answers access denied and
//! malformed JSON where a test asks it to.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cloud_fakes::{assert_no_secrets, fetch_once, printed, Fake, Request, Tc3Verifier};
use serde_json::{json, Value};

const SECRET_ID: &str = "AKIDFakeSecretIdForTests0123456789ab";
const SECRET_KEY: &str = "FakeSecretKeyForTests0123456789a";
const TOKEN: &str = "FakeSessionTokenForTests0123456789abcdef";
const OWNER: &str = "100000000001";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    AccessDenied,
    Malformed,
    /// ListUsers answers HTTP 503.
    Server,
    /// ListAccessKeys fails for svc3, always, with a server error.
    KeysUnreadable,
    /// An account of this many sub-users with one key each, and nobody else; no scripted
    /// throttling, only the rate limit.
    Large(u64),
}

struct Cam {
    verifier: Tc3Verifier,
    mode: Mode,
    bad: Mutex<Vec<String>>,
    /// UINs whose first ListAccessKeys was throttled already.
    throttled: Mutex<HashSet<u64>>,
    /// CAM's documented limit, enforced: at most this many calls of one action in any second.
    rate_limit: Option<usize>,
    /// Per action, when the calls of the last second arrived.
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
    /// Calls refused for going over `rate_limit`.
    over_the_limit: Mutex<u64>,
}

fn ok(v: Value) -> (u16, String) {
    let mut v = v;
    v["RequestId"] = "5b4d1725-5a30-4bd8-b36d-cfa0d1d4706b".into();
    (200, json!({ "Response": v }).to_string())
}

fn err(code: &str, message: &str) -> (u16, String) {
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
        if let Err(e) = self.verifier.verify(r) {
            self.bad.lock().unwrap().push(e.clone());
            return err(&e, "signature check failed");
        }
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        let action = r.header("x-tc-action").unwrap_or("").to_owned();
        if let Some(limit) = self.rate_limit {
            let now = Instant::now();
            let mut recent = self.recent.lock().unwrap();
            let calls = recent.entry(action.clone()).or_default();
            while calls
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                calls.pop_front();
            }
            if calls.len() >= limit {
                *self.over_the_limit.lock().unwrap() += 1;
                return err("RequestLimitExceeded", "Your current request times equals to `20` in a second, which exceeds the frequency limit");
            }
            calls.push_back(now);
        }
        if let Mode::Large(n) = self.mode {
            return large_account(&action, &body, n);
        }
        if self.mode == Mode::AccessDenied && action == "ListUsers" {
            return err(
                "UnauthorizedOperation",
                &format!(
                    "you are not authorized to perform cam:ListUsers with SecretId {SECRET_ID}"
                ),
            );
        }
        if self.mode == Mode::Server && action == "ListUsers" {
            return (503, "<html>Service Unavailable</html>".to_owned());
        }
        match action.as_str() {
            "GetUserAppId" => ok(json!({"Uin": OWNER, "OwnerUin": OWNER, "AppId": 1250000000})),
            "ListUsers" if self.mode == Mode::Malformed => ok(json!({"Data": "not a list"})),
            "ListUsers" => ok(json!({ "Data": sub_users() })),
            "ListCollaborators" => paged(&body, collaborators(), "TotalNum", "Data"),
            "ListWeChatWorkSubAccounts" => paged(
                &body,
                vec![
                    json!({"Uin": 100000000013u64, "Name": "carol", "Uid": 13, "ConsoleLogin": 1, "CreateTime": "2022-02-03 04:05:06"}),
                ],
                "TotalCount",
                "Data",
            ),
            "ListReceiver" => paged(
                &body,
                vec![
                    json!({"Uid": 555, "Name": "oncall"}),
                    // alice also receives messages: she stays one row, a sub-user.
                    json!({"Uid": 11, "Uin": 100000000011u64, "Name": "alice"}),
                ],
                "TotalCount",
                "Receivers",
            ),
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
                if self.mode == Mode::KeysUnreadable && uin == 100000000103 {
                    return err("InternalError", "an internal error occurred");
                }
                if self.throttled.lock().unwrap().insert(uin) {
                    return err("RequestLimitExceeded", "Your current request times equals to `20` in a second, which exceeds the frequency limit");
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

/// The answers of an account of `n` sub-users with one key each, and nobody else.
fn large_account(action: &str, body: &Value, n: u64) -> (u16, String) {
    let uin = |i: u64| 100_000_100_000 + i;
    match action {
        "GetUserAppId" => ok(json!({"Uin": OWNER, "OwnerUin": OWNER, "AppId": 1250000000})),
        "ListUsers" => ok(json!({ "Data": (0..n)
            .map(|i| json!({"Uin": uin(i), "Name": format!("user{i}"), "Uid": i, "ConsoleLogin": 0, "CreateTime": "2023-01-01 00:00:00"}))
            .collect::<Vec<_>>() })),
        "ListCollaborators" => ok(json!({"TotalNum": 0, "Data": []})),
        "ListWeChatWorkSubAccounts" => ok(json!({"TotalCount": 0, "Data": []})),
        "ListReceiver" => ok(json!({"TotalCount": 0, "Receivers": []})),
        "DescribeSubAccounts" => {
            let uins: Vec<u64> =
                serde_json::from_value(body["FilterSubAccountUin"].clone()).unwrap();
            ok(json!({ "SubAccounts": uins.iter()
                .map(|u| json!({"Uin": u, "UserType": 2, "Name": "x", "Uid": 1, "CreateTime": "2023-01-01 00:00:00"}))
                .collect::<Vec<_>>() }))
        }
        "DescribeSafeAuthFlagColl" => {
            let zero = json!({"Phone": 0, "Token": 0, "Stoken": 0, "Wechat": 0, "Custom": 0, "Mail": 0, "U2FToken": 0});
            ok(json!({"LoginFlag": zero, "ActionFlag": zero, "PromptTrust": 0}))
        }
        "ListAccessKeys" => {
            let u = body["TargetUin"].as_u64().unwrap();
            ok(
                json!({ "AccessKeys": [{"AccessKeyId": format!("AKID{u:032}"), "Status": "Active", "CreateTime": "2024-01-01 00:00:00"}] }),
            )
        }
        "GetSecurityLastUsed" => {
            let ids: Vec<String> = serde_json::from_value(body["SecretIdList"].clone()).unwrap();
            ok(json!({ "SecretIdLastUsedRows": ids.iter()
                .map(|id| json!({"SecretId": id, "LastUsedDate": "", "LastSecretUsedDate": 0}))
                .collect::<Vec<_>>() }))
        }
        other => err("InvalidAction", &format!("{other} unknown")),
    }
}

impl Cam {
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

fn start(mode: Mode) -> (Fake, Arc<Cam>) {
    start_limited(mode, None)
}

/// A fake that also enforces CAM's rate limit: `rate_limit` calls of one action a second.
fn start_limited(mode: Mode, rate_limit: Option<usize>) -> (Fake, Arc<Cam>) {
    let cam = Arc::new(Cam {
        verifier: Tc3Verifier {
            secret_id: SECRET_ID.into(),
            secret_key: SECRET_KEY.into(),
            token: Some(TOKEN.into()),
        },
        mode,
        bad: Mutex::new(Vec::new()),
        throttled: Mutex::new(HashSet::new()),
        rate_limit,
        recent: Mutex::new(HashMap::new()),
        over_the_limit: Mutex::new(0),
    });
    let handler = Arc::clone(&cam);
    (Fake::start(move |r| handler.handle(r)), cam)
}

/// Every answer the fake gave, held to Tencent's SDK models (tencentcloud-sdk-python-cam and
/// -sts): names, types, the words their descriptions enumerate, and error codes.
fn assert_answers_speak_tencents_models(fake: &Fake) -> serde_json::Map<String, Value> {
    let answers = fake
        .answers()
        .into_iter()
        .map(|a| {
            let api = match a.action.as_str() {
                "AssumeRoleWithWebIdentity" => "tencent-sts",
                _ => "tencent-cam",
            };
            json!({"api": api, "action": a.action, "status": a.status, "body": a.body})
        })
        .collect();
    crate::python::assert_vendor_models(answers)
}

fn run(fake: &Fake, dir: &std::path::Path, secret_key: &str) -> std::process::Output {
    fetch_once(
        dir,
        &[
            "--provider",
            "tencent-cam",
            "--tencent.endpoint",
            &fake.url(),
        ],
        &[
            ("TENCENTCLOUD_SECRET_ID", SECRET_ID),
            ("TENCENTCLOUD_SECRET_KEY", secret_key),
            ("TENCENTCLOUD_SESSION_TOKEN", TOKEN),
        ],
    )
}

/// The written CSV as rows keyed by Username, each a map column → cell.
fn rows(csv: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let row: BTreeMap<String, String> = header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect();
            (row["Username"].clone(), row)
        })
        .collect()
}

#[test]
fn the_report_is_rebuilt_from_every_list_and_written() {
    let (fake, cam) = start(Mode::Normal);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), SECRET_KEY);
    let text = printed(&out);
    assert!(out.status.success(), "fetch failed:\n{text}");
    assert!(
        cam.bad.lock().unwrap().is_empty(),
        "{:?}",
        cam.bad.lock().unwrap()
    );

    let csv = std::fs::read_to_string(dir.path().join(format!("{OWNER}.csv"))).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("AccountID,Username,UserType,CreationTime,PasswordEnabled"),
        "{header}"
    );
    assert!(
        !header.contains("MayBeAtRisk") && !header.contains("Abnormal"),
        "no API gives these: {header}"
    );
    let rows = rows(&csv);
    // 8 svc + alice + bot + carol + 2 partners + oncall; alice once although she also receives
    // messages; partner1, deleted after the lists were read, not at all.
    assert_eq!(rows.len(), 14, "{csv}");
    assert!(!rows.contains_key("partner1"), "{csv}");

    let alice = &rows["alice"];
    assert_eq!(alice["AccountID"], "100000000011");
    assert_eq!(alice["UserType"], "Sub-user");
    assert_eq!(alice["CreationTime"], "2019/8/16 9:25:56");
    assert_eq!(alice["PasswordEnabled"], "TRUE");
    assert_eq!(alice["LoginConsoleActive"], "TRUE");
    assert_eq!(alice["LoginProtectionActive"], "TRUE");
    assert_eq!(alice["OperationProtectionActive"], "TRUE");
    assert_eq!(
        alice["MFADeviceActive"], "TRUE",
        "a soft token is an MFA device"
    );
    assert_eq!(
        alice["AccessKey1SecretId"],
        "AKIDalice000000000000000000000000001"
    );
    assert_eq!(alice["AccessKey1Status"], "Active");
    assert_eq!(alice["AccessKey1CreationTime"], "2020/3/14 11:22:33");
    // LastSecretUsedDate's moment, finer than the lagging LastUsedDate (2026-11-20).
    assert_eq!(alice["AccessKey1lastUsedDate"], "2026/11/21 8:09:10");
    assert_eq!(alice["AccessKey1CreatedOver90Days"], "TRUE");
    assert_eq!(alice["AccessKey2Status"], "Disable");
    assert_eq!(alice["AccessKey2lastUsedDate"], "N/A");
    assert_eq!(alice["AccessKey2CreatedOver30Days"], "FALSE");

    let bot = &rows["bot, the \"builder\""];
    assert_eq!(bot["PasswordEnabled"], "FALSE");
    assert_eq!(bot["PasswordLastRotation"], "FALSE");
    assert_eq!(bot["MFADeviceActive"], "FALSE");
    assert_eq!(bot["AccessKey1CreatedOver30Days"], "TRUE");
    assert_eq!(bot["AccessKey1CreatedOver90Days"], "FALSE");
    assert_eq!(bot["AccessKey2SecretId"], "N/A");

    let carol = &rows["carol"];
    assert_eq!(carol["UserType"], "WeWork-Sub-user");
    assert_eq!(carol["PasswordEnabled"], "not_supported");
    assert_eq!(carol["LoginProtectionActive"], "TRUE");
    assert_eq!(carol["AccessKey1SecretId"], "N/A");

    assert_eq!(rows["partner0"]["UserType"], "Collaborator");
    assert_eq!(rows["partner0"]["LoginConsoleActive"], "not_supported");
    assert_eq!(
        rows["partner2"]["LoginProtectionActive"], "N/A",
        "DescribeSafeAuthFlagColl had nothing for it"
    );
    // A collaborator's API key is listed like a sub-user's.
    let partner0 = &rows["partner0"];
    assert_eq!(
        partner0["AccessKey1SecretId"],
        "AKIDpartner0000000000000000000000000001"
    );
    assert_eq!(partner0["AccessKey1Status"], "Active");
    assert_eq!(partner0["AccessKey1CreatedOver90Days"], "TRUE");
    assert_eq!(partner0["AccessKey1lastUsedDate"], "2026/11/19");
    assert_eq!(rows["partner2"]["AccessKey1SecretId"], "N/A", "no keys");
    assert_eq!(rows["oncall"]["UserType"], "Message-receiver");
    assert_eq!(rows["oncall"]["AccountID"], "555");
    assert_eq!(rows["oncall"]["MFADeviceActive"], "not_supported");
    assert_eq!(
        rows["svc7"]["AccessKey2SecretId"],
        "AKIDsvc7000000000000000000000000002"
    );

    // Every list paged to its end; last use asked ten SecretIds at a time; throttled calls retried.
    let actions = fake.actions();
    let count = |a: &str| actions.iter().filter(|x| *x == a).count();
    assert_eq!(count("ListCollaborators"), 2, "{actions:?}");
    assert_eq!(count("GetSecurityLastUsed"), 2, "20 keys: 10 + 10");
    assert_eq!(
        count("ListAccessKeys"),
        2 * 13,
        "each of 11 sub-users and 2 collaborators throttled once, then answered"
    );
    assert_eq!(count("DescribeSubAccounts"), 1);
    assert_no_secrets(&text, &[SECRET_ID, SECRET_KEY, TOKEN]);
}

#[test]
fn access_denied_names_the_reason_and_keeps_the_last_report() {
    let (fake, _cam) = start(Mode::AccessDenied);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{OWNER}.csv"));
    std::fs::write(&path, "the last good report").unwrap();
    let out = run(&fake, dir.path(), SECRET_KEY);
    let text = printed(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("access_denied") && text.contains("UnauthorizedOperation"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "the last good report"
    );
    assert_eq!(
        fake.actions().iter().filter(|a| *a == "ListUsers").count(),
        1,
        "not retried"
    );
    assert_no_secrets(&text, &[SECRET_ID, SECRET_KEY, TOKEN]);
    assert!(
        text.contains("AKID…89ab"),
        "the cloud's message names the SecretId masked: {text}"
    );
}

#[test]
fn a_malformed_answer_is_an_invalid_response() {
    let (fake, _cam) = start(Mode::Malformed);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), SECRET_KEY);
    let text = printed(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("invalid_response") && text.contains("ListUsers"),
        "{text}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    assert_no_secrets(&text, &[SECRET_ID, SECRET_KEY, TOKEN]);
}

#[test]
fn the_fakes_verifier_refuses_a_request_signed_with_another_key() {
    let (fake, cam) = start(Mode::Normal);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), "AnotherSecretKeyThanTheFakeKnows");
    let text = printed(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("AuthFailure.SignatureFailure") && text.contains("access_denied"),
        "{text}"
    );
    assert!(!cam.bad.lock().unwrap().is_empty());
}

#[test]
fn the_exporter_reads_the_rebuilt_report_without_the_checks_no_api_gives() {
    let (fake, _cam) = start(Mode::Normal);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), SECRET_KEY);
    assert!(out.status.success(), "{}", printed(&out));
    let exporter = crate::common::Exporter::start(dir.path(), &[]);
    let metrics = exporter.metrics();
    let r = format!("report=\"{OWNER}\"");
    for line in [
        format!("credential_report_up{{{r}}} 1"),
        format!("credential_report_info{{{r},provider=\"tencent-cam\"}} 1"),
        format!("credential_report_users{{{r},user_type=\"sub_user\"}} 10"),
        format!("credential_report_users{{{r},user_type=\"wecom_sub_user\"}} 1"),
        format!("credential_report_users{{{r},user_type=\"collaborator\"}} 2"),
        format!("credential_report_users{{{r},user_type=\"message_receiver\"}} 1"),
        format!("credential_report_users_without_mfa{{{r},user_type=\"sub_user\"}} 9"),
        format!("credential_report_access_keys{{{r},status=\"active\"}} 19"),
        format!("credential_report_access_keys{{{r},status=\"disabled\"}} 1"),
        format!("credential_report_access_keys_over_90d{{{r},status=\"active\"}} 18"),
        format!("credential_report_cell_errors{{{r}}} 0"),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "missing {line}:\n{metrics}"
        );
    }
    // No API gives these checks: absent, not zero.
    assert!(
        !metrics.contains("credential_report_access_keys_at_risk{"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("credential_report_users_with_abnormal_logins{"),
        "{metrics}"
    );
}

#[test]
fn the_fetchers_metrics_count_calls_by_action_and_result_and_hold_no_secret() {
    let (fake, _cam) = start(Mode::Normal);
    let dir = tempfile::tempdir().unwrap();
    let url = fake.url();
    let fetcher = crate::cloud_fakes::Fetcher::spawn(
        dir.path(),
        &["--provider", "tencent-cam", "--tencent.endpoint", &url],
        &[
            ("TENCENTCLOUD_SECRET_ID", SECRET_ID),
            ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY),
            ("TENCENTCLOUD_SESSION_TOKEN", TOKEN),
        ],
    );
    let metrics = fetcher
        .metrics_when(|m| m.contains("credential_report_fetch_last_success_timestamp_seconds{"));
    for line in [
        "credential_report_fetch_api_calls_total{action=\"ListAccessKeys\",result=\"throttled\"} 13",
        "credential_report_fetch_api_calls_total{action=\"ListAccessKeys\",result=\"success\"} 13",
        "credential_report_fetch_api_calls_total{action=\"GetSecurityLastUsed\",result=\"success\"} 2",
        "credential_report_fetch_api_calls_total{action=\"DescribeSafeAuthFlagColl\",result=\"invalid_response\"} 1",
        "credential_report_fetch_api_calls_total{action=\"DescribeSafeAuthFlagColl\",result=\"not_ready\"} 1",
        "credential_report_fetch_failures_total{account=\"default\",reason=\"throttled\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line}:\n{metrics}");
    }
    assert_no_secrets(
        &metrics,
        &[SECRET_ID, SECRET_KEY, TOKEN, "AKIDalice", "AKIDsvc"],
    );
}

#[test]
fn tke_workload_identity_exchanges_the_token_for_temporary_keys() {
    let (fake, cam) = start(Mode::Normal);
    let dir = tempfile::tempdir().unwrap();
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.tke.token\n").unwrap();
    let url = fake.url();
    let token_path = token_file.display().to_string();
    let out = fetch_once(
        dir.path(),
        &["--provider", "tencent-cam", "--tencent.endpoint", &url],
        &[
            ("TKE_REGION", "ap-guangzhou"),
            ("TKE_PROVIDER_ID", "tke-oidc-provider"),
            (
                "TKE_ROLE_ARN",
                "qcs::cam::uin/100000000001:roleName/fetcher",
            ),
            ("TKE_WEB_IDENTITY_TOKEN_FILE", &token_path),
            ("TENCENTCLOUD_STS_ENDPOINT", &url),
        ],
    );
    let text = printed(&out);
    assert!(out.status.success(), "fetch failed:\n{text}");
    assert!(
        cam.bad.lock().unwrap().is_empty(),
        "{:?}",
        cam.bad.lock().unwrap()
    );
    let actions = fake.actions();
    assert_eq!(actions[0], "AssumeRoleWithWebIdentity");
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "AssumeRoleWithWebIdentity")
            .count(),
        1,
        "cached for the run"
    );
    assert!(dir.path().join(format!("{OWNER}.csv")).exists());
    assert_no_secrets(&text, &[SECRET_ID, SECRET_KEY, TOKEN, "tke.token"]);
    let words = assert_answers_speak_tencents_models(&fake);
    assert_eq!(
        words["ListAccessKeys.AccessKeys.Status"],
        json!(["Active", "Inactive"])
    );
    assert_eq!(
        words["DescribeSubAccounts.SubAccounts.UserType"],
        json!(["2", "3", "4"])
    );
}

#[test]
fn a_server_error_is_retried_and_then_reported_as_server() {
    let (fake, _cam) = start(Mode::Server);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&fake, dir.path(), SECRET_KEY);
    let text = printed(&out);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("(server)") && text.contains("HTTP 503"),
        "{text}"
    );
    // --fetch.attempts defaults to 5: a server error is worth retrying.
    assert_eq!(
        fake.actions().iter().filter(|a| *a == "ListUsers").count(),
        5
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn keys_that_cannot_be_read_fail_the_fetch_and_keep_the_last_report() {
    let (fake, _cam) = start(Mode::KeysUnreadable);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{OWNER}.csv"));
    std::fs::write(&path, b"the last good report\r\n\xef").unwrap();
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let out = fetch_once(
        dir.path(),
        &[
            "--provider",
            "tencent-cam",
            "--tencent.endpoint",
            &fake.url(),
            "--fetch.attempts",
            "2",
        ],
        &[
            ("TENCENTCLOUD_SECRET_ID", SECRET_ID),
            ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY),
            ("TENCENTCLOUD_SESSION_TOKEN", TOKEN),
        ],
    );
    let text = printed(&out);
    assert!(!out.status.success(), "{text}");
    // Never "no key" for "could not read": the whole fetch fails, with the reason.
    assert!(
        text.contains("ListAccessKeys: InternalError") && text.contains("(server)"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"the last good report\r\n\xef"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_no_secrets(&text, &[SECRET_ID, SECRET_KEY, TOKEN]);
}

/// Fetches an account of `users` sub-users from a fake that refuses more than 20 calls of
/// one action in any second, as CAM documents; answers the wall time and how many calls the
/// fake refused.
fn fetch_paced(users: u64) -> (Duration, u64) {
    let (fake, cam) = start_limited(Mode::Large(users), Some(20));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // One attempt, long enough for the whole account at the paced rate (about N / 18 s).
    let timeout = format!("{}s", 60 + users / 10);
    let out = fetch_once(
        dir.path(),
        &[
            "--provider",
            "tencent-cam",
            "--tencent.endpoint",
            &fake.url(),
            "--fetch.attempts",
            "1",
            "--fetch.timeout",
            &timeout,
        ],
        &[
            ("TENCENTCLOUD_SECRET_ID", SECRET_ID),
            ("TENCENTCLOUD_SECRET_KEY", SECRET_KEY),
            ("TENCENTCLOUD_SESSION_TOKEN", TOKEN),
        ],
    );
    let took = started.elapsed();
    assert!(out.status.success(), "{}", printed(&out));
    let csv = std::fs::read_to_string(dir.path().join(format!("{OWNER}.csv"))).unwrap();
    assert_eq!(csv.lines().count() as u64, users + 1);
    let refused = *cam.over_the_limit.lock().unwrap();
    eprintln!("{users} users: {took:?}, {refused} calls over the limit");
    (took, refused)
}

#[test]
fn calls_keep_within_twenty_a_second_per_action() {
    // 300 users: 300 ListAccessKeys and 300 DescribeSafeAuthFlagColl calls, paced.
    let (_, refused) = fetch_paced(300);
    assert!(refused <= 2, "{refused} calls were over CAM's rate limit");
}

#[test]
#[ignore = "takes about five minutes: 5,000 calls of each per-user action at 20 a second"]
fn five_thousand_users_keep_within_twenty_a_second_per_action() {
    let (_, refused) = fetch_paced(5_000);
    assert!(refused <= 2, "{refused} calls were over CAM's rate limit");
}
