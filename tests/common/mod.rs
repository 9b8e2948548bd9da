//! Starts the real exporter binary on a real folder and talks HTTP to it.
#![allow(dead_code)] // each test file uses a different part of this

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_credential-report-exporter");

pub struct Exporter {
    child: Child,
    pub address: String,
    logs: Arc<Mutex<Vec<String>>>,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Exporter {
    /// Starts the exporter on `dir` with extra flags and waits until it is ready.
    pub fn start(dir: &Path, flags: &[&str]) -> Exporter {
        let exporter = Exporter::spawn(dir, flags);
        exporter.wait_until("ready", || exporter.status("/-/ready") == 200);
        exporter
    }

    /// Starts the exporter without waiting for readiness.
    pub fn spawn(dir: &Path, flags: &[&str]) -> Exporter {
        Exporter::spawn_via(&[], dir, flags)
    }

    /// Starts the exporter as an unprivileged user (nobody) when the tests run as root, as
    /// CI does: root reads files whatever their permissions, and a real deployment is not root.
    pub fn start_unprivileged(dir: &Path, flags: &[&str]) -> Exporter {
        let exporter = Exporter::spawn_via(&unprivileged(), dir, flags);
        exporter.wait_until("ready", || exporter.status("/-/ready") == 200);
        exporter
    }

    /// Starts the exporter behind a launcher command (such as `setpriv …`).
    pub fn spawn_via(launcher: &[&str], dir: &Path, flags: &[&str]) -> Exporter {
        let address = format!("127.0.0.1:{}", free_port());
        let mut command = match launcher.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(BINARY);
                command
            }
            None => Command::new(BINARY),
        };
        let mut child = command
            .arg("--report.dir")
            .arg(dir)
            .args([
                "--web.listen-address",
                &address,
                "--watch.debounce",
                "100ms",
            ])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the exporter");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let exporter = Exporter {
            child,
            address,
            logs,
        };
        exporter.wait_until("listening", || {
            exporter.try_get("/-/healthy", None).is_some()
        });
        exporter
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    fn try_get(&self, path: &str, accept: Option<&str>) -> Option<(u16, String, String)> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A guard against hangs only: a debug build serving 10,000 reports on a loaded
            // machine took over 10 s.
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut request = agent.get(self.url(path));
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let mut response = request.call().ok()?;
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .ok()?;
        Some((response.status().as_u16(), content_type, body))
    }

    /// GET `path`: (status, content type, body).
    pub fn get(&self, path: &str, accept: Option<&str>) -> (u16, String, String) {
        self.try_get(path, accept)
            .unwrap_or_else(|| panic!("GET {path} failed; logs:\n{}", self.log_tail()))
    }

    pub fn status(&self, path: &str) -> u16 {
        self.get(path, None).0
    }

    /// The classic text exposition, as curl would get it.
    pub fn metrics(&self) -> String {
        let (status, _, body) = self.get("/metrics", None);
        assert_eq!(status, 200);
        body
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the exporter has used so far, from /proc.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 1000 / clock_ticks_per_second())
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// The last lines of the log, for failure messages.
    pub fn log_tail(&self) -> String {
        let logs = self.logs.lock().unwrap();
        logs[logs.len().saturating_sub(40)..].join("\n")
    }

    /// Polls `condition` until it holds, failing the test after 10 seconds.
    pub fn wait_until(&self, what: &str, condition: impl FnMut() -> bool) {
        self.wait_within(Duration::from_secs(10), what, condition)
    }

    /// Polls `condition` until it holds, failing the test after `limit`.
    pub fn wait_within(&self, limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if condition() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}; logs:\n{}", self.log_tail());
    }

    /// Waits until the metrics hold `line` (a whole sample line), and returns how long it took.
    pub fn wait_for_sample(&self, line: &str) -> Duration {
        let started = Instant::now();
        self.wait_until(&format!("sample {line:?}"), || {
            self.metrics().lines().any(|l| l == line)
        });
        started.elapsed()
    }

    pub fn wait_for_absent(&self, prefix: &str) {
        self.wait_until(&format!("no sample starting {prefix:?}"), || {
            !self.metrics().lines().any(|l| l.starts_with(prefix))
        });
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not exit within 5s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bundled example reports, as checked out. A clone's files carry the clone's time, and
/// AWS and Alibaba key ages count up to a report's modification time: serve a copy from
/// `examples_on_a_fixed_day()` wherever a number could depend on the date.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/reports")
}

/// When the examples were generated, for the tests: 2026-11-24T00:00:00Z, the `--now` of
/// the samples in docs/check.md.
pub const EXAMPLES_GENERATED: u64 = 1_795_478_400;

/// The bundled examples, copied with the modification time of reports generated at
/// `EXAMPLES_GENERATED`, so every count (key and password ages among them) is the same in
/// any clone on any day.
pub fn examples_on_a_fixed_day() -> tempfile::TempDir {
    let generated = std::time::UNIX_EPOCH + Duration::from_secs(EXAMPLES_GENERATED);
    let folder = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let from = entry.unwrap().path();
        let to = folder.path().join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
        let file = std::fs::File::options().write(true).open(&to).unwrap();
        file.set_modified(generated).unwrap();
    }
    folder
}

/// The header of Tencent CAM's reports, as the example written from its documentation has
/// it (`tests/it/properties.rs` holds it to the reader's). Read from the file, so that these
/// black-box helpers do not link the exporter's library.
pub fn tencent_header() -> String {
    let example = std::fs::read_to_string(examples_dir().join("acme-prod.csv")).unwrap();
    example.lines().next().unwrap().trim_end().to_owned()
}

/// A report of `users` sub-users named user0.., each with MFA off and one active key.
pub fn report_with_users(users: usize) -> String {
    let mut text = tencent_header() + "\n";
    for i in 0..users {
        text.push_str(&format!(
            "{},user{i},Sub-user,2020/1/1 0:00:00,TRUE,2021/1/1 0:00:00,TRUE,TRUE,TRUE,FALSE,FALSE,\
             AKIDtest{i:08},FALSE,2020/1/2 0:00:00,Active,2024/1/1 0:00:00,TRUE,TRUE,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n",
            1000 + i
        ));
    }
    text
}

/// Writes `contents` to `path` the way report writers should: a temporary file renamed over it.
pub fn write_atomically(path: &Path, contents: &[u8]) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, contents).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// A launcher that drops root to nobody, or nothing when not root.
pub fn unprivileged() -> Vec<&'static str> {
    if is_root() {
        vec![
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
    } else {
        vec![]
    }
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
}

fn clock_ticks_per_second() -> u64 {
    let output = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Lets an unprivileged exporter into a temporary folder (root-owned, mode 0700 by default).
pub fn open_to_everyone(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The sample line counting `count` sub-users in `report`.
pub fn users_line(report: &str, count: usize) -> String {
    format!("credential_report_users{{report=\"{report}\",user_type=\"sub_user\"}} {count}")
}

/// Sends `GET path` to `address` (an IPv4 host:port) and never reads the answer. The socket's
/// receive buffer is a few KiB, so an answer larger than that stalls the server's writes at
/// once rather than after the megabytes the kernel would otherwise take in.
pub fn request_without_reading(address: &str, path: &str) -> std::net::TcpStream {
    request_without_reading_with(address, path, "")
}

/// [`request_without_reading`] with more request headers, each ending in `\r\n`.
pub fn request_without_reading_with(
    address: &str,
    path: &str,
    headers: &str,
) -> std::net::TcpStream {
    use std::io::Write;
    use std::os::fd::FromRawFd;

    let address: std::net::SocketAddrV4 = address.parse().unwrap();
    // SAFETY: a fresh socket, its options and connect, each checked; the descriptor is
    // handed to the TcpStream, which then owns it.
    let mut stream = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let stream = std::net::TcpStream::from_raw_fd(fd);
        let size: libc::c_int = 4096;
        let set = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(set, 0, "SO_RCVBUF: {}", std::io::Error::last_os_error());
        let peer = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: address.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*address.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let connected = libc::connect(
            fd,
            (&peer as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(connected, 0, "connect: {}", std::io::Error::last_os_error());
        stream
    };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{headers}\r\n"
    )
    .unwrap();
    stream
}
