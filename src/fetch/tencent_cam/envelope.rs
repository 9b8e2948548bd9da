//! Tencent Cloud API 3.0's request envelope: a JSON body POSTed to `/`, signed with
//! TC3-HMAC-SHA256, answered with HTTP 200 and `{"Response": {...}}`, whose `Error` (code and
//! message) says when the call failed.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::super::api::{json_error, Answer};
use super::super::call::{ApiError, Reply};
use super::super::credentials::Keys;
use super::super::sign::{scrub, tc3};
use super::super::{FailureReason, FetchError};

/// The signed headers of one call of `action` with `body` to `host`.
pub fn sign(
    host: &str,
    service: &str,
    version: &str,
    action: &str,
    body: &[u8],
    keys: &Keys,
) -> Vec<(String, String)> {
    let req = tc3::Request {
        host,
        service,
        content_type: tc3::JSON,
        timestamp: jiff::Timestamp::now().as_second(),
        payload: body,
    };
    tc3::sign(
        &req,
        action,
        version,
        None,
        &keys.id,
        &keys.secret,
        keys.token.as_ref(),
    )
}

/// What an answer says: the `Response` decoded as `T`, or its `Error`; a user who no longer
/// exists is [`Reply::NotReady`] (gone, for the caller to drop). `known` are the values to
/// scrub from the error's text.
pub fn read<T: DeserializeOwned>(
    action: &str,
    answer: Answer,
    known: &(Vec<&str>, Vec<&str>),
) -> Result<Reply<T>, FetchError> {
    if answer.status >= 500 {
        return Err(FetchError::new(
            FailureReason::Server,
            format!("{action}: HTTP {}", answer.status),
        ));
    }
    let mut envelope: Value = serde_json::from_slice(&answer.body).map_err(|e| {
        FetchError::invalid(
            action,
            format!(
                "HTTP {}: the answer is not JSON: {}",
                answer.status,
                json_error(&e)
            ),
        )
    })?;
    let Some(response) = envelope.get_mut("Response").map(Value::take) else {
        return Err(FetchError::invalid(
            action,
            format!("HTTP {}: the answer has no Response object", answer.status),
        ));
    };
    if let Some(error) = response.get("Error") {
        let text = |field: &str| {
            scrub(
                error.get(field).and_then(Value::as_str).unwrap_or(""),
                &known.0,
                &known.1,
            )
        };
        let code = text("Code");
        let e = ApiError {
            reason: classify(&code),
            message: text("Message"),
            code,
        };
        return Ok(match is_gone(&e.code) {
            true => Reply::NotReady(e),
            false => Reply::Failed(e),
        });
    }
    if !(200..300).contains(&answer.status) {
        return Err(FetchError::invalid(
            action,
            format!("HTTP {} without an error in the answer", answer.status),
        ));
    }
    serde_json::from_value::<T>(response)
        .map(Reply::Done)
        .map_err(|e| {
            FetchError::invalid(
                action,
                format!("the answer is not the documented JSON: {}", json_error(&e)),
            )
        })
}

/// The failure reason of an error code (Tencent answers errors with HTTP 200). STS says
/// "too many calls" as `InvalidParameter.OverLimit` (its errorcodes.py).
pub fn classify(code: &str) -> FailureReason {
    if code.starts_with("RequestLimitExceeded") || code == "InvalidParameter.OverLimit" {
        FailureReason::Throttled
    } else if code.starts_with("AuthFailure")
        || code.starts_with("UnauthorizedOperation")
        || code.starts_with("OperationDenied")
    {
        FailureReason::AccessDenied
    } else if code.starts_with("InternalError")
        || code.starts_with("ServiceUnavailable")
        || code.starts_with("FailedOperation")
    {
        FailureReason::Server
    } else {
        FailureReason::InvalidResponse
    }
}

/// The user asked about no longer exists (deleted since the lists were read): CAM's
/// `ResourceNotFound.UserNotExist`, `…UserNotExists` and `InvalidParameter.UserNotExist`
/// (tencentcloud-sdk-python-cam's errorcodes.py).
pub fn is_gone(code: &str) -> bool {
    matches!(
        code,
        "ResourceNotFound.UserNotExist"
            | "ResourceNotFound.UserNotExists"
            | "InvalidParameter.UserNotExist"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_reasons() {
        assert_eq!(classify("RequestLimitExceeded"), FailureReason::Throttled);
        assert_eq!(
            classify("RequestLimitExceeded.UinLimitExceeded"),
            FailureReason::Throttled
        );
        assert_eq!(
            classify("InvalidParameter.OverLimit"),
            FailureReason::Throttled
        );
        assert_eq!(
            classify("AuthFailure.SignatureFailure"),
            FailureReason::AccessDenied
        );
        assert_eq!(
            classify("UnauthorizedOperation"),
            FailureReason::AccessDenied
        );
        assert_eq!(classify("InternalError"), FailureReason::Server);
        assert_eq!(
            classify("InvalidParameter.SecretIdListLimit"),
            FailureReason::InvalidResponse
        );
        assert!(is_gone("ResourceNotFound.UserNotExist"));
        assert!(!is_gone("ResourceNotFound"));
    }

    #[test]
    fn a_gone_user_is_told_apart_from_a_failure() {
        let answer = |body: &str| Answer {
            status: 200,
            body: body.as_bytes().to_vec().into(),
        };
        let none = (vec![], vec![]);
        let gone = read::<Value>(
            "ListAccessKeys",
            answer(r#"{"Response":{"Error":{"Code":"ResourceNotFound.UserNotExist","Message":"m"},"RequestId":"r"}}"#),
            &none,
        )
        .unwrap();
        assert!(matches!(gone, Reply::NotReady(_)));
        let failed = read::<Value>(
            "ListAccessKeys",
            answer(
                r#"{"Response":{"Error":{"Code":"InternalError","Message":"m"},"RequestId":"r"}}"#,
            ),
            &none,
        )
        .unwrap();
        assert!(matches!(
            failed,
            Reply::Failed(ApiError {
                reason: FailureReason::Server,
                ..
            })
        ));
    }
}
