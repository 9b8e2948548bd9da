//! Alibaba Cloud's V3 request signature, ACS3-HMAC-SHA256, as its "V3 request structure and
//! signature" document specifies; checked against that document's example and the Python SDK.

use super::{hex, hmac_sha256, percent_encode, sha256_hex, Secret};

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// What the signature covers. Header names may be in any case; every header given is signed.
pub struct Request<'a> {
    pub method: &'a str,
    /// `/` for RPC-style APIs such as IMS and STS.
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    /// The hex SHA-256 of the body, as sent in `x-acs-content-sha256`.
    pub payload_sha256: &'a str,
}

/// Parameters sorted by name, names and values RFC 3986-encoded, `&`-joined.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request and the `SignedHeaders` list.
pub fn canonical_request(req: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let path = req
        .path
        .split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        if path.is_empty() { "/" } else { &path },
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        req.payload_sha256
    );
    (canonical, signed_headers)
}

/// The `Authorization` header's value.
pub fn authorization(req: &Request<'_>, access_key_id: &str, secret: &Secret) -> String {
    let (canonical, signed_headers) = canonical_request(req);
    let string_to_sign = format!("{ALGORITHM}\n{}", sha256_hex(canonical.as_bytes()));
    let signature = hex(&hmac_sha256(
        secret.expose().as_bytes(),
        string_to_sign.as_bytes(),
    ));
    format!("{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}")
}

/// One RPC-style call (parameters in the query, as IMS and STS take them).
pub struct RpcCall<'a> {
    pub method: &'a str,
    /// `host[:port]`, exactly as the `Host` header will carry it.
    pub host: &'a str,
    pub action: &'a str,
    pub version: &'a str,
    pub query: &'a [(String, String)],
    pub body: &'a [u8],
    /// ISO 8601 UTC, `2023-10-26T10:22:32Z`.
    pub date: &'a str,
    /// Unique per request: the service refuses a nonce seen within 15 minutes (replay guard).
    pub nonce: &'a str,
}

/// Every header the call must carry, `Authorization` included (the `Host` header too, which the
/// HTTP client must send unchanged).
pub fn sign_rpc(
    call: &RpcCall<'_>,
    access_key_id: &str,
    secret: &Secret,
    security_token: Option<&Secret>,
) -> Vec<(String, String)> {
    let payload_sha256 = sha256_hex(call.body);
    let mut headers = vec![
        ("host".to_owned(), call.host.to_owned()),
        ("x-acs-action".to_owned(), call.action.to_owned()),
        ("x-acs-version".to_owned(), call.version.to_owned()),
        ("x-acs-date".to_owned(), call.date.to_owned()),
        ("x-acs-signature-nonce".to_owned(), call.nonce.to_owned()),
        ("x-acs-content-sha256".to_owned(), payload_sha256.clone()),
    ];
    if let Some(token) = security_token {
        headers.push(("x-acs-security-token".to_owned(), token.expose().to_owned()));
    }
    let auth = authorization(
        &Request {
            method: call.method,
            path: "/",
            query: call.query,
            headers: &headers,
            payload_sha256: &payload_sha256,
        },
        access_key_id,
        secret,
    );
    headers.push(("authorization".to_owned(), auth));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The worked example of Alibaba Cloud's "V3 request structure and signature" document
    /// (ECS RunInstances, fixed date and nonce, `YourAccessKeyId` / `YourAccessKeySecret`).
    #[test]
    fn matches_the_documents_worked_example() {
        let query = q(&[
            ("RegionId", "cn-shanghai"),
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
        ]);
        let headers = sign_rpc(
            &RpcCall {
                method: "POST",
                host: "ecs.cn-shanghai.aliyuncs.com",
                action: "RunInstances",
                version: "2014-05-26",
                query: &query,
                body: b"",
                date: "2023-10-26T10:22:32Z",
                nonce: "3156853299f313e23d1673dc12e1703d",
            },
            "YourAccessKeyId",
            &Secret::new("YourAccessKeySecret"),
            None,
        );
        let get = |name: &str| headers.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(
            get("x-acs-content-sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let (canonical, _) = canonical_request(&Request {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers[..6],
            payload_sha256: &get("x-acs-content-sha256"),
        });
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            get("authorization"),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;\
             x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn a_session_token_is_signed() {
        let headers = sign_rpc(
            &RpcCall {
                method: "POST",
                host: "ims.aliyuncs.com",
                action: "GetCredentialReport",
                version: "2019-08-15",
                query: &[],
                body: b"",
                date: "2026-11-25T00:00:00Z",
                nonce: "n",
            },
            "id",
            &Secret::new("s"),
            Some(&Secret::new("token")),
        );
        let auth = &headers.last().unwrap().1;
        assert!(auth.contains(";x-acs-security-token;"), "{auth}");
    }

    #[test]
    fn query_is_sorted_by_encoded_name_and_encoded() {
        assert_eq!(
            canonical_query(&q(&[("b", "x y"), ("a", "*"), ("NextToken", "a/b=")])),
            "NextToken=a%2Fb%3D&a=%2A&b=x%20y"
        );
    }
}
