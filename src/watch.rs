//! Decides *when* the folder is rescanned: on file events (debounced), on an optional
//! poll interval, and when the folder itself appears, disappears or is replaced.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, warn};

use crate::reload::Reloader;

#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    pub debounce: Duration,
    /// Zero: rescan on events only.
    pub poll_interval: Duration,
}

/// How often the folder's own identity is checked (one `stat`) while it is missing or not
/// watched, so that it is found soon after it appears.
const FOLDER_CHECK: Duration = Duration::from_secs(1);
/// The same while the folder is watched: its removal arrives as an event, so this only
/// catches changes that send none (a mount over it). Rare, so an idle exporter sleeps:
/// each wake-up costs a few tens of microseconds of CPU.
const WATCHED_FOLDER_CHECK: Duration = Duration::from_secs(10);
/// A steady stream of events still gets a rescan this often.
const MAX_DEBOUNCE: Duration = Duration::from_secs(1);
/// Poll interval used when the OS cannot watch the folder and none was set.
const FALLBACK_POLL: Duration = Duration::from_secs(5);

/// Runs until the runtime shuts down: an initial scan, then a rescan after every burst of
/// changes.
pub async fn run(dir: PathBuf, reloader: Reloader, options: WatchOptions) {
    let mut folder = FolderWatch::new(dir, options.poll_interval);
    folder.refresh();
    let Some(mut reloader) = rescan(reloader).await else {
        return;
    };

    let mut next_poll = folder.next_poll();
    loop {
        tokio::select! {
            _ = folder.changed.notified() => {}
            _ = sleep_until(Instant::now() + folder.check_interval()) => {}
            _ = sleep_until(next_poll.unwrap_or_else(Instant::now)), if next_poll.is_some() => {}
        }
        let folder_replaced = folder.refresh();
        let polled = next_poll.is_some_and(|at| at <= Instant::now());
        if !folder_replaced && !polled && !folder.take_event() {
            continue;
        }
        // Debounce: wait for quiet, but not for ever.
        let deadline = Instant::now() + MAX_DEBOUNCE;
        while Instant::now() < deadline {
            if timeout(options.debounce, folder.changed.notified())
                .await
                .is_err()
            {
                break;
            }
        }
        folder.refresh();
        folder.take_event();
        let Some(next) = rescan(reloader).await else {
            return;
        };
        reloader = next;
        next_poll = folder.next_poll();
    }
}

/// `None` when the runtime is shutting down (a failed start or a signal) and cancelled
/// the rescan: there is nothing left to watch for, and no reason to panic.
async fn rescan(mut reloader: Reloader) -> Option<Reloader> {
    let task = tokio::task::spawn_blocking(move || {
        reloader.rescan();
        reloader
    });
    match task.await {
        Ok(reloader) => Some(reloader),
        Err(error) if error.is_cancelled() => None,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// The OS watch on the folder, re-made whenever the folder is (re)created.
struct FolderWatch {
    dir: PathBuf,
    poll_interval: Duration,
    /// Woken by the watcher on every relevant event.
    changed: Arc<Notify>,
    /// Set by the watcher on every relevant event, so a wake-up can tell events from ticks.
    event_seen: Arc<AtomicBool>,
    /// Set by the watcher when the folder itself went away; its watch died with it.
    lost: Arc<AtomicBool>,
    /// Device and inode of the folder being watched; `None` while it does not exist.
    identity: Option<(u64, u64)>,
    watcher: Option<RecommendedWatcher>,
}

impl FolderWatch {
    fn new(dir: PathBuf, poll_interval: Duration) -> Self {
        FolderWatch {
            dir,
            poll_interval,
            changed: Arc::new(Notify::new()),
            event_seen: Arc::new(AtomicBool::new(false)),
            lost: Arc::new(AtomicBool::new(false)),
            identity: None,
            watcher: None,
        }
    }

    fn check_interval(&self) -> Duration {
        match self.watcher {
            Some(_) => WATCHED_FOLDER_CHECK,
            None => FOLDER_CHECK,
        }
    }

    fn next_poll(&self) -> Option<Instant> {
        (!self.poll_interval.is_zero()).then(|| Instant::now() + self.poll_interval)
    }

    fn take_event(&self) -> bool {
        self.event_seen.swap(false, Ordering::Relaxed)
    }

    /// Re-establishes the watch if the folder appeared, vanished or was replaced (a new
    /// inode, or the same inode reused after its watch died); returns whether it did.
    fn refresh(&mut self) -> bool {
        let identity = std::fs::metadata(&self.dir)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        let lost = self.lost.swap(false, Ordering::Relaxed);
        if identity == self.identity && !lost {
            return false;
        }
        debug!(dir = %self.dir.display(), ?identity, lost, "report folder changed");
        self.identity = identity;
        self.watcher = None;
        if identity.is_some() {
            match self.watch() {
                Ok(watcher) => self.watcher = Some(watcher),
                Err(error) => {
                    if self.poll_interval.is_zero() {
                        self.poll_interval = FALLBACK_POLL;
                    }
                    warn!(dir = %self.dir.display(), %error, poll_interval = ?self.poll_interval, "cannot watch the report folder (inotify unavailable or out of watches?); polling instead");
                }
            }
        }
        true
    }

    fn watch(&self) -> notify::Result<RecommendedWatcher> {
        let (changed, event_seen, lost) = (
            Arc::clone(&self.changed),
            Arc::clone(&self.event_seen),
            Arc::clone(&self.lost),
        );
        let dir = self.dir.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                match event {
                    // Our own reads of the files show up as access events; they change nothing.
                    Ok(event) if matches!(event.kind, EventKind::Access(_)) => return,
                    Ok(event) => {
                        if matches!(event.kind, EventKind::Remove(_)) && event.paths.contains(&dir)
                        {
                            lost.store(true, Ordering::Relaxed);
                        }
                    }
                    Err(error) => warn!(%error, "file watch error; rescanning"),
                }
                event_seen.store(true, Ordering::Relaxed);
                changed.notify_one();
            })?;
        watcher.watch(&self.dir, RecursiveMode::NonRecursive)?;
        Ok(watcher)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_that_appears_is_noticed_once() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("reports");
        let mut folder = FolderWatch::new(dir.clone(), Duration::ZERO);
        assert!(!folder.refresh(), "absent and still absent");
        std::fs::create_dir(&dir).unwrap();
        assert!(folder.refresh(), "appeared");
        assert!(folder.watcher.is_some());
        assert!(!folder.refresh(), "unchanged");
    }
}
