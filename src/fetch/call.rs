//! One API call as every provider we call without an SDK makes it: paced, sent, its answer
//! read by the provider, recorded in [`ApiCalls`] under its result, and retried with backoff
//! while the answer is throttled. The provider supplies only what its API makes it do: how to
//! sign and send (`send`) and what an answer means (its [`Reply`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{ApiCalls, FailureReason, FetchError, CALL_NOT_READY, CALL_SUCCESS};

/// What one answer of the API says.
pub enum Reply<T> {
    /// The documented answer.
    Done(T),
    /// "Not yet" or "gone": expected, and handled by the caller (counted as `not_ready`).
    NotReady(ApiError),
    /// An error answer: its code and message, already scrubbed of credentials.
    Failed(ApiError),
}

/// An error answer of the API.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub reason: FailureReason,
    pub code: String,
    pub message: String,
}

/// How a provider retries throttled answers within one call.
#[derive(Clone, Copy, Debug)]
pub struct Retries {
    /// Further tries of a throttled call (0: the fetch loop's attempts retry instead).
    pub throttled: u32,
    /// The first wait; it doubles with each further try, up to 8 s.
    pub base: Duration,
}

/// Makes one call: waits for `pacer`'s turn, then `send()`s it until it is not throttled or
/// the retries are spent. Every answer is recorded under `action`. `Ok(Reply::Failed)`: the
/// API answered an error the caller decides about; `Err`: no usable answer (recorded too).
pub async fn call<T, F, Fut>(
    calls: &ApiCalls,
    pacer: Option<&Pacer>,
    retries: Retries,
    action: &'static str,
    mut send: F,
) -> Result<Reply<T>, FetchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Reply<T>, FetchError>>,
{
    let mut tries = 0;
    loop {
        if let Some(pacer) = pacer {
            pacer.wait(action).await;
        }
        let reply = send().await;
        let result = match &reply {
            Ok(Reply::Done(_)) => CALL_SUCCESS,
            Ok(Reply::NotReady(_)) => CALL_NOT_READY,
            Ok(Reply::Failed(e)) => e.reason.as_str(),
            Err(e) => e.reason.as_str(),
        };
        calls.record(action, result);
        match reply {
            Ok(Reply::Failed(e))
                if e.reason == FailureReason::Throttled && tries < retries.throttled =>
            {
                let wait = (retries.base * 2u32.pow(tries)).min(Duration::from_secs(8));
                tracing::debug!(action, ?wait, code = %e.code, "throttled; backing off");
                tokio::time::sleep(wait).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Paces calls within a rate per action, as APIs that limit each action on its own (Tencent
/// CAM: 20 a second) ask: a token bucket per action holding one token, refilled at the rate
/// less a tenth. One token, not a burst: a burst on top of a full second's calls is what gets
/// throttled. Each call of an action is let go at least an interval after the previous one
/// was *let go* (not after its planned turn), so a task woken late by a busy machine delays
/// those after it instead of bunching with them; the tenth is for the way from here to the
/// API, where calls sent evenly do not arrive evenly.
pub struct Pacer {
    interval: Duration,
    /// Per action, when its last call was let go.
    last: std::sync::Mutex<HashMap<&'static str, Arc<Mutex<Option<Instant>>>>>,
}

impl Pacer {
    /// Fewer than `per_second` calls of one action in any second.
    pub fn new(per_second: u32) -> Pacer {
        Pacer {
            interval: Duration::from_millis(1100) / per_second.max(1),
            last: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a call of `action` keeps within the rate, and takes its turn.
    pub async fn wait(&self, action: &'static str) {
        let bucket = Arc::clone(
            self.last
                .lock()
                .expect("the pacer's map is never left poisoned")
                .entry(action)
                .or_default(),
        );
        // Held while waiting: the calls of one action go one after another.
        let mut last = bucket.lock().await;
        if let Some(previous) = *last {
            tokio::time::sleep_until(previous + self.interval).await;
        }
        *last = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_pacer_spaces_one_actions_calls_and_leaves_others_alone() {
        let pacer = Pacer::new(20);
        let start = Instant::now();
        for _ in 0..21 {
            pacer.wait("ListAccessKeys").await;
        }
        // 21 calls: the first at once, then one every 55 ms (50 ms and a tenth).
        assert_eq!(start.elapsed(), Duration::from_millis(1100));
        let other = Instant::now();
        pacer.wait("DescribeSafeAuthFlagColl").await;
        assert_eq!(
            other.elapsed(),
            Duration::ZERO,
            "another action has its own bucket"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_answers_are_retried_and_every_answer_recorded() {
        let calls = ApiCalls::default();
        let mut answers = vec![
            Ok(Reply::Done(7)),
            Ok(Reply::Failed(ApiError {
                reason: FailureReason::Throttled,
                code: "RequestLimitExceeded".into(),
                message: String::new(),
            })),
        ];
        let retries = Retries {
            throttled: 3,
            base: Duration::from_millis(250),
        };
        let reply = call(&calls, None, retries, "ListUsers", || {
            let next = answers.pop().unwrap();
            async move { next }
        })
        .await
        .unwrap();
        assert!(matches!(reply, Reply::Done(7)));
        assert_eq!(calls.count("ListUsers", "throttled"), 1);
        assert_eq!(calls.count("ListUsers", CALL_SUCCESS), 1);
    }
}
