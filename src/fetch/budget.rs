//! One large fetch at a time, process-wide (issue 27). Each attempt may hold up to [`SMALL`]
//! bytes of answers, lists and report by itself; to hold more it takes the process's one
//! gate, and keeps it until its report is written or the attempt fails. So with
//! `--organization` the accounts fetched at once hold one account's bound (docs/security.md)
//! and a little each beside it, not `--fetch.concurrency` times that bound, whatever the
//! clouds answer; the small reports of most accounts are still fetched side by side.
//!
//! The gate is the attempt's, not the call's: an attempt that holds it and reads its next
//! page, or makes several calls at once, passes without waiting for itself. Its [`Claim`] is
//! found through a task-local value, so the readers of answers, the AWS SDK's connector
//! among them, need no parameter for it. A wait happens inside the call and the attempt, so
//! their timeouts bound it.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Mutex, Semaphore, SemaphorePermit};

/// What an attempt may hold without the gate: a report of about 5,000 users, and some 25
/// times the 200-user reports most accounts have.
pub const SMALL: usize = 1 << 20;

static GATE: Semaphore = Semaphore::const_new(1);

tokio::task_local! {
    static CLAIM: Arc<Claim>;
}

/// One attempt's hold on the gate, from the first time it holds more than [`SMALL`] until it
/// is dropped (after its report is written, or when the attempt failed).
pub struct Claim {
    account: String,
    permit: Mutex<Option<SemaphorePermit<'static>>>,
}

impl Claim {
    pub fn new(account: &str) -> Arc<Claim> {
        Arc::new(Claim {
            account: account.to_owned(),
            permit: Mutex::new(None),
        })
    }

    /// Runs `attempt` with this claim as the one [`hold`] finds.
    pub async fn within<T>(self: &Arc<Claim>, attempt: impl std::future::Future<Output = T>) -> T {
        CLAIM.scope(Arc::clone(self), attempt).await
    }

    /// Whether this attempt holds the gate.
    #[cfg(test)]
    fn holds(&self) -> bool {
        self.permit.try_lock().is_ok_and(|p| p.is_some())
    }
}

/// Before the current attempt holds `bytes` in all (an answer as it grows, a report as its
/// pages join): past [`SMALL`], waits for the gate, unless the attempt holds it already.
/// Outside an attempt (the organization's listing, which runs alone) nothing waits.
pub async fn hold(bytes: usize) {
    if bytes <= SMALL {
        return;
    }
    let Ok(claim) = CLAIM.try_with(Arc::clone) else {
        return;
    };
    // Locked while waiting, so the attempt's other calls wait for this one, not for the gate.
    let mut permit = claim.permit.lock().await;
    if permit.is_some() {
        return;
    }
    let started = Instant::now();
    let granted = match GATE.try_acquire() {
        Ok(granted) => granted,
        Err(_) => {
            tracing::info!(account = %claim.account, bytes, limit = SMALL, "waiting for another account's large answer or report to be written: one account at a time holds more than the limit");
            GATE.acquire().await.expect("the gate is never closed")
        }
    };
    tracing::debug!(account = %claim.account, bytes, waited_seconds = started.elapsed().as_secs_f64(), "holding the gate for a large answer or report");
    *permit = Some(granted);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_attempt_at_a_time_holds_more_than_small_and_passes_its_own_gate() {
        let (first, second) = (Claim::new("first"), Claim::new("second"));
        first
            .within(async {
                hold(SMALL).await;
                assert!(!first.holds(), "up to SMALL needs no gate");
                hold(SMALL + 1).await;
                // Again, and from two calls at once: the attempt's own gate does not stop it.
                tokio::join!(hold(40 << 20), hold(2 << 20));
            })
            .await;
        assert!(first.holds());
        let waiting = tokio::spawn({
            let second = Arc::clone(&second);
            async move { second.within(hold(SMALL + 1)).await }
        });
        // Small holds pass while another attempt holds the gate.
        second.within(hold(SMALL)).await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the second waits for the first");
        drop(first);
        waiting.await.unwrap();
        assert!(second.holds());
        // Outside an attempt nothing waits, even while the gate is held.
        hold(1 << 30).await;
    }
}
