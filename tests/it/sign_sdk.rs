//! The request signers against the clouds' official Python SDKs, run on the same inputs:
//! Alibaba's alibabacloud-openapi-util (ACS3-HMAC-SHA256) and Tencent's
//! tencentcloud-sdk-python-common (TC3-HMAC-SHA256), through tests/sign_sdk.py.
//!
//! Needs the test Python (tests/requirements.txt in .venv/, as scripts/test.sh installs it, or
//! CREDENTIAL_REPORT_TEST_PYTHON); without it this test fails and says how to get it.

use credential_report_exporter::fetch::sign::{acs3, tc3, Secret};
use serde_json::{json, Value};

fn run_sdk(cases: &Value) -> Vec<Value> {
    match crate::python::run_script("sign_sdk.py", cases) {
        Value::Array(answers) => answers,
        other => panic!("tests/sign_sdk.py answered {other}, not a list"),
    }
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn acs3_matches_alibabas_python_sdk() {
    let cases = json!([
        {"cloud": "alibaba", "method": "POST", "key_id": "LTAI5tExampleKeyId0001", "secret": "ExampleSecret0123456789abcdefAB",
         "query": {}, "body": "",
         "headers": {"host": "ims.aliyuncs.com", "x-acs-action": "GenerateCredentialReport", "x-acs-version": "2019-08-15",
                     "x-acs-date": "2026-11-25T17:00:00Z", "x-acs-signature-nonce": "0b3f7c1e",
                     "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
        {"cloud": "alibaba", "method": "POST", "key_id": "STS.NUexampleid", "secret": "s3cr3t/with+symbols=",
         "query": {"MaxItems": "1000", "NextToken": "a/b+c= d~*"}, "body": "",
         "headers": {"host": "127.0.0.1:40123", "x-acs-action": "GetCredentialReport", "x-acs-version": "2019-08-15",
                     "x-acs-date": "2026-01-02T03:04:05Z", "x-acs-signature-nonce": "n-1",
                     "x-acs-security-token": "CAIS+token/with=odd chars",
                     "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
        {"cloud": "alibaba", "method": "POST", "key_id": "id", "secret": "密钥",
         "query": {"RoleSessionName": "用户 session", "RoleArn": "acs:ram::123:role/x"}, "body": "{\"a\":1}",
         "headers": {"host": "sts.aliyuncs.com", "x-acs-action": "AssumeRole", "x-acs-version": "2015-04-01",
                     "x-acs-date": "2026-01-02T03:04:05Z", "x-acs-signature-nonce": "n-2",
                     "content-type": "application/json",
                     "x-acs-content-sha256": "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"}}
    ]);
    let answers = run_sdk(&cases);
    for (case, answer) in cases.as_array().unwrap().iter().zip(&answers) {
        let query = pairs(&case["query"]);
        let headers = pairs(&case["headers"]);
        let body = case["body"].as_str().unwrap();
        let payload = headers
            .iter()
            .find(|(k, _)| k == "x-acs-content-sha256")
            .unwrap()
            .1
            .clone();
        let ours = acs3::authorization(
            &acs3::Request {
                method: case["method"].as_str().unwrap(),
                path: "/",
                query: &query,
                headers: &headers,
                payload_sha256: &payload,
            },
            case["key_id"].as_str().unwrap(),
            &Secret::new(case["secret"].as_str().unwrap()),
        );
        assert_eq!(
            ours,
            answer["authorization"].as_str().unwrap(),
            "case {case} (body {body:?})"
        );
    }
}

#[test]
fn acs3_rpc_headers_match_alibabas_python_sdk() {
    // sign_rpc builds the header set itself; the SDK signs that same set.
    let query = vec![("MaxItems".to_owned(), "2".to_owned())];
    let token = Secret::new("CAIStoken");
    let headers = acs3::sign_rpc(
        &acs3::RpcCall {
            method: "POST",
            host: "ims.aliyuncs.com",
            action: "GetCredentialReport",
            version: "2019-08-15",
            query: &query,
            body: b"",
            date: "2026-11-25T17:00:00Z",
            nonce: "abc",
        },
        "LTAI5tExampleKeyId0001",
        &Secret::new("ExampleSecret"),
        Some(&token),
    );
    let (auth, signed): (Vec<_>, Vec<_>) =
        headers.into_iter().partition(|(k, _)| k == "authorization");
    let case = json!([{"cloud": "alibaba", "method": "POST", "key_id": "LTAI5tExampleKeyId0001", "secret": "ExampleSecret",
        "query": {"MaxItems": "2"}, "body": "",
        "headers": signed.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<serde_json::Map<_, _>>()}]);
    let answer = run_sdk(&case);
    assert_eq!(auth[0].1, answer[0]["authorization"].as_str().unwrap());
}

#[test]
fn tc3_matches_tencents_python_sdk() {
    let cases = json!([
        {"cloud": "tencent", "service": "cam", "version": "2019-01-16", "action": "ListUsers", "host": "cam.tencentcloudapi.com",
         "secret_id": "AKIDexampleexampleexampleexample1234", "secret_key": "examplesecretkeyexamplesecretkey", "timestamp": 1764090000,
         "params": {}},
        {"cloud": "tencent", "service": "cam", "version": "2019-01-16", "action": "GetSecurityLastUsed", "host": "127.0.0.1:40123",
         "secret_id": "AKIDx", "secret_key": "k/+=", "token": "session-token", "timestamp": 1551113065,
         "params": {"SecretIdList": ["AKID1", "AKID2"]}},
        {"cloud": "tencent", "service": "cam", "version": "2019-01-16", "action": "DescribeSubAccounts", "host": "cam.tencentcloudapi.com",
         "secret_id": "AKIDx", "secret_key": "密钥", "timestamp": 1700000000,
         "params": {"FilterSubAccountUin": [100001, 100002], "Name": "未命名"}}
    ]);
    let answers = run_sdk(&cases);
    for (case, answer) in cases.as_array().unwrap().iter().zip(&answers) {
        let headers = &answer["headers"];
        let body = answer["body"].as_str().unwrap();
        let host = case["host"].as_str().unwrap();
        let req = tc3::Request {
            host,
            service: "cam",
            content_type: headers["Content-Type"].as_str().unwrap(),
            timestamp: case["timestamp"].as_i64().unwrap(),
            payload: body.as_bytes(),
        };
        // The SDK's content type is the one we send.
        assert_eq!(req.content_type, tc3::JSON);
        let token = case.get("token").map(|t| Secret::new(t.as_str().unwrap()));
        let ours = tc3::sign(
            &req,
            case["action"].as_str().unwrap(),
            case["version"].as_str().unwrap(),
            None,
            case["secret_id"].as_str().unwrap(),
            &Secret::new(case["secret_key"].as_str().unwrap()),
            token.as_ref(),
        );
        for (name, value) in &ours {
            assert_eq!(
                headers[name.as_str()].as_str(),
                Some(value.as_str()),
                "header {name} of case {case}"
            );
        }
    }
}
