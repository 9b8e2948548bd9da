//! The fake AWS API's SigV4 verifier (tests/cloud_fakes/sigv4.rs) is what proves the
//! fetcher signs correctly, so it is checked itself: against AWS's published examples and
//! against botocore, AWS's Python SDK, signing the same requests. And it must refuse.
//!
//! Needs the test Python (tests/requirements.txt in .venv/, as scripts/test.sh installs it, or
//! CREDENTIAL_REPORT_TEST_PYTHON); without it the botocore test fails and says how to get it.

use crate::cloud_fakes::sigv4::{verify, Request};
use crate::cloud_fakes::sigv4_suite::SUITE;
use serde_json::{json, Value};

const SUITE_KEY_ID: &str = "AKIDEXAMPLE";
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// A signed request as the suite writes it: request line, `Name:value` headers, blank line, body.
fn parse(text: &str) -> Request {
    let (head, body) = text.split_once("\n\n").unwrap();
    let mut lines = head.lines();
    let mut request_line = lines.next().unwrap().split(' ');
    let method = request_line.next().unwrap().to_owned();
    let target = request_line.next().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    Request {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

fn suite_secret(id: &str) -> Option<String> {
    (id == SUITE_KEY_ID).then(|| SUITE_SECRET.to_owned())
}

#[test]
fn accepts_aws_published_test_suite() {
    for (name, text) in SUITE {
        let request = parse(text);
        let signed = verify(&request, suite_secret, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(signed.service, "service", "{name}");
        assert_eq!(signed.amz_date, "20150830T123600Z", "{name}");
    }
}

/// The IAM example of AWS's "Signature Version 4 signing process" documentation:
/// ListUsers at 2015-08-30T12:36:00Z, signature 5d672d79….
#[test]
fn accepts_aws_published_iam_example() {
    let request = Request {
        method: "GET".to_owned(),
        path: "/".to_owned(),
        query: "Action=ListUsers&Version=2010-05-08".to_owned(),
        headers: vec![
            ("content-type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned()),
            ("host".to_owned(), "iam.amazonaws.com".to_owned()),
            ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
            ("authorization".to_owned(), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7".to_owned()),
        ],
        body: Vec::new(),
    };
    let signed = verify(&request, suite_secret, None).unwrap();
    assert_eq!(
        (signed.region.as_str(), signed.service.as_str()),
        ("us-east-1", "iam")
    );
}

#[test]
fn refuses_tampered_requests_wrong_secrets_and_old_dates() {
    let (_, text) = SUITE
        .iter()
        .find(|(n, _)| *n == "post-x-www-form-urlencoded-parameters")
        .unwrap();
    let good = parse(text);
    assert!(verify(&good, suite_secret, None).is_ok());

    let mut body = good.clone();
    body.body = b"Param1=value2".to_vec();
    assert!(
        verify(&body, suite_secret, None).is_err(),
        "a changed body passed"
    );

    let mut header = good.clone();
    header.headers.retain(|(n, _)| n != "content-type");
    header
        .headers
        .push(("content-type".to_owned(), "text/plain".to_owned()));
    assert!(
        verify(&header, suite_secret, None).is_err(),
        "a changed signed header passed"
    );

    let (_, text) = SUITE
        .iter()
        .find(|(n, _)| *n == "get-vanilla-query-order-key-case")
        .unwrap();
    let mut query = parse(text);
    query.query = "Param2=value2&Param1=value0".to_owned();
    assert!(
        verify(&query, suite_secret, None).is_err(),
        "a changed query passed"
    );

    assert!(verify(&good, |_| Some("not-the-secret".to_owned()), None).is_err());
    assert!(
        verify(&good, |_| None, None).is_err(),
        "an unknown key id passed"
    );
    let now = jiff::Timestamp::now().as_second();
    let error = verify(&good, suite_secret, Some(now)).unwrap_err();
    assert!(error.contains("15 minutes"), "{error}");

    let (_, text) = SUITE
        .iter()
        .find(|(n, _)| *n == "get-vanilla-with-session-token")
        .unwrap();
    let mut unsigned_token = parse(text);
    for (name, value) in &mut unsigned_token.headers {
        if name == "authorization" {
            *value = value.replace(
                "SignedHeaders=host;x-amz-date;x-amz-security-token",
                "SignedHeaders=host;x-amz-date",
            );
        }
    }
    assert!(
        verify(&unsigned_token, suite_secret, None).is_err(),
        "an unsigned session token passed"
    );
}

/// The requests the fetcher makes (IAM and STS query calls, with and without a session
/// token) plus query-string cases, signed by botocore now; the verifier must accept them all.
#[test]
fn accepts_what_botocore_signs() {
    let form = "application/x-www-form-urlencoded; charset=utf-8";
    let cases = json!([
        {"method": "POST", "url": "http://127.0.0.1:4566/", "headers": {"Content-Type": form},
         "body": "Action=GenerateCredentialReport&Version=2010-05-08",
         "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "region": "us-east-1", "service": "iam"},
        {"method": "POST", "url": "https://iam.amazonaws.com/", "headers": {"Content-Type": form},
         "body": "Action=GetCredentialReport&Version=2010-05-08",
         "access_key_id": "ASIAIOSFODNN7EXAMPLE", "secret": "secret+with/slashes=",
         "token": "FwoGZXIvYXdzEJr//////////wEaDExAmPlE+token=", "region": "us-east-1", "service": "iam"},
        {"method": "POST", "url": "https://sts.amazonaws.com/", "headers": {"Content-Type": form},
         "body": "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Freader&RoleSessionName=credential-report-exporter&DurationSeconds=900",
         "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "region": "us-east-1", "service": "sts"},
        {"method": "GET", "url": "https://iam.amazonaws.com/?Version=2010-05-08&Action=ListUsers&PathPrefix=%2Fdivision%20a%2F",
         "headers": {}, "body": "",
         "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "region": "us-east-1", "service": "iam"},
    ]);
    let signed: Vec<Value> =
        serde_json::from_value(crate::python::run_script("sigv4_botocore.py", &cases)).unwrap();
    assert_eq!(signed.len(), cases.as_array().unwrap().len());
    let now = jiff::Timestamp::now().as_second();
    for (case, signed) in cases.as_array().unwrap().iter().zip(&signed) {
        let url = case["url"].as_str().unwrap();
        let rest = url.split_once("://").unwrap().1;
        let (host, target) = rest.split_at(rest.find('/').unwrap());
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, String)> = signed["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h[0].as_str().unwrap().to_ascii_lowercase(),
                    h[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        // What the HTTP client adds from the URL.
        headers.push(("host".to_owned(), host.to_owned()));
        let request = Request {
            method: case["method"].as_str().unwrap().to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: case["body"].as_str().unwrap().as_bytes().to_vec(),
        };
        let secret = case["secret"].as_str().unwrap().to_owned();
        let key_id = case["access_key_id"].as_str().unwrap();
        let verified = verify(
            &request,
            |id| (id == key_id).then(|| secret.clone()),
            Some(now),
        )
        .unwrap_or_else(|e| panic!("botocore's signature for {url} refused: {e}"));
        assert_eq!(verified.service, case["service"].as_str().unwrap());
        if case.get("token").is_some() {
            assert_eq!(
                request.header("x-amz-security-token"),
                case["token"].as_str()
            );
        }
        // And the verifier is not simply accepting: one changed byte of the body fails.
        let mut tampered = request.clone();
        tampered.body.push(b'x');
        assert!(verify(
            &tampered,
            |id| (id == key_id).then(|| secret.clone()),
            Some(now)
        )
        .is_err());
    }
}
