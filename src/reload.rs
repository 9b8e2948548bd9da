//! The report folder → the current snapshot. A rescan lists the folder, decides which
//! file each report comes from, re-reads only files whose version changed, and swaps in
//! a new snapshot whole. Failed versions never replace good data.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;
use globset::Glob;
use jiff::Timestamp;
use regex::Regex;
use tracing::{debug, error, info, warn};

use crate::cores::on_every_core;
use crate::markup::printable;
use crate::report::{ReadError, ReadOptions, ReportError};
use crate::snapshot::{FolderState, ReportData, ReportState, Snapshot};

/// Which files in the folder are reports, and what each is called.
#[derive(Debug, Clone)]
pub struct Selection {
    /// A file-name glob, such as `*.csv`; see [`FileGlob`].
    pub glob: FileGlob,
    /// Where set, the report name is this regex's `report` group (or first group) in the
    /// file name, and files it does not match are ignored.
    pub name_pattern: Option<Regex>,
}

impl Selection {
    /// The report a file belongs to, or `None` if the file is not a report. The name is
    /// shown everywhere (the `report` label, the page, the log), so its control characters
    /// and bidirectional overrides are escaped ([`printable`]); files whose names escape
    /// alike are one report, the newest file winning, as under a name pattern.
    pub fn report_name(&self, file_name: &str) -> Option<String> {
        let name = self.raw_report_name(file_name)?;
        Some(printable(&name).into_owned())
    }

    fn raw_report_name(&self, file_name: &str) -> Option<String> {
        // Hidden files are editors' and kubelet's scratch files, never reports.
        if file_name.starts_with('.') || !self.glob.is_match(file_name) {
            return None;
        }
        match &self.name_pattern {
            None => Some(
                Path::new(file_name)
                    .file_stem()?
                    .to_string_lossy()
                    .into_owned(),
            ),
            Some(pattern) => {
                let captures = pattern.captures(file_name)?;
                let name = captures.name("report").or_else(|| captures.get(1))?;
                Some(name.as_str().to_owned()).filter(|name| !name.is_empty())
            }
        }
    }
}

/// A `--report.glob`: `*`, `?` (one character, not one byte), `[abc]` and `{a,b}`,
/// matched against whole file names. globset parses it and translates it to a regular
/// expression, which matches in time linear in the name whatever the pattern (the
/// backtracking matcher before it took seconds on `*a*a*a*a*a*a*a*b`).
#[derive(Debug, Clone)]
pub struct FileGlob {
    pattern: String,
    regex: regex::bytes::Regex,
}

impl FileGlob {
    pub fn new(pattern: &str) -> Result<FileGlob, String> {
        let glob = Glob::new(pattern).map_err(|error| error.to_string())?;
        let regex = regex::bytes::Regex::new(&one_character_wildcards(glob.regex()))
            .map_err(|error| format!("{pattern:?}: {error}"))?;
        Ok(FileGlob {
            pattern: pattern.to_owned(),
            regex,
        })
    }

    pub fn is_match(&self, file_name: &str) -> bool {
        self.regex.is_match(file_name.as_bytes())
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

/// globset writes its regex in byte mode, where its `?` (a bare `.`) is one *byte*, so
/// `r-?.csv` missed `r-甲.csv`. Outside escapes and classes, each bare `.` becomes one
/// UTF-8 character, `(?u:.)`; `*` (`.*`) matches the same names either way.
fn one_character_wildcards(regex: &str) -> String {
    let mut out = String::with_capacity(regex.len() + 16);
    let mut chars = regex.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                out.extend(chars.next());
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '.' if !in_class => out.push_str("(?u:.)"),
            c => out.push(c),
        }
    }
    out
}

/// How many of the chosen files to read, and how.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// At most this many reports are read, the first by name; the rest are skipped, so a
    /// folder of 50,000 files cannot flood a scrape.
    pub max_files: usize,
    pub read: ReadOptions,
    /// Keep each user for per-user metrics; without them only aggregates are built.
    pub keep_users: bool,
    /// Larger files are refused before they are read.
    pub max_bytes: u64,
}

/// Why a version of a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the file: {0}")]
    Io(#[from] io::Error),
    #[error("the file is {size} bytes, more than --report.max-bytes={max}")]
    TooLarge { size: u64, max: u64 },
    /// Found while reading: the file's size said less than it held (a file still growing,
    /// or one whose size means nothing, as in /proc).
    #[error("the file holds more than --report.max-bytes={max} bytes")]
    GrewTooLarge { max: u64 },
    #[error("not a regular file but {kind}; only regular files are read")]
    NotAFile { kind: &'static str },
    /// A link (or a link on its path) leads out of the report folder, found at the open
    /// (a link swapped in since the listing). Neither its content nor where it leads is
    /// shown: the folder is a boundary.
    #[error("its real path is outside the report folder {folder:?}; it is not read (a link in the folder may only point inside it, as Kubernetes' ..data links do)")]
    OutsideFolder { folder: PathBuf },
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// What identifies one version of a file: a rename over it, a rewrite in place or a
/// kubelet symlink swap each change at least one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    pub(crate) path: PathBuf,
    size: u64,
    pub(crate) modified: Option<SystemTime>,
    device: u64,
    inode: u64,
    changed_ns: (i64, i64),
    file_type: fs::FileType,
    /// The real path of the folder the file was listed in, which its own real path must
    /// lie inside; `None` for a file named on its own (to `check`).
    within: Option<Arc<Path>>,
}

impl Version {
    /// A file named on its own: read wherever it is.
    pub(crate) fn of(path: PathBuf, metadata: &fs::Metadata) -> Self {
        Version {
            path,
            size: metadata.len(),
            modified: metadata.modified().ok(),
            device: metadata.dev(),
            inode: metadata.ino(),
            changed_ns: (metadata.ctime(), metadata.ctime_nsec()),
            file_type: metadata.file_type(),
            within: None,
        }
    }

    /// A file listed in the folder whose real path is `folder`: read only if its own real
    /// path is inside it.
    fn in_folder(path: PathBuf, metadata: &fs::Metadata, folder: &Arc<Path>) -> Self {
        Version {
            within: Some(Arc::clone(folder)),
            ..Version::of(path, metadata)
        }
    }
}

/// Readies a snapshot to be served.
pub type Prepare = Box<dyn Fn(&Arc<Snapshot>) + Send>;

pub struct Reloader {
    dir: PathBuf,
    selection: Selection,
    options: LoadOptions,
    /// The snapshot served, written here alone (so what a rescan starts from and compares
    /// with is what it last stored); see [`Reloader::served`].
    served: Arc<ArcSwap<Snapshot>>,
    /// Runs on each new snapshot before it is served: the server caches its bodies.
    prepare: Prepare,
    /// The version of each report's file last read, successfully or not.
    versions: HashMap<String, Version>,
    /// What the last listing found.
    folder: FolderState,
    /// The reports beyond `--report.max-files` at the last listing, each logged once.
    skipped: BTreeMap<String, Version>,
}

impl Reloader {
    pub fn new(dir: PathBuf, selection: Selection, options: LoadOptions, prepare: Prepare) -> Self {
        Reloader {
            dir,
            selection,
            options,
            served: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
            prepare,
            versions: HashMap::new(),
            folder: FolderState::Readable,
            skipped: BTreeMap::new(),
        }
    }

    /// The snapshot served, for the routes to read.
    pub fn served(&self) -> Arc<ArcSwap<Snapshot>> {
        Arc::clone(&self.served)
    }

    /// Brings the snapshot up to date with the folder. Blocking: run it off the async runtime.
    pub fn rescan(&mut self) {
        let current = self.served.load_full();
        let winners = match list_reports(&self.dir, &self.selection) {
            Ok(winners) => {
                self.folder = FolderState::Readable;
                winners
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if !current.reports.is_empty() || !current.scanned || current.folder.is_readable() {
                    warn!(dir = %self.dir.display(), "report folder does not exist (yet); waiting for it");
                }
                self.folder = FolderState::Missing;
                BTreeMap::new()
            }
            Err(error) => {
                // Keep serving what we have: a transient fault must not empty /metrics. A
                // file may yet be replaced by a folder (it is followed when it is).
                let (folder, what) = match error.kind() {
                    io::ErrorKind::NotADirectory => (
                        FolderState::NotAFolder,
                        "--report.dir is a file, not a folder; waiting for a folder at that path",
                    ),
                    _ => (
                        FolderState::Unreadable(error.to_string()),
                        "cannot list the report folder",
                    ),
                };
                if folder != current.folder || !current.scanned {
                    let kept_reports = current.reports.len();
                    error!(dir = %self.dir.display(), %error, kept_reports, "{what}");
                }
                self.folder = folder;
                self.publish(current.reports.clone());
                return;
            }
        };
        let (winners, skipped) = first_by_name(winners, self.options.max_files);
        for (name, version) in &skipped {
            if !self.skipped.contains_key(name) {
                warn!(report = %name, file = %version.path.display(), max_files = self.options.max_files, "more report files than --report.max-files; this one is not read");
            }
        }
        self.skipped = skipped;
        let winners_count = winners.len();
        self.versions.retain(|name, _| winners.contains_key(name));
        let changed: Vec<(String, Version)> = winners
            .into_iter()
            .filter(|(name, version)| self.versions.get(name) != Some(version))
            .collect();
        let mut reports: BTreeMap<String, Arc<ReportState>> = current
            .reports
            .iter()
            .filter(|(name, _)| self.versions.contains_key(*name))
            .map(|(name, state)| (name.clone(), Arc::clone(state)))
            .collect();
        for name in (current.reports.keys())
            .filter(|name| !reports.contains_key(*name) && !self.skipped.contains_key(*name))
        {
            info!(report = %name, "report file removed; its series are gone");
        }
        let started = Instant::now();
        let loaded = load_all(&changed, &self.options);
        if !changed.is_empty() {
            let failed = loaded.iter().filter(|(result, _)| result.is_err()).count();
            info!(
                reports = winners_count,
                read = changed.len(),
                failed,
                seconds = started.elapsed().as_secs_f64(),
                "report folder rescanned"
            );
        }
        for ((name, version), (result, seconds)) in changed.into_iter().zip(loaded) {
            let previous = reports.get(&name).map(|state| (**state).clone());
            let state = next_state(&name, &version, previous, result, seconds);
            reports.insert(name.clone(), Arc::new(state));
            self.versions.insert(name, version);
        }
        self.publish(reports);
    }

    fn publish(&self, reports: BTreeMap<String, Arc<ReportState>>) {
        let current = self.served.load();
        let unchanged = current.scanned
            && current.folder == self.folder
            && current.files_skipped == self.skipped.len()
            && current.reports.len() == reports.len()
            && current
                .reports
                .iter()
                .zip(&reports)
                .all(|((a, x), (b, y))| a == b && Arc::ptr_eq(x, y));
        if unchanged {
            // Keep the snapshot, and with it the bodies encoded from it: a rescan that
            // found nothing new (a poll, an unrelated file) costs the next scrape nothing.
            return;
        }
        let next = Arc::new(Snapshot {
            reports,
            scanned: true,
            folder: self.folder.clone(),
            files_skipped: self.skipped.len(),
        });
        (self.prepare)(&next);
        self.served.store(next);
    }
}

/// Each report name with the file it comes from now: where several files map to one
/// name, the newest wins, so dated downloads side by side are never counted twice.
pub(crate) fn list_reports(
    dir: &Path,
    selection: &Selection,
) -> io::Result<BTreeMap<String, Version>> {
    let mut winners: BTreeMap<String, Version> = BTreeMap::new();
    // The boundary every report's real path must lie inside: the folder's own real path
    // (the folder may itself be reached through a link).
    let folder: Arc<Path> = fs::canonicalize(dir)?.into();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(name) = selection.report_name(&file_name.to_string_lossy()) else {
            continue;
        };
        let path = entry.path();
        let version = match listed(&path, &folder) {
            Ok(Some(version)) => version,
            Ok(None) => continue,
            Err(error) => {
                debug!(file = %path.display(), %error, "skipping a file that vanished or cannot be inspected");
                continue;
            }
        };
        let newer = |old: &Version| (version.modified, &version.path) > (old.modified, &old.path);
        if winners.get(&name).is_none_or(newer) {
            winners.insert(name, version);
        }
    }
    Ok(winners)
}

/// The version of a listed file, or `None` where it is no file to read (a folder, a FIFO).
/// A link is followed, as Kubernetes volume files are, only once its real path is known to
/// lie inside the folder: a link that leads out, or nowhere, is listed with its own
/// metadata and refused, so that neither the time of `/etc/shadow` nor whether a path
/// exists is shown for it.
fn listed(path: &Path, folder: &Arc<Path>) -> io::Result<Option<Version>> {
    let own = fs::symlink_metadata(path)?;
    let metadata = match own.file_type().is_symlink() {
        false => own,
        true => match fs::canonicalize(path) {
            Ok(real) if real.starts_with(folder) => fs::metadata(real)?,
            _ => return Ok(Some(Version::in_folder(path.to_owned(), &own, folder))),
        },
    };
    Ok(metadata
        .is_file()
        .then(|| Version::in_folder(path.to_owned(), &metadata, folder)))
}

/// The first `max` reports by name, and the rest.
fn first_by_name(
    mut reports: BTreeMap<String, Version>,
    max: usize,
) -> (BTreeMap<String, Version>, BTreeMap<String, Version>) {
    let rest = match reports.keys().nth(max).cloned() {
        Some(first_left_out) => reports.split_off(&first_left_out),
        None => BTreeMap::new(),
    };
    (reports, rest)
}

type Loaded = (Result<ReportData, LoadError>, f64);

/// Reads the changed files, one per core at a time.
fn load_all(changed: &[(String, Version)], options: &LoadOptions) -> Vec<Loaded> {
    on_every_core(changed, |(_, version)| load_timed(version, options))
}

fn load_timed(version: &Version, options: &LoadOptions) -> Loaded {
    let started = Instant::now();
    let result = load(version, options);
    (result, started.elapsed().as_secs_f64())
}

/// Reads one version of a report.
fn load(version: &Version, options: &LoadOptions) -> Result<ReportData, LoadError> {
    let (mut file, generated) = read_version(version, options.max_bytes)?;
    let path = version.path.clone();
    let (read, keep) = (&options.read, options.keep_users);
    let (data, summary) = ReportData::read(path, &mut file, read, generated, keep)
        .map_err(|error| file.refusal(error))?;
    for cell_error in &summary.first_cell_errors {
        warn!(file = %version.path.display(), "unreadable cell, treated as absent: {cell_error}");
    }
    if summary.cell_errors > summary.first_cell_errors.len() as u64 {
        warn!(
            file = %version.path.display(),
            cell_errors = summary.cell_errors,
            "more unreadable cells than logged; see credential_report_cell_errors"
        );
    }
    Ok(data)
}

/// One version of a file, opened to be read, and when its report was generated. Refused:
/// anything but a regular file, a file whose real path is outside its folder, and a file
/// whose size says more than `max_bytes` (the reading stops there whatever it said).
pub(crate) fn read_version(
    version: &Version,
    max_bytes: u64,
) -> Result<(ReportFile, Timestamp), LoadError> {
    // Refused before the open where the listing already tells: opening a FIFO waits for
    // a writer, and opening a device can act on it.
    if let Some(kind) = not_a_file(version.file_type) {
        return Err(LoadError::NotAFile { kind });
    }
    if version.size > max_bytes {
        return Err(LoadError::TooLarge {
            size: version.size,
            max: max_bytes,
        });
    }
    let (file, size) = open_inside(version)?;
    let file = read_file(file, size, max_bytes);
    // A downloaded report carries no generation time; its file's is the best there is
    // (the fetcher sets it to the provider's).
    let generated = (version.modified)
        .and_then(|modified| Timestamp::try_from(modified).ok())
        .unwrap_or_else(Timestamp::now);
    Ok((file, generated))
}

/// Opens a version's file if it is a regular file inside its folder, with its size.
///
/// What the folder's links point at is decided by whoever can write into the folder, so
/// the check is made on the file actually opened: its real path is found after the open,
/// and must name the same file (device and inode), or the file was swapped in between.
fn open_inside(version: &Version) -> Result<(fs::File, u64), LoadError> {
    use std::os::unix::fs::OpenOptionsExt;

    // Non-blocking, in case a FIFO took the file's place since: then the open returns at
    // once and the check below refuses it. Regular files ignore the flag.
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&version.path)?;
    let metadata = file.metadata()?;
    if let Some(kind) = not_a_file(metadata.file_type()) {
        return Err(LoadError::NotAFile { kind });
    }
    if let Some(folder) = &version.within {
        let real = fs::canonicalize(&version.path)?;
        let found = fs::metadata(&real)?;
        if (found.dev(), found.ino()) != (metadata.dev(), metadata.ino()) {
            return Err(LoadError::Io(io::Error::other(
                "the file was replaced while it was opened",
            )));
        }
        if !real.starts_with(folder) {
            return Err(LoadError::OutsideFolder {
                folder: folder.to_path_buf(),
            });
        }
    }
    Ok((file, metadata.len()))
}

/// What a link that does not lead to a file inside the folder is called: the same whether
/// it leads out or nowhere, so that the refusal tells nothing of what lies outside.
const LEADS_OUT: &str =
    "a link that leads outside the report folder, or to nothing (links are followed only inside it)";

/// What a file that is not a regular one is, for the refusal; `None` for a regular file.
fn not_a_file(file_type: fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    match () {
        _ if file_type.is_file() => None,
        _ if file_type.is_dir() => Some("a folder"),
        _ if file_type.is_fifo() => Some("a FIFO (named pipe)"),
        _ if file_type.is_char_device() => Some("a character device"),
        _ if file_type.is_block_device() => Some("a block device"),
        _ if file_type.is_socket() => Some("a socket"),
        // Listed with the link's own metadata, never its target's (see `listed`).
        _ if file_type.is_symlink() => Some(LEADS_OUT),
        _ => Some("a special file"),
    }
}

/// An open report file as the reader reads it, a chunk at a time. Never more than
/// `max_bytes` are read, whatever its size said: a file may grow while it is read, and some
/// (in /proc, on FUSE) say 0 and hold any amount.
pub(crate) struct ReportFile {
    file: fs::File,
    /// What the file's metadata said when it was opened.
    pub(crate) size: u64,
    /// Where reading has got to.
    at: u64,
    max_bytes: u64,
}

fn read_file(file: fs::File, size: u64, max_bytes: u64) -> ReportFile {
    ReportFile {
        file,
        size,
        at: 0,
        max_bytes,
    }
}

impl ReportFile {
    /// The refusal of a version whose reading failed with `error`: more than `max_bytes`,
    /// if the reading got there (the reader saw an error where the bytes stopped).
    pub(crate) fn refusal(&self, error: ReadError) -> LoadError {
        match (self.at > self.max_bytes, error) {
            (true, _) => LoadError::GrewTooLarge {
                max: self.max_bytes,
            },
            (false, ReadError::Io(error)) => LoadError::Io(error),
            (false, ReadError::Report(error)) => LoadError::Report(error),
        }
    }
}

impl io::Read for ReportFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte more than `max_bytes` tells a file of exactly that size from a larger one.
        let room = self.max_bytes.saturating_add(1).saturating_sub(self.at);
        let room = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let read = io::Read::read(&mut self.file, &mut buf[..room])?;
        self.at += read as u64;
        match self.at > self.max_bytes {
            true => Err(io::Error::other("more than --report.max-bytes")),
            false => Ok(read),
        }
    }
}

impl io::Seek for ReportFile {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        self.at = io::Seek::seek(&mut self.file, to)?;
        Ok(self.at)
    }
}

fn next_state(
    name: &str,
    version: &Version,
    previous: Option<ReportState>,
    result: Result<ReportData, LoadError>,
    seconds: f64,
) -> ReportState {
    let mut state = previous.unwrap_or_default();
    state.path = version.path.clone();
    state.file_modified = version.modified.and_then(|m| Timestamp::try_from(m).ok());
    state.last_reload_duration_seconds = seconds;
    match result {
        Ok(data) => {
            debug!(report = %name, file = %version.path.display(), users = data.rows, cell_errors = data.cell_errors, "report loaded");
            state.data = Some(Arc::new(data));
            state.up = true;
            state.last_error = None;
            state.last_success = Some(Timestamp::now());
            state.reloads_success += 1;
        }
        Err(error) => {
            let serving = if state.data.is_some() {
                "serving its last good version"
            } else {
                "no good version to serve yet"
            };
            error!(report = %name, file = %version.path.display(), %error, "report refused; {serving}");
            state.up = false;
            state.last_error = Some(error.to_string());
            state.reloads_failure += 1;
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(glob: &str, pattern: Option<&str>) -> Selection {
        Selection {
            glob: FileGlob::new(glob).unwrap(),
            name_pattern: pattern.map(|p| Regex::new(p).unwrap()),
        }
    }

    #[test]
    fn report_name_is_the_file_stem() {
        let csv = selection("*.csv", None);
        assert_eq!(csv.report_name("acme.csv").as_deref(), Some("acme"));
        assert_eq!(csv.report_name("acme.csv.tmp"), None);
        assert_eq!(csv.report_name(".acme.csv"), None);
        assert_eq!(csv.report_name("..data"), None);
    }

    #[test]
    fn name_pattern_groups_dated_downloads() {
        let dated = selection("*.csv", Some(r"^credential_report_(?P<report>\d+)_"));
        assert_eq!(
            dated
                .report_name("credential_report_1000123_20241101.csv")
                .as_deref(),
            Some("1000123")
        );
        assert_eq!(dated.report_name("notes.csv"), None);
        let first_group = selection("*.csv", Some(r"^(\w+)-\d{8}\.csv$"));
        assert_eq!(
            first_group.report_name("prod-20241101.csv").as_deref(),
            Some("prod")
        );
    }

    #[test]
    fn glob_matches_stars_and_question_marks() {
        let matches = |glob: &str, name: &str| FileGlob::new(glob).unwrap().is_match(name);
        assert!(matches("*.csv", "a.csv"));
        assert!(matches("report-??.csv", "report-01.csv"));
        assert!(!matches("report-??.csv", "report-1.csv"));
        assert!(matches("*", ""));
        assert!(!matches("*.csv", "a.csv.bak"));
        assert!(matches("{prod,staging}-*.csv", "staging-1.csv"));
    }

    #[test]
    fn question_mark_is_one_character_not_one_byte() {
        let glob = FileGlob::new("r-?.csv").unwrap();
        assert!(glob.is_match("r-甲.csv"));
        assert!(!glob.is_match("r-甲乙.csv"));
        assert!(FileGlob::new("甲-*.csv").unwrap().is_match("甲-1.csv"));
        assert!(FileGlob::new("[ab]-?.csv").unwrap().is_match("b-乙.csv"));
    }

    #[test]
    fn reading_stops_at_max_bytes_whatever_the_size_said() {
        use std::io::Read;

        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, &[b'x'; 100]).unwrap();
        let read = |max| {
            let file = file.try_clone().unwrap();
            // Told 0 bytes, as /proc files and some FUSE files say.
            let mut file = read_file(file, 0, max);
            io::Seek::rewind(&mut file).unwrap();
            let mut bytes = Vec::new();
            let read = file.read_to_end(&mut bytes);
            read.map(|_| bytes.len())
                .map_err(|e| file.refusal(e.into()))
        };
        assert!(matches!(read(99), Err(LoadError::GrewTooLarge { max: 99 })));
        assert_eq!(read(100).unwrap(), 100, "exactly max_bytes is read");
    }

    #[test]
    fn many_stars_do_not_backtrack() {
        // No clock: a backtracking matcher would never finish this (every way of sharing
        // 10,000 characters among seven stars), the regex crate's is linear in the name.
        let glob = FileGlob::new("*a*a*a*a*a*a*a*b").unwrap();
        assert!(!glob.is_match(&"a".repeat(10_000)));
    }
}
