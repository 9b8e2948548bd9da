//! Tencent Cloud's API 3.0 request signature, TC3-HMAC-SHA256, as its "Signature v3" document
//! specifies; checked against that document's example and the Python SDK.

use super::{hex, hmac_sha256, sha256_hex, Secret};

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The content type of a POST with a JSON body, exactly as the official SDKs send and sign it.
pub const JSON: &str = "application/json";

/// What the signature covers: a POST to `/` with no query, signing `content-type` and `host`
/// (as the official SDKs do).
pub struct Request<'a> {
    /// `host[:port]`, exactly as the `Host` header will carry it.
    pub host: &'a str,
    /// The product, first label of the real endpoint: `cam` for cam.tencentcloudapi.com.
    pub service: &'a str,
    pub content_type: &'a str,
    /// Unix seconds, sent as `X-TC-Timestamp`; the service refuses one five minutes off.
    pub timestamp: i64,
    pub payload: &'a [u8],
}

/// The day of the credential scope: the UTC date of the timestamp (not the local one, or calls
/// fail around midnight, as the document warns).
pub fn scope_date(timestamp: i64) -> String {
    jiff::Timestamp::from_second(timestamp)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "1970-01-01".to_owned())
}

pub fn canonical_request(req: &Request<'_>) -> String {
    format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        req.content_type.trim().to_ascii_lowercase(),
        req.host.trim().to_ascii_lowercase(),
        sha256_hex(req.payload)
    )
}

pub fn string_to_sign(req: &Request<'_>) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}/{}/tc3_request\n{}",
        req.timestamp,
        scope_date(req.timestamp),
        req.service,
        sha256_hex(canonical_request(req).as_bytes())
    )
}

/// The `Authorization` header's value.
pub fn authorization(req: &Request<'_>, secret_id: &str, secret_key: &Secret) -> String {
    let date = scope_date(req.timestamp);
    let k_date = hmac_sha256(
        format!("TC3{}", secret_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    let k_service = hmac_sha256(&k_date, req.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    let signature = hex(&hmac_sha256(&k_signing, string_to_sign(req).as_bytes()));
    format!(
        "{ALGORITHM} Credential={secret_id}/{date}/{}/tc3_request, SignedHeaders=content-type;host, Signature={signature}",
        req.service
    )
}

/// Every header one API call carries, `Authorization` included (and `Host`, which the HTTP
/// client must send unchanged).
#[allow(clippy::too_many_arguments)]
pub fn sign(
    req: &Request<'_>,
    action: &str,
    version: &str,
    region: Option<&str>,
    secret_id: &str,
    secret_key: &Secret,
    token: Option<&Secret>,
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Host".to_owned(), req.host.to_owned()),
        ("Content-Type".to_owned(), req.content_type.to_owned()),
        ("X-TC-Action".to_owned(), action.to_owned()),
        ("X-TC-Version".to_owned(), version.to_owned()),
        ("X-TC-Timestamp".to_owned(), req.timestamp.to_string()),
    ];
    if let Some(region) = region {
        headers.push(("X-TC-Region".to_owned(), region.to_owned()));
    }
    if let Some(token) = token {
        headers.push(("X-TC-Token".to_owned(), token.expose().to_owned()));
    }
    headers.push((
        "Authorization".to_owned(),
        authorization(req, secret_id, secret_key),
    ));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Tencent Cloud's "Signature v3" document: CVM DescribeInstances,
    /// timestamp 1551113065, SecretKey `Gu5t9xGARNpq86cd98joQYCN3EXAMPLE`, and its payload byte
    /// for byte (with the `\u` escapes). Its content type carries `; charset=utf-8`.
    #[test]
    fn matches_the_documents_worked_example() {
        let payload = br#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
        let req = Request {
            host: "cvm.tencentcloudapi.com",
            service: "cvm",
            content_type: "application/json; charset=utf-8",
            timestamp: 1551113065,
            payload,
        };
        assert_eq!(
            sha256_hex(payload),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            sha256_hex(canonical_request(&req).as_bytes()),
            "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            authorization(
                &req,
                "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                &Secret::new("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE")
            ),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, \
             SignedHeaders=content-type;host, \
             Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn the_scope_date_is_utc() {
        // 00:44 on the 26th in Beijing, still the 25th in UTC (the document's own warning).
        assert_eq!(scope_date(1551113065), "2019-02-25");
    }

    #[test]
    fn a_session_token_travels_as_x_tc_token() {
        let req = Request {
            host: "cam.tencentcloudapi.com",
            service: "cam",
            content_type: JSON,
            timestamp: 1,
            payload: b"{}",
        };
        let h = sign(
            &req,
            "ListUsers",
            "2019-01-16",
            None,
            "id",
            &Secret::new("k"),
            Some(&Secret::new("tok")),
        );
        assert!(h.iter().any(|(k, v)| k == "X-TC-Token" && v == "tok"));
    }
}
