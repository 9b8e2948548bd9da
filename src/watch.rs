//! Decides *when* the folder is rescanned: on file events (debounced), on an optional
//! poll interval, and when the folder itself appears, disappears or is replaced.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::Notify;
use tokio::time::{interval, sleep_until, timeout, Instant, MissedTickBehavior};
use tracing::{debug, warn};

use crate::reload::Reloader;

#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    pub debounce: Duration,
    /// Zero: rescan on events only.
    pub poll_interval: Duration,
}

/// How often the folder's own identity is checked; one `stat`, so idle cost stays negligible.
const FOLDER_CHECK: Duration = Duration::from_secs(1);
/// A steady stream of events still gets a rescan this often.
const MAX_DEBOUNCE: Duration = Duration::from_secs(1);
/// Poll interval used when the OS cannot watch the folder and none was set.
const FALLBACK_POLL: Duration = Duration::from_secs(5);

/// Runs forever: an initial scan, then a rescan after every burst of changes.
pub async fn run(dir: PathBuf, mut reloader: Reloader, options: WatchOptions) {
    let changed = Arc::new(Notify::new());
    let mut folder = FolderWatch::default();
    let mut poll_interval = options.poll_interval;
    folder.refresh(&dir, &changed, &mut poll_interval);
    reloader = rescan(reloader).await;

    let mut folder_check = interval(FOLDER_CHECK);
    folder_check.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut next_poll = (!poll_interval.is_zero()).then(|| Instant::now() + poll_interval);
    loop {
        tokio::select! {
            _ = changed.notified() => {}
            _ = folder_check.tick() => {
                if !folder.refresh(&dir, &changed, &mut poll_interval) {
                    continue;
                }
            }
            _ = sleep_until(next_poll.unwrap_or_else(far_future)), if next_poll.is_some() => {}
        }
        // Debounce: wait for quiet, but not for ever.
        let deadline = Instant::now() + MAX_DEBOUNCE;
        while Instant::now() < deadline {
            if timeout(options.debounce, changed.notified()).await.is_err() {
                break;
            }
        }
        reloader = rescan(reloader).await;
        next_poll = (!poll_interval.is_zero()).then(|| Instant::now() + poll_interval);
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

async fn rescan(mut reloader: Reloader) -> Reloader {
    tokio::task::spawn_blocking(move || {
        reloader.rescan();
        reloader
    })
    .await
    .expect("rescan panicked")
}

/// The OS watch on the folder, re-made whenever the folder is (re)created.
#[derive(Default)]
struct FolderWatch {
    /// Device and inode of the folder being watched; `None` while it does not exist.
    identity: Option<(u64, u64)>,
    watcher: Option<RecommendedWatcher>,
}

impl FolderWatch {
    /// Re-establishes the watch if the folder changed identity; returns whether it did.
    fn refresh(&mut self, dir: &Path, changed: &Arc<Notify>, poll_interval: &mut Duration) -> bool {
        let identity = std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()));
        if identity == self.identity {
            return false;
        }
        debug!(dir = %dir.display(), ?identity, "report folder changed identity");
        self.identity = identity;
        self.watcher = None;
        if identity.is_some() {
            match watch(dir, Arc::clone(changed)) {
                Ok(watcher) => self.watcher = Some(watcher),
                Err(error) => {
                    if poll_interval.is_zero() {
                        *poll_interval = FALLBACK_POLL;
                    }
                    warn!(dir = %dir.display(), %error, poll_interval = ?*poll_interval, "cannot watch the report folder (inotify unavailable or out of watches?); polling instead");
                }
            }
        }
        true
    }
}

fn watch(dir: &Path, changed: Arc<Notify>) -> notify::Result<RecommendedWatcher> {
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            // Our own reads of the files show up as access events; they change nothing.
            Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
            Ok(_) => changed.notify_one(),
            Err(error) => {
                warn!(%error, "file watch error; rescanning");
                changed.notify_one();
            }
        })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}
