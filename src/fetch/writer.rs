//! Puts a fetched report where the exporter reads it, whole or not at all: a hidden
//! temporary file in the same folder (the exporter ignores hidden files, and a rename only
//! stays atomic within one file system), written, given the report's generation time as its
//! modification time, synced, and renamed over the old report. The folder is synced too, so
//! the rename survives a crash. Any failure leaves the previous report in place.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Writes `content` to `dir/NAME.csv` atomically with mtime `generated`; returns the path.
pub fn write_report(
    dir: &Path,
    name: &str,
    content: &[u8],
    generated: SystemTime,
) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let target = dir.join(format!("{name}.csv"));
    // The process id keeps two fetchers sharing a folder by mistake from writing one file.
    let temporary = dir.join(format!(".{name}.csv.{}.tmp", std::process::id()));
    let result = write_synced(&temporary, content, generated)
        .and_then(|()| fs::rename(&temporary, &target))
        .and_then(|()| File::open(dir)?.sync_all());
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map(|()| target)
}

fn write_synced(path: &Path, content: &[u8], generated: SystemTime) -> io::Result<()> {
    // 0644: the exporter may run as another user (a sidecar with its own uid, systemd's
    // DynamicUser); a report holds user names and key ids, not secrets.
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)?;
    file.write_all(content)?;
    // Set before the sync so the time is on disk with the data, and before the rename so the
    // exporter never sees the file with the wrong time.
    file.set_modified(generated)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn generated() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_764_000_000)
    }

    #[test]
    fn writes_bytes_and_generation_time() {
        let dir = tempfile::tempdir().unwrap();
        // CRLF and a byte that is not UTF-8: written as they came.
        let content = b"user,id\r\nroot,123456789012\r\n\xef";
        let path = write_report(dir.path(), "123456789012", content, generated()).unwrap();
        assert_eq!(path, dir.path().join("123456789012.csv"));
        assert_eq!(fs::read(&path).unwrap(), content);
        let metadata = fs::metadata(&path).unwrap();
        assert_eq!(metadata.modified().unwrap(), generated());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(metadata.permissions().mode() & 0o777, 0o644);
        // Nothing left behind but the report.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["123456789012.csv"]);
    }

    #[test]
    fn replaces_the_old_report_and_creates_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("reports");
        write_report(&folder, "a", b"old", generated()).unwrap();
        let later = generated() + Duration::from_secs(3600);
        let path = write_report(&folder, "a", b"new", later).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), later);
    }

    #[test]
    fn a_failed_write_keeps_the_last_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_report(dir.path(), "a", b"last good", generated()).unwrap();
        // A folder where the temporary file would go makes the write fail after the old
        // report exists, as a full disk or a read-only mount would.
        let blocker = dir
            .path()
            .join(format!(".a.csv.{}.tmp", std::process::id()));
        fs::create_dir(&blocker).unwrap();
        fs::write(blocker.join("x"), b"").unwrap();
        assert!(write_report(dir.path(), "a", b"new", generated()).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"last good");
    }
}
