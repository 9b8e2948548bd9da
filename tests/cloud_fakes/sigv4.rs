//! An AWS Signature Version 4 verifier written from the specification, independent of the
//! SDK that signs: the fake AWS API recomputes every request's signature with it. Itself
//! checked against AWS's published example and against botocore (tests/fetch_aws_sigv4.rs).

use std::collections::BTreeMap;

use ring::{digest, hmac};

pub use super::Request;

/// What a verified request was signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub access_key_id: String,
    pub region: String,
    pub service: String,
    pub amz_date: String,
}

/// Verifies `request`'s Authorization header with the secret `secret_of` gives for its
/// access key id. `now` (Unix seconds) bounds the request's age to 15 minutes, as AWS does;
/// `None` skips that (for fixed published examples).
pub fn verify(
    request: &Request,
    secret_of: impl Fn(&str) -> Option<String>,
    now: Option<i64>,
) -> Result<Signed, String> {
    let authorization = request
        .header("authorization")
        .ok_or("no Authorization header")?;
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or("malformed Authorization")?;
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => return Err(format!("unknown Authorization part {key}")),
        }
    }
    let (credential, signed_headers, signature) = (
        credential.ok_or("no Credential")?,
        signed_headers.ok_or("no SignedHeaders")?,
        signature.ok_or("no Signature")?,
    );
    let scope_parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope_parts.as_slice() else {
        return Err(format!("malformed credential scope in {credential:?}"));
    };
    let amz_date = request.header("x-amz-date").ok_or("no X-Amz-Date")?;
    if amz_date.len() != 16 || !amz_date.starts_with(date) {
        return Err(format!(
            "X-Amz-Date {amz_date} does not match the scope date {date}"
        ));
    }
    if let Some(now) = now {
        let signed_at = parse_amz_date(amz_date)?;
        if (now - signed_at).abs() > 15 * 60 {
            return Err(format!(
                "X-Amz-Date {amz_date} is more than 15 minutes from now"
            ));
        }
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    if names != sorted || !names.contains(&"host") || !names.contains(&"x-amz-date") {
        return Err(format!(
            "SignedHeaders {signed_headers} must be sorted and hold host and x-amz-date"
        ));
    }
    if request.header("x-amz-security-token").is_some() && !names.contains(&"x-amz-security-token")
    {
        return Err("the session token is not signed".to_owned());
    }
    let secret = secret_of(access_key_id).ok_or_else(|| "unknown access key id".to_owned())?;

    let mut canonical = format!(
        "{}\n{}\n{}\n",
        request.method,
        canonical_path(&request.path),
        canonical_query(&request.query)
    );
    for name in &names {
        let values: Vec<&str> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            return Err(format!("signed header {name} is missing"));
        }
        let joined: Vec<String> = values.iter().map(|v| collapse_spaces(v)).collect();
        canonical.push_str(&format!("{name}:{}\n", joined.join(",")));
    }
    let payload_hash = match request.header("x-amz-content-sha256") {
        Some(hash) => {
            if hash != hex(digest::digest(&digest::SHA256, &request.body).as_ref()) {
                return Err("X-Amz-Content-Sha256 does not match the body".to_owned());
            }
            hash.to_owned()
        }
        None => hex(digest::digest(&digest::SHA256, &request.body).as_ref()),
    };
    canonical.push_str(&format!("\n{signed_headers}\n{payload_hash}"));

    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let mut key = format!("AWS4{secret}").into_bytes();
    for part in [*date, *region, *service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let expected = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    if expected != signature {
        return Err(format!(
            "signature mismatch; canonical request was:\n{canonical}"
        ));
    }
    Ok(Signed {
        access_key_id: access_key_id.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        amz_date: amz_date.to_owned(),
    })
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Each segment URI-encoded once (non-S3 services encode twice, but our paths are `/`
/// and plain names, which encoding leaves unchanged either way).
fn canonical_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    path.split('/')
        .map(|segment| uri_encode(&percent_decode(segment)))
        .collect::<Vec<_>>()
        .join("/")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: BTreeMap<(String, String), ()> = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.insert(
            (
                uri_encode(&percent_decode(key)),
                uri_encode(&percent_decode(value)),
            ),
            (),
        );
    }
    pairs
        .keys()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn uri_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_amz_date(text: &str) -> Result<i64, String> {
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[9..11],
        &text[11..13],
        &text[13..15]
    );
    iso.parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|e| format!("X-Amz-Date {text}: {e}"))
}
