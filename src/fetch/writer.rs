//! Puts a fetched report where the exporter reads it, whole or not at all: a hidden
//! temporary file in the same folder (the exporter ignores hidden files, and a rename only
//! stays atomic within one file system), written, given the report's generation time as its
//! modification time, synced, and renamed over the old report. The folder is synced too, so
//! the rename survives a crash. Any failure leaves the previous report in place.
//!
//! The temporary file's name is random and it is created new, never through a link: whoever
//! can write the folder cannot plant a link there that makes the fetcher write elsewhere.

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
    let file_name = format!("{name}.csv");
    write_atomically(dir, &file_name, content, Some(generated))?;
    Ok(dir.join(file_name))
}

/// Writes `content` to `dir/file_name` the same way, with the current time: the fetcher's
/// own hidden files.
pub fn write_file(dir: &Path, file_name: &str, content: &[u8]) -> io::Result<()> {
    write_atomically(dir, file_name, content, None)
}

fn write_atomically(
    dir: &Path,
    file_name: &str,
    content: &[u8],
    modified: Option<SystemTime>,
) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let target = dir.join(file_name);
    // 64 random bits: a name nobody can plant a link at in advance, and no two fetchers
    // sharing a folder by mistake write one file.
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        file_name.trim_start_matches('.'),
        super::api::random_hex(8)
    ));
    let mut file = create_new(&temporary)?;
    let result = write_synced(&mut file, content, modified)
        .and_then(|()| fs::rename(&temporary, &target))
        .and_then(|()| File::open(dir)?.sync_all());
    if result.is_err() {
        // Ours: create_new made it, so this never removes a file someone else put there.
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// A file that did not exist: `O_CREAT|O_EXCL` fails on anything already at `path`, a
/// link included, and `O_NOFOLLOW` says so twice.
fn create_new(path: &Path) -> io::Result<File> {
    // 0644: the exporter may run as another user (a sidecar with its own uid, systemd's
    // DynamicUser); a report holds user names and key ids, not secrets.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o644)
        .open(path)
}

fn write_synced(file: &mut File, content: &[u8], modified: Option<SystemTime>) -> io::Result<()> {
    file.write_all(content)?;
    // Set before the sync so the time is on disk with the data, and before the rename so the
    // exporter never sees the file with the wrong time.
    if let Some(modified) = modified {
        file.set_modified(modified)?;
    }
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
        // A report name the file system takes, whose temporary name (27 bytes longer) is
        // past its 255-byte limit: the write fails beside the old report, as a full disk or
        // a read-only mount would.
        let name = "a".repeat(240);
        let path = dir.path().join(format!("{name}.csv"));
        fs::write(&path, b"last good").unwrap();
        assert!(write_report(dir.path(), &name, b"new", generated()).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"last good");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn links_planted_at_the_old_temporary_name_lead_nowhere() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, b"not the fetcher's").unwrap();
        let folder = dir.path().join("reports");
        fs::create_dir(&folder).unwrap();
        // The name the fetcher used before (process id), as a link out, and a file beside it.
        let pid = std::process::id();
        std::os::unix::fs::symlink(&victim, folder.join(format!(".a.csv.{pid}.tmp"))).unwrap();
        fs::write(folder.join(format!(".b.csv.{pid}.tmp")), b"planted").unwrap();
        for name in ["a", "b"] {
            let path = write_report(&folder, name, b"user,arn\n", generated()).unwrap();
            let metadata = fs::symlink_metadata(&path).unwrap();
            assert!(metadata.file_type().is_file(), "{name}.csv is not a link");
            assert_eq!(fs::read(&path).unwrap(), b"user,arn\n");
        }
        assert_eq!(fs::read(&victim).unwrap(), b"not the fetcher's");
        assert_eq!(
            fs::read(folder.join(format!(".b.csv.{pid}.tmp"))).unwrap(),
            b"planted"
        );
        // A link at the very name the fetcher picks is refused, not followed.
        let at = folder.join(".c.csv.x.tmp");
        std::os::unix::fs::symlink(&victim, &at).unwrap();
        assert_eq!(
            create_new(&at).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(fs::read(&victim).unwrap(), b"not the fetcher's");
    }
}
