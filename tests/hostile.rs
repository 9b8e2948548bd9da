//! The probes of a hostile report folder and hostile HTTP clients (docs/security.md), each
//! against the real binary on loopback, bounded in count and time: links out of the folder,
//! files with no end, wrong-password floods, clients that never read, and start-up faults.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{report_with_users, tencent_header, users_line, Exporter, BINARY};
use credential_report_exporter::report::Provider;

/// What no page, metric or log may ever hold: it is only in files outside the folder.
const SECRET: &str = "OUTSIDE-SECRET-7f3a9c";

/// Runs the binary with `args`, killing it after `limit`; `None` if it had to be killed.
fn run_for_at_most(args: &[&str], limit: Duration) -> Option<Output> {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// When the files outside the folder were modified: a time no refusal may show.
const OUTSIDE_TIME: u64 = 1_000_000_000;

/// A file whose real path is outside the report folder is not read, by a link to it or
/// through a linked folder; the refusal names the link and never the content, the real path
/// or the modification time of what it leads to, and a link to nothing reads the same as a
/// link to something. Kubernetes' `..data` links, which stay inside the folder, still work.
#[test]
fn links_out_of_the_folder_are_refused_and_never_quoted() {
    let outside = tempfile::tempdir().unwrap();
    // A line the reader would refuse as an unknown format, quoting its start, and a valid
    // report: neither may be read.
    let secret_line = format!("{SECRET},{SECRET},{SECRET}\n{SECRET}\n");
    fs::write(outside.path().join("secret.csv"), &secret_line).unwrap();
    let valid = report_with_users(3).replace("user", SECRET);
    fs::write(outside.path().join("valid.csv"), &valid).unwrap();
    for name in ["secret.csv", "valid.csv"] {
        let file = fs::File::options()
            .write(true)
            .open(outside.path().join(name));
        let at = std::time::UNIX_EPOCH + Duration::from_secs(OUTSIDE_TIME);
        file.unwrap().set_modified(at).unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    symlink(outside.path().join("secret.csv"), root.join("leak.csv")).unwrap();
    symlink(
        outside.path().join("valid.csv"),
        root.join("valid-leak.csv"),
    )
    .unwrap();
    symlink(outside.path(), root.join("linked-folder")).unwrap();
    symlink("linked-folder/secret.csv", root.join("via-folder.csv")).unwrap();
    // A path that does not exist, and a descriptor of whichever process reads the link.
    symlink(outside.path().join("nothing.csv"), root.join("ghost.csv")).unwrap();
    symlink("/proc/self/fd/0", root.join("fd.csv")).unwrap();
    let refused = ["leak", "valid-leak", "via-folder", "ghost", "fd"];
    // Kubernetes' layout: acme.csv -> ..data/acme.csv, ..data -> ..2026_…
    let timestamped = root.join("..2026_11_24_10_00_00.000000001");
    fs::create_dir(&timestamped).unwrap();
    fs::write(timestamped.join("acme.csv"), report_with_users(2)).unwrap();
    symlink(timestamped.file_name().unwrap(), root.join("..data")).unwrap();
    symlink("..data/acme.csv", root.join("acme.csv")).unwrap();

    let exporter = Exporter::start(root, &[]);
    exporter.wait_for_sample(&users_line("acme", 2));
    for name in refused {
        exporter.wait_for_sample(&format!("credential_report_up{{report=\"{name}\"}} 0"));
    }
    let metrics = exporter.metrics();
    let (_, _, page) = exporter.get("/", None);
    let (_, _, openmetrics) = exporter.get("/metrics", Some("application/openmetrics-text"));
    let logs = exporter.logs();
    for (what, text) in [
        ("metrics", &metrics),
        ("OpenMetrics", &openmetrics),
        ("status page", &page),
        ("log", &logs),
    ] {
        assert!(
            !text.contains(SECRET),
            "the {what} quotes an outside file:\n{text}"
        );
        assert!(!text.contains("OUTSIDE-SECRET"), "the {what}:\n{text}");
        let outside = outside.path().to_str().unwrap();
        for target in [outside, "/proc/self", "/dev/", "pipe:", "socket:"] {
            assert!(!text.contains(target), "the {what} shows {target}:\n{text}");
        }
    }
    // The same refusal, whatever the link leads to or whether it leads anywhere.
    let refusal = |name: &str| {
        let line = (logs.lines())
            .find(|line| line.contains("level=error") && line.contains(&format!("/{name}.csv")))
            .unwrap_or_else(|| panic!("no refusal naming {name}.csv:\n{logs}"));
        let error = line.split(" error=").nth(1).unwrap().to_owned();
        assert!(error.contains("outside the report folder"), "{line}");
        error
    };
    for name in refused {
        assert_eq!(refusal(name), refusal("leak"), "{name}");
        let modified =
            format!("credential_report_file_modified_timestamp_seconds{{report=\"{name}\"}} ");
        let seconds: f64 = (metrics.lines())
            .find_map(|line| line.strip_prefix(&modified))
            .map(|value| value.parse().unwrap())
            .unwrap_or_else(|| panic!("no file time for {name}"));
        assert!(
            (seconds - OUTSIDE_TIME as f64).abs() > 1.0,
            "{name}: the target's time"
        );
    }
    assert!(page.contains("outside the report folder"), "{page}");
}

/// A report of one line of megabytes is refused with at most a short, escaped start of it
/// in the log and on the page: neither grows with the file.
#[test]
fn a_huge_one_line_file_is_quoted_short() {
    let dir = tempfile::tempdir().unwrap();
    let cell = format!("{}\u{1b}[2J", "A".repeat(4 << 20));
    fs::write(
        dir.path().join("huge.csv"),
        format!("{cell},{cell},{cell}\n"),
    )
    .unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample("credential_report_up{report=\"huge\"} 0");
    let (_, _, page) = exporter.get("/", None);
    let logs = exporter.logs();
    let longest_run = |text: &str| text.split(|c| c != 'A').map(str::len).max().unwrap();
    assert!(longest_run(&logs) <= 120, "{}", longest_run(&logs));
    assert!(longest_run(&page) <= 120, "{}", longest_run(&page));
    assert!(page.len() < 20_000, "page of {} bytes", page.len());
    let refusal = logs.lines().find(|l| l.contains("huge.csv")).unwrap();
    assert!(refusal.len() < 1_000, "{refusal}");
    assert!(!logs.contains('\u{1b}') && !page.contains('\u{1b}'));
}

/// The address space a reading may take beyond the process's own (its threads' stacks and
/// allocator arenas, measured in each test): the reader holds a chunk of 256 KiB and a row
/// of at most 64 KiB, and room is left for one more allocator arena (64 MiB), which glibc
/// makes for a thread that did not have one (seen: 436 MiB at peak under a cap of 468).
/// Before issue 27, each shape below asked for more than this: 260 MB for the header of
/// commas, 16 bytes a field for a row of 8 Mi commas (192 MiB as its list doubled), 80
/// bytes a line for the blank lines when serving (1.3 GB), twice the line (128 MiB).
const READING_ROOM: u64 = 96 << 20;

/// The reader's hostile shapes, generated at sizes that are quick to write: (report name,
/// contents, what the refusal says).
fn hostile_shapes() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let header = tencent_header();
    let commas = ",".repeat(8 << 20) + "\n";
    vec![
        (
            "header-commas",
            (",".repeat(4_000_000) + "\n").into_bytes(),
            "line 1: more than 256 fields",
        ),
        (
            "comma-rows",
            format!("{header}\n{}", commas.repeat(2)).into_bytes(),
            "line 2: more than 256 fields",
        ),
        (
            "bare-newlines",
            vec![b'\n'; 16 << 20],
            "line 65537: no header in the first 65536 bytes",
        ),
        (
            "one-line",
            [vec![b'A'; 64 << 20], vec![b'\n']].concat(),
            "line 1: a row of more than 65536 bytes",
        ),
    ]
}

/// The peak address space of process `pid` so far, in bytes.
fn vm_peak(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmPeak:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// `prlimit`'s arguments capping a child's address space at `bytes`.
fn capped(bytes: u64) -> [String; 2] {
    [format!("--as={bytes}"), "--".to_owned()]
}

/// Each hostile shape is refused with its line and reason by the exporter running under a
/// cap on its address space of its own need with a folder of good reports plus
/// [`READING_ROOM`]: a reader that held the file, or reserved room from its lines, would
/// abort. The good report beside them is served throughout.
#[test]
fn hostile_shapes_are_refused_within_a_cap_on_memory() {
    let shapes = hostile_shapes();
    let flags = ["--report.max-bytes", "1GiB"];
    // The exporter's own need: the same number of files, all good.
    let baseline_dir = tempfile::tempdir().unwrap();
    for name in ["good"].into_iter().chain(shapes.iter().map(|s| s.0)) {
        let path = baseline_dir.path().join(format!("{name}.csv"));
        fs::write(path, report_with_users(3)).unwrap();
    }
    let baseline = Exporter::start(baseline_dir.path(), &flags);
    baseline.wait_for_sample(&users_line("one-line", 3));
    let cap = vm_peak(baseline.pid()) + READING_ROOM;
    drop(baseline);

    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("good.csv"), report_with_users(3)).unwrap();
    for (name, contents, _) in &shapes {
        fs::write(dir.path().join(format!("{name}.csv")), contents).unwrap();
    }
    let launcher = ["prlimit".to_owned()].into_iter().chain(capped(cap));
    let launcher: Vec<String> = launcher.collect();
    let launcher: Vec<&str> = launcher.iter().map(String::as_str).collect();
    let exporter = Exporter::spawn_via(&launcher, dir.path(), &flags);
    exporter.wait_for_sample(&users_line("good", 3));
    for (name, _, reason) in &shapes {
        exporter.wait_for_sample(&format!("credential_report_up{{report=\"{name}\"}} 0"));
        let logs = exporter.logs();
        let refused = logs.lines().any(|line| {
            line.contains("level=error")
                && line.contains(&format!("{name}.csv"))
                && line.contains(reason)
        });
        assert!(refused, "no refusal of {name} saying {reason:?}:\n{logs}");
    }
    assert_eq!(exporter.status("/-/healthy"), 200);
    let (_, _, page) = exporter.get("/", None);
    assert!(page.contains("more than 256 fields"), "{page}");
    eprintln!(
        "exporter capped at {} MiB: peak address space {} MiB",
        cap >> 20,
        vm_peak(exporter.pid()) >> 20
    );
}

/// `check` refuses each hostile shape with its line and reason under a cap on its address
/// space: the least a good report needs (found by halving) plus [`READING_ROOM`].
#[test]
fn check_refuses_hostile_shapes_within_a_cap_on_memory() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.csv");
    fs::write(&good, report_with_users(3)).unwrap();
    let check = |cap: u64, file: &std::path::Path| {
        Command::new("prlimit")
            .args(capped(cap))
            .args([BINARY, "check", "--report.max-bytes", "1GiB"])
            .arg(file)
            .output()
            .unwrap()
    };
    // The least address space, to 4 MiB, in which `check` reads the good report.
    let (mut fails, mut works) = (0u64, 4 << 30);
    while works - fails > 4 << 20 {
        let middle = (fails + works) / 2;
        match check(middle, &good).status.code() {
            Some(0 | 1) => works = middle,
            _ => fails = middle,
        }
    }
    let cap = works + READING_ROOM;
    for (name, contents, reason) in hostile_shapes() {
        let path = dir.path().join(format!("{name}.csv"));
        fs::write(&path, contents).unwrap();
        let output = check(cap, &path);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(reason), "{name}: {stderr}");
        fs::remove_file(&path).unwrap();
    }
    eprintln!(
        "check capped at {} MiB ({} MiB for a good report)",
        cap >> 20,
        works >> 20
    );
}

/// The resident peak of process `pid` so far, in bytes.
fn vm_hwm(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// The cell of `column` in each provider's rows that make the most users and keys a byte
/// can: one-letter names and ids, whatever makes a key (a SecretId; an AWS rotation date,
/// here unreadable; Alibaba's five `_exist`), every other cell empty.
fn tiny_cell(provider: Provider, column: &str) -> &'static str {
    match (provider, column) {
        (Provider::TencentCam, "AccountID" | "Username") => "u",
        (Provider::TencentCam, id) if id.ends_with("SecretId") => "k",
        (Provider::AwsIam, rotated) if rotated.starts_with("access_key") => {
            match rotated.ends_with("_last_rotated") {
                true => "x",
                false => "",
            }
        }
        (Provider::AlibabaRam, "user") => "u",
        (Provider::AlibabaRam, exist) if exist.contains("key") && exist.ends_with("_exist") => {
            "true"
        }
        _ => "",
    }
}

/// With per-user series on, the users kept from each provider's shortest rows (one-letter
/// cells; the most users and keys a byte can make) take less than the files: the exporter's
/// resident peak is at most that with small good reports plus 1.2 × the files' size (issue
/// 27; a user took 64 bytes and a key 40, five times a file of such rows). Rows of only
/// commas are no users, and refused as a file without any.
#[test]
fn users_of_the_shortest_rows_take_less_than_their_file() {
    const SIZE: usize = 1 << 20;
    let mut files = Vec::new();
    for provider in Provider::ALL {
        let header = provider.documented_header();
        let row = |cell: &dyn Fn(&str) -> &'static str| {
            header.split(',').map(cell).collect::<Vec<_>>().join(",") + "\n"
        };
        for (shape, row) in [
            ("letters", row(&|_| "x")),
            ("tiny", row(&|column| tiny_cell(provider, column))),
            ("commas", row(&|_| "")),
        ] {
            let rows = row.repeat(SIZE / row.len());
            files.push((format!("{provider}-{shape}"), format!("{header}\n{rows}")));
        }
    }
    // The exporter's own need: as many files, small and good.
    let baseline_dir = tempfile::tempdir().unwrap();
    for (name, _) in &files {
        let path = baseline_dir.path().join(format!("{name}.csv"));
        fs::write(path, report_with_users(3)).unwrap();
    }
    // Measured once ready (every file read), before any scrape: a scrape of a few hundred
    // thousand users' series takes memory of its own.
    let baseline = Exporter::start(baseline_dir.path(), &[]);
    let own = vm_hwm(baseline.pid());
    drop(baseline);

    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in &files {
        fs::write(dir.path().join(format!("{name}.csv")), contents).unwrap();
    }
    let size: usize = files.iter().map(|(_, contents)| contents.len()).sum();
    let exporter = Exporter::start(dir.path(), &[]);
    let peak = vm_hwm(exporter.pid());
    let logs = exporter.logs();
    let refused: Vec<&str> = (logs.lines())
        .filter(|line| line.contains("level=error"))
        .collect();
    assert_eq!(refused.len(), Provider::ALL.len(), "{logs}");
    for line in refused {
        assert!(line.contains("commas.csv") && line.contains("a header but no users"));
    }
    eprintln!(
        "{} MiB of the shortest rows: peak {} MiB, {} MiB with small reports",
        size >> 20,
        peak >> 20,
        own >> 20
    );
    assert!(
        peak <= own + size as u64 * 6 / 5,
        "peak {peak} for {size} bytes of rows, {own} without them"
    );
}

/// `/dev/zero` says it is 0 bytes long and never ends; only regular files are read.
#[test]
fn check_refuses_dev_zero_at_once() {
    let args = ["check", "--report.max-bytes", "1000000", "/dev/zero"];
    let started = Instant::now();
    let output = run_for_at_most(&args, Duration::from_secs(20)).expect("check ended");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a regular file but a character device"),
        "{stderr}"
    );
    eprintln!("check /dev/zero: exit 2 after {:?}", started.elapsed());
}

/// A FIFO would make a reader wait for a writer for ever.
#[test]
fn check_refuses_a_fifo_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.csv");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let started = Instant::now();
    let fifo = fifo.to_str().unwrap();
    let output = run_for_at_most(&["check", fifo], Duration::from_secs(20)).expect("check ended");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a regular file but a FIFO"), "{stderr}");
    eprintln!("check FIFO: exit 2 after {:?}", started.elapsed());
    // And in a folder, it is passed over rather than waited on.
    let folder = dir.path().to_str().unwrap();
    let output = run_for_at_most(&["check", folder], Duration::from_secs(20)).expect("ended");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no report in the folder"));
}

/// A link to a /proc file (whose size says 0, and which holds the process's secrets) is
/// refused by the folder's boundary before a byte of it is read.
#[test]
fn check_refuses_a_link_to_proc() {
    let dir = tempfile::tempdir().unwrap();
    symlink("/proc/self/environ", dir.path().join("environ.csv")).unwrap();
    let folder = dir.path().to_str().unwrap();
    let output = run_for_at_most(&["check", folder], Duration::from_secs(20)).expect("ended");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("environ.csv"), "{stderr}");
    assert!(stderr.contains("outside the report folder"), "{stderr}");
    assert!(!stderr.contains("PATH="), "{stderr}");
}

/// A GET of `path` with basic auth, timed out as Prometheus's default scrape timeout does:
/// the status, or `None` when the request failed or timed out.
fn get_as(agent: &ureq::Agent, url: &str, user: &str, password: &str) -> Option<u16> {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut response = agent
        .get(url)
        .header("Authorization", format!("Basic {token}"))
        .call()
        .ok()?;
    response.body_mut().read_to_vec().ok()?;
    Some(response.status().as_u16())
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// 60 clients sending wrong passwords neither hold the request slots nor slow the real
/// scraper: auth runs before a slot is taken, bcrypt on its own thread with a short queue,
/// and the scraper's credentials are remembered after its first check.
#[test]
fn wrong_password_floods_never_lock_out_the_scraper() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    const ATTACKERS: usize = 60;
    const SCRAPES: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("acme.csv"), report_with_users(3)).unwrap();
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("web.yml");
    // Cost 10, as `htpasswd -nBC 10` makes: tens of milliseconds a check, as in production.
    let hash = bcrypt::hash("scrape-password", 10).unwrap();
    fs::write(
        &config,
        format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
    )
    .unwrap();
    let exporter = Exporter::start(dir.path(), &["--web.config.file", config.to_str().unwrap()]);
    let url = exporter.url("/metrics");

    let stop = Arc::new(AtomicBool::new(false));
    let statuses = Arc::new(Mutex::new(Vec::<Option<u16>>::new()));
    let attackers: Vec<_> = (0..ATTACKERS)
        .map(|i| {
            let (stop, statuses, url) = (stop.clone(), statuses.clone(), url.clone());
            std::thread::spawn(move || {
                let agent = agent(Duration::from_secs(30));
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    mine.push(get_as(&agent, &url, "prometheus", &format!("guess-{i}")));
                }
                statuses.lock().unwrap().extend(mine);
            })
        })
        .collect();
    // Let the flood fill the queue before the scraper comes.
    std::thread::sleep(Duration::from_secs(1));

    let scraper = agent(Duration::from_secs(10));
    let mut scrapes = Vec::new();
    for _ in 0..SCRAPES {
        let started = Instant::now();
        let status = get_as(&scraper, &url, "prometheus", "scrape-password");
        scrapes.push((status, started.elapsed()));
        std::thread::sleep(Duration::from_millis(500));
    }
    let healthy = exporter.status("/-/healthy");
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        attacker.join().unwrap();
    }
    let statuses = statuses.lock().unwrap();
    let count = |wanted: Option<u16>| statuses.iter().filter(|&&s| s == wanted).count();
    eprintln!(
        "flood: {} requests: {} got 401, {} got 429, {} got 503, {} failed; scrapes: {scrapes:?}",
        statuses.len(),
        count(Some(401)),
        count(Some(429)),
        count(Some(503)),
        count(None),
    );
    let succeeded = scrapes.iter().filter(|(s, _)| *s == Some(200)).count();
    assert!(
        succeeded >= SCRAPES - 1,
        "{succeeded} of {SCRAPES} scrapes: {scrapes:?}"
    );
    assert_eq!(count(Some(200)), 0, "a wrong password passed");
    assert_eq!(count(Some(503)), 0, "wrong passwords took request slots");
    assert_eq!(healthy, 200);
}

/// Clients that request a large answer and never read it hold no request slot: the
/// answer is the snapshot's, made once and shared, so a scrape beside 45 of them is served
/// at once (they used to hold every slot until --web.write-timeout dropped them, and a
/// client reconnecting before that failed half the scrapes). They are still dropped at the
/// write timeout.
#[test]
fn clients_that_never_read_hold_no_request_slot() {
    const STALLED: usize = 45;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("big.csv"), report_with_users(3000)).unwrap();
    let exporter = Exporter::start(dir.path(), &["--web.write-timeout", "10s"]);
    exporter.wait_for_sample(&users_line("big", 3000));
    let body = exporter.metrics().len();
    assert!(
        body > 1 << 20,
        "an answer of {body} bytes fits in socket buffers"
    );
    // The first scrapes of a snapshot are encoded while its compressed body is made; it
    // has a length once it is made. It is made at the lowest priority, which a loaded
    // machine (a build beside the tests) starves for many seconds.
    exporter.wait_within(Duration::from_secs(90), "the shared body", || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&exporter.address).unwrap();
        let request = "GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let headers = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
        headers.contains("\r\ncontent-length:")
    });

    let started = Instant::now();
    let mut stalled: Vec<_> = (0..STALLED)
        .map(|_| common::request_without_reading(&exporter.address, "/metrics"))
        .collect();
    // Their requests are in before the scrapes.
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..5 {
        let (status, _, text) = exporter.get("/metrics", None);
        assert_eq!(status, 200, "a scrape beside {STALLED} stalled clients");
        assert!(text.contains(&users_line("big", 3000)));
    }
    eprintln!(
        "5 scrapes beside {STALLED} clients that never read a {body}-byte answer, in {:?}",
        started.elapsed()
    );
    // Dropped at the write timeout: each socket then ends, after what it was sent.
    for stream in &mut stalled {
        use std::io::Read;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut sink = [0u8; 65536];
        loop {
            match stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => assert!(started.elapsed() < Duration::from_secs(60), "never dropped"),
            }
        }
    }
    assert!(
        started.elapsed() >= Duration::from_secs(10),
        "dropped before the write timeout"
    );
}

/// At most --report.max-files reports are read, the first by name: the rest are counted in
/// credential_report_files_skipped and each named in the log once, however often the folder
/// is scanned again; when a file read goes, the next is read.
#[test]
fn files_beyond_max_files_are_skipped_counted_and_named_once() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..12 {
        fs::write(
            dir.path().join(format!("r{i:02}.csv")),
            report_with_users(1),
        )
        .unwrap();
    }
    let exporter = Exporter::start(dir.path(), &["--report.max-files", "5"]);
    exporter.wait_for_sample("credential_report_files_skipped 7");
    let metrics = exporter.metrics();
    let served: Vec<&str> = (metrics.lines())
        .filter_map(|line| line.strip_prefix("credential_report_up{report=\""))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(served, ["r00", "r01", "r02", "r03", "r04"]);
    // Another file, and a rescan: only it is named.
    fs::write(dir.path().join("r99.csv"), report_with_users(1)).unwrap();
    exporter.wait_for_sample("credential_report_files_skipped 8");
    let named = |name: &str| {
        (exporter.logs().lines())
            .filter(|line| line.contains("--report.max-files") && line.contains(name))
            .count()
    };
    for i in 5..12 {
        assert_eq!(
            named(&format!("r{i:02}.csv")),
            1,
            "r{i:02}:\n{}",
            exporter.logs()
        );
    }
    assert_eq!(named("r99.csv"), 1);
    assert_eq!(named("r04.csv"), 0);
    fs::remove_file(dir.path().join("r00.csv")).unwrap();
    exporter.wait_for_sample(&users_line("r05", 1));
    exporter.wait_for_sample("credential_report_files_skipped 7");
    let (_, _, page) = exporter.get("/", None);
    assert!(page.contains("7 report file(s) not read"), "{page}");
}

/// C1 controls (the 8-bit CSI U+009B), NUL, CR and bidirectional overrides in a file name
/// or a user name reach no log (logfmt or JSON), label value, page or `check` table as they
/// are: a terminal would run them. Each is shown as `\u{…}` text.
#[test]
fn control_characters_and_bidi_overrides_are_shown_escaped() {
    const RAW: [char; 5] = ['\u{9b}', '\u{202e}', '\u{2066}', '\0', '\r'];
    let dir = tempfile::tempdir().unwrap();
    let user = "a\u{9b}2J\u{202e}b\u{2066}c\0d\re";
    let report = report_with_users(2).replace("user0", &format!("\"{user}\""));
    fs::write(dir.path().join("evil\u{9b}31m\u{202e}.csv"), report).unwrap();
    // Refused, so that its name is in an error line of the log.
    fs::write(
        dir.path().join("bad\u{9b}\u{202e}\r.csv"),
        "x\u{9b}\u{202e}\n",
    )
    .unwrap();
    let clean = |what: &str, text: &str| {
        for c in RAW {
            assert!(!text.contains(c), "{what} holds {c:?} as it is:\n{text:?}");
        }
    };
    for format in ["logfmt", "json"] {
        let exporter = Exporter::start(dir.path(), &["--log.format", format]);
        let report = "evil\\\\u{9b}31m\\\\u{202e}";
        exporter.wait_for_sample(&format!(
            "credential_report_users{{report=\"{report}\",user_type=\"sub_user\"}} 2"
        ));
        let metrics = exporter.metrics();
        let expected = r#"username="a\\u{9b}2J\\u{202e}b\\u{2066}c\\u{0}d\\re""#;
        assert!(metrics.contains(expected), "{metrics}");
        let (_, _, openmetrics) = exporter.get("/metrics", Some("application/openmetrics-text"));
        assert!(openmetrics.contains(expected), "{openmetrics}");
        let (_, _, page) = exporter.get("/", None);
        exporter.wait_until("the refusal logged", || exporter.logs().contains("bad"));
        let logs = exporter.logs();
        assert!(
            logs.contains(r"bad\u{9b}") || logs.contains(r"bad\u009b"),
            "{logs}"
        );
        for (what, text) in [
            ("metrics", &metrics),
            ("OpenMetrics", &openmetrics),
            ("page", &page),
            ("log", &logs),
        ] {
            clean(&format!("{format}: the {what}"), text);
        }
    }
    let output = run_for_at_most(
        &["check", "--format", "table", dir.path().to_str().unwrap()],
        Duration::from_secs(30),
    )
    .expect("check ends");
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(table.contains(r"a\u{9b}2J\u{202e}b"), "{table}");
    clean("check's table", &table);
    clean("check's errors", &String::from_utf8_lossy(&output.stderr));
}

/// A telemetry path that is a built-in route's is refused at start with a clear error and
/// exit 1, not a panic.
#[test]
fn a_telemetry_path_on_a_built_in_route_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().to_str().unwrap();
    for path in ["/-/healthy", "/-/ready"] {
        let args = [
            "--report.dir",
            dir,
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.telemetry-path",
            path,
        ];
        let output = run_for_at_most(&args, Duration::from_secs(20)).expect("it exits");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{path}: {stderr}");
        assert!(
            stderr.contains("already a built-in route"),
            "{path}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// The hard limit on open files of the current process, from /proc.
fn limits_of(pid: &str) -> (String, String) {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

/// Started with a soft limit of 128 open files, the exporter raises it to the hard limit,
/// and 243 idle connections no longer keep out the probes.
#[test]
fn the_soft_open_files_limit_is_raised_to_the_hard_one() {
    let (_, hard) = limits_of("self");
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("acme.csv"), report_with_users(3)).unwrap();
    let nofile = format!("--nofile=128:{hard}");
    let exporter = Exporter::spawn_via(&["prlimit", &nofile, "--"], dir.path(), &[]);
    let (soft, hard_seen) = limits_of(&exporter.pid().to_string());
    assert_eq!(soft, hard_seen, "soft limit not raised");
    assert_eq!(hard_seen, hard);
    let idle: Vec<_> = (0..243)
        .map(|_| std::net::TcpStream::connect(&exporter.address).unwrap())
        .collect();
    assert_eq!(exporter.status("/-/healthy"), 200);
    assert_eq!(exporter.status("/metrics"), 200);
    drop(idle);
}

/// Faults in the web config that could never work stop the start with a clear message:
/// a bcrypt cost that would take hours a check, a user name basic auth cannot carry.
#[test]
fn web_configs_that_could_never_work_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hash = bcrypt::hash("pw", 4).unwrap();
    let cases = [
        (
            hash.replacen("$04$", "$31$", 1),
            "prometheus",
            "bcrypt cost 31 is above 16",
        ),
        (hash.clone(), "'prom:etheus'", "cannot contain a colon"),
    ];
    for (hash, user, expected) in cases {
        let config = dir.path().join("web.yml");
        fs::write(&config, format!("basic_auth_users:\n  {user}: '{hash}'\n")).unwrap();
        let args = [
            "--report.dir",
            dir.path().to_str().unwrap(),
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
            config.to_str().unwrap(),
        ];
        let started = Instant::now();
        let output = run_for_at_most(&args, Duration::from_secs(20)).expect("it exits");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
