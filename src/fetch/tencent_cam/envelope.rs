//! Tencent Cloud API 3.0's request envelope: a JSON body POSTed to `/`, signed with
//! TC3-HMAC-SHA256, answered with HTTP 200 and `{"Response": {...}}`, whose `Error` (code and
//! message) says when the call failed.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::super::api::{json_error, Answer};
use super::super::call::{ApiError, Reply};
use super::super::credentials::Keys;
use super::super::sign::{tc3, Known};
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
///
/// Decoded straight into `T`, in two passes over the bytes (the error, then the rest), never
/// into a tree of JSON values: one of a 100 MB page took 4.4 GB, as the fields `T` does not
/// name are skipped unread.
pub fn read<T: DeserializeOwned>(
    action: &str,
    answer: Answer,
    known: &Known,
) -> Result<Reply<T>, FetchError> {
    if answer.status >= 500 {
        return Err(FetchError::new(
            FailureReason::Server,
            format!("{action}: HTTP {}", answer.status),
        ));
    }
    #[derive(Deserialize)]
    struct Envelope<R> {
        #[serde(rename = "Response")]
        response: Option<R>,
    }
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "Error")]
        error: Option<ErrorBody>,
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(rename = "Code", default, deserialize_with = "text")]
        code: String,
        #[serde(rename = "Message", default, deserialize_with = "text")]
        message: String,
    }
    let not_documented = |e: serde_json::Error| {
        FetchError::invalid(
            action,
            format!(
                "HTTP {}: the answer is not the documented JSON: {}",
                answer.status,
                json_error(&e)
            ),
        )
    };
    let head = serde_json::from_slice::<Envelope<Head>>(&answer.body).map_err(not_documented)?;
    let Some(head) = head.response else {
        return Err(FetchError::invalid(
            action,
            format!("HTTP {}: the answer has no Response object", answer.status),
        ));
    };
    if let Some(error) = head.error {
        let code = known.scrub(&error.code);
        let e = ApiError {
            reason: classify(&code),
            message: known.scrub(&error.message),
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
    serde_json::from_slice::<Envelope<T>>(&answer.body)
        .map_err(not_documented)?
        .response
        .map(Reply::Done)
        .ok_or_else(|| FetchError::invalid(action, "the answer has no Response object"))
}

/// A string field, or "" when the answer puts something else there (an error's code and
/// message are reported, not judged).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_unit<E: de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<String, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(String::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<String, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(String::new())
        }
    }
    d.deserialize_any(Text)
}

/// A number CAM writes as a JSON number or a string of digits; `None` for anything else,
/// which is skipped unread, whatever its size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Num(pub Option<u64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(u64::try_from(v).ok()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse().ok()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Num, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of at most `N` entries; more is an answer that is not the documented one (CAM
/// answers the page size asked for, 50 or 10), refused before it is held.
pub fn at_most<'de, const N: usize, T, D>(d: D) -> Result<Vec<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    struct Bounded<const N: usize, T>(std::marker::PhantomData<T>);
    impl<'de, const N: usize, T: Deserialize<'de>> Visitor<'de> for Bounded<N, T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "a list of at most {N} entries")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = a.next_element()? {
                if out.len() == N {
                    return Err(de::Error::invalid_length(N + 1, &self));
                }
                out.push(entry);
            }
            Ok(out)
        }
    }
    d.deserialize_any(Bounded::<N, T>(std::marker::PhantomData))
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
        let none = Known {
            secrets: vec![],
            key_ids: vec![],
        };
        let gone = read::<IgnoredAny>(
            "ListAccessKeys",
            answer(r#"{"Response":{"Error":{"Code":"ResourceNotFound.UserNotExist","Message":"m"},"RequestId":"r"}}"#),
            &none,
        )
        .unwrap();
        assert!(matches!(gone, Reply::NotReady(_)));
        let failed = read::<IgnoredAny>(
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
