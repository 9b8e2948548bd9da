//! One `fetch --organization --once` round of the release binary against a fake
//! organization of many members on loopback (the tests' own fakes, tests/cloud_fakes/), with
//! each cloud's documented per-action limits enforced by the fake: the round's wall time,
//! the lower bound those limits and `--fetch.concurrency` allow, the fetcher's peak memory,
//! and the reports written. `benches/organization.py` runs it for each cloud, then serves
//! the reports with the exporter, and writes the figures into benches/RESULTS.md.
//!
//! `cargo bench --bench organization -- --cloud tencent --members 1000 --users 200 --dir DIR
//! --json FILE`. Not a test: under `cargo test` (no `--bench`) it does nothing.

#[path = "../tests/cloud_fakes/mod.rs"]
mod cloud_fakes;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use cloud_fakes::{alibaba, aws, tencent, RateLimits};

/// `--fetch.concurrency`: the fetcher's default.
const CONCURRENCY: usize = 8;

/// The documented limits the fakes enforce, in calls a second per account and action (where
/// each is documented: docs/scaling.md). Tencent: every CAM action 20 a second per account
/// (so per member), STS `AssumeRole` 600 and Organization `DescribeOrganizationMembers` 20
/// (the Tencent fake's own, with CAM's figure given). AWS documents no per-action figure for
/// the actions the fetcher calls, so its fake enforces none.
const TENCENT_CAM: usize = 20;
const ALIBABA_LIMITS: &[(&str, usize)] = &[
    ("AssumeRole", 100),  // STS 2015-04-01 quota page: 100/1(s) per API and account
    ("ListAccounts", 10), // ResourceManager: its list calls' lowest quota, as the fetcher assumes
];

struct Args {
    cloud: String,
    members: usize,
    users: usize,
    dir: PathBuf,
    json: Option<PathBuf>,
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes --bench; `cargo test --benches` does not, and then this is no test.
    if !argv.iter().any(|a| a == "--bench") {
        return;
    }
    let value = |name: &str| {
        let i = argv.iter().position(|a| a == name)?;
        argv.get(i + 1).cloned()
    };
    let args = Args {
        cloud: value("--cloud").unwrap_or_else(|| "tencent".to_owned()),
        members: value("--members").map_or(1000, |n| n.parse().expect("--members N")),
        users: value("--users").map_or(200, |n| n.parse().expect("--users N")),
        dir: value("--dir").map_or_else(
            || std::env::temp_dir().join("organization-bench"),
            PathBuf::from,
        ),
        json: value("--json").map(PathBuf::from),
    };
    let figures = match args.cloud.as_str() {
        "tencent" => tencent_round(&args),
        "alibaba" => alibaba_round(&args),
        "aws" => aws_round(&args),
        other => panic!("--cloud {other}: tencent, alibaba or aws"),
    };
    println!("{figures}");
    if let Some(path) = &args.json {
        std::fs::write(path, figures.to_string()).expect("write --json");
    }
}

/// What one round took, and the arithmetic of its lower bound.
struct Round {
    seconds: f64,
    peak_rss_bytes: u64,
    exit_code: i32,
    reports: usize,
    calls: Vec<String>,
}

/// Runs `fetch --organization --once` of the release binary into a fresh `dir`: wall time,
/// and the child's peak RSS from wait4's rusage (ru_maxrss, the kernel's own high-water mark).
fn fetch_round(dir: &Path, provider: &str, args: &[String], env: &[(&str, String)]) -> Round {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let log = std::fs::File::create(dir.with_extension("log")).unwrap();
    let started = Instant::now();
    // Reaped by wait4 below, which also gives its rusage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(cloud_fakes::BINARY)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["fetch", "--provider", provider, "--organization", "--once"])
        .args(["--fetch.concurrency", &CONCURRENCY.to_string()])
        // The fakes' reports are ready at the third ask: poll at once, not every 5 s.
        .args(["--fetch.poll-interval", "10ms", "--log.level", "info"])
        .arg("--report.dir")
        .arg(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the fetcher");
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills in; the pid is our own child's.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 of the fetcher");
    let seconds = started.elapsed().as_secs_f64();
    let reports = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.ends_with(".csv") && !name.starts_with('.')
        })
        .count();
    Round {
        seconds,
        peak_rss_bytes: usage.ru_maxrss as u64 * 1024,
        exit_code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        reports,
        calls: Vec::new(),
    }
}

fn count(calls: &[String], action: &str) -> usize {
    calls.iter().filter(|a| *a == action).count()
}

/// The figures as JSON, with the bound's arithmetic written out.
fn figures(args: &Args, round: &Round, bound: Option<(f64, String)>) -> serde_json::Value {
    let mut calls = std::collections::BTreeMap::new();
    for action in &round.calls {
        *calls.entry(action.clone()).or_insert(0usize) += 1;
    }
    let (bound_seconds, arithmetic) = bound.unzip();
    serde_json::json!({
        "cloud": args.cloud, "members": args.members, "users": args.users,
        "concurrency": CONCURRENCY, "seconds": round.seconds,
        "bound_seconds": bound_seconds, "bound": arithmetic,
        "ratio": bound_seconds.map(|b| round.seconds / b),
        "peak_rss_bytes": round.peak_rss_bytes, "exit_code": round.exit_code,
        "reports": round.reports, "calls": calls, "dir": args.dir,
    })
}

fn tencent_round(args: &Args) -> serde_json::Value {
    let cloud = tencent::FakeTencent::start(None, Some(TENCENT_CAM));
    {
        let mut org = cloud.state.org.lock().unwrap();
        org.users_per_member = Some(args.users as u64);
        for i in 0..args.members as u64 {
            let name = format!("m{i}");
            org.members
                .push(tencent::Member::new(400_000_000_000 + i, &name));
        }
    }
    let url = cloud.server.url();
    let flags = ["--tencent.endpoint", "--tencent.organization-endpoint"];
    let flags: Vec<String> = flags
        .into_iter()
        .flat_map(|f| [f.to_owned(), url.clone()])
        .collect();
    let env = [
        ("TENCENTCLOUD_SECRET_ID", tencent::SECRET_ID.to_owned()),
        ("TENCENTCLOUD_SECRET_KEY", tencent::SECRET_KEY.to_owned()),
        ("TENCENTCLOUD_SESSION_TOKEN", tencent::TOKEN.to_owned()),
        ("TENCENTCLOUD_STS_ENDPOINT", url.clone()),
    ];
    let mut round = fetch_round(&args.dir, "tencent-cam", &flags, &env);
    round.calls = cloud.server.actions();
    let refused = (cloud.state.limits.as_ref())
        .map_or(0, |l| l.refused.load(std::sync::atomic::Ordering::Relaxed));
    // Each member's CAM calls are its own account's: the busiest action of a member sets
    // its floor; members go CONCURRENCY at a time; the listing comes first; AssumeRole (600 a
    // second) is never the narrower pace at 8 members at a time.
    let members = args.members as f64;
    let cam = [
        "GetUserAppId",
        "ListUsers",
        "ListCollaborators",
        "ListWeChatWorkSubAccounts",
        "ListReceiver",
        "DescribeSubAccounts",
        "DescribeSafeAuthFlagColl",
        "ListAccessKeys",
        "GetSecurityLastUsed",
    ];
    let (busiest, per_member_calls) = cam
        .iter()
        .map(|a| (*a, count(&round.calls, a) as f64 / members))
        .fold(("", 0.0), |m, c| if c.1 > m.1 { c } else { m });
    let per_member = per_member_calls / TENCENT_CAM as f64;
    let waves = args.members.div_ceil(CONCURRENCY);
    let pages = count(&round.calls, "DescribeOrganizationMembers");
    let listing = pages as f64 / 20.0;
    let bound = listing + (waves as f64 * per_member).max(members / 600.0);
    let arithmetic = format!(
        "{pages} listing pages / 20 a second = {listing:.2} s, then {waves} waves of {CONCURRENCY} members x {per_member_calls:.0} {busiest} calls a member / {TENCENT_CAM} a second = {:.1} s (AssumeRole: {} / 600 a second = {:.1} s, within it)",
        waves as f64 * per_member,
        args.members,
        members / 600.0
    );
    let mut out = figures(args, &round, Some((bound, arithmetic)));
    out["throttled"] = refused.into();
    out
}

fn alibaba_round(args: &Args) -> serde_json::Value {
    let cloud = alibaba::FakeAlibaba::start(alibaba::KEY_ID, None);
    cloud.scale(alibaba::Scale {
        users: args.users,
        // The service's page (GetCredentialReport's MaxItems at most): every report one page.
        lines_a_page: 3501,
    });
    cloud.limit(RateLimits::new(ALIBABA_LIMITS));
    for i in 0..args.members {
        cloud.add_member(&format!("4{i:015}"), &format!("m{i}"), true);
    }
    let url = cloud.server.url();
    let flags = ["--alibaba.endpoint", "--alibaba.resourcemanager-endpoint"];
    let flags: Vec<String> = flags
        .into_iter()
        .flat_map(|f| [f.to_owned(), url.clone()])
        .collect();
    let env = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", alibaba::KEY_ID.to_owned()),
        (
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            alibaba::SECRET.to_owned(),
        ),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", alibaba::TOKEN.to_owned()),
        ("ALIBABA_CLOUD_STS_ENDPOINT", url.clone()),
    ];
    let mut round = fetch_round(&args.dir, "alibaba-ram", &flags, &env);
    round.calls = cloud.server.actions();
    // IMS documents no limit for its report calls: the management account's calls set the
    // floor, the listing and then one AssumeRole a member at STS's 100 a second.
    let pages = count(&round.calls, "ListAccounts");
    let listing = pages as f64 / 10.0;
    let assuming = args.members as f64 / 100.0;
    let bound = listing + assuming;
    let arithmetic = format!(
        "{pages} listing pages / 10 a second = {listing:.1} s, then {} AssumeRole / 100 a second = {assuming:.1} s (IMS: no documented limit)",
        args.members
    );
    figures(args, &round, Some((bound, arithmetic)))
}

const AWS_KEY_ID: &str = "AKIAFAKEBENCHKEY0001";

fn aws_round(args: &Args) -> serde_json::Value {
    let cloud = aws::FakeAws::start();
    let management = "111111111111";
    let secret = "bench-secret-not-a-real-one-0123456789ab";
    let token = "bench-session-token-not-a-real-one";
    cloud.add_credential(
        AWS_KEY_ID,
        aws::Credential {
            secret: secret.to_owned(),
            session_token: Some(token.to_owned()),
            account: management.to_owned(),
        },
    );
    let members: Vec<aws::Member> = (0..args.members)
        .map(|i| aws::Member {
            id: format!("{}", 200_000_000_000u64 + i as u64),
            name: format!("m{i}"),
            state: "ACTIVE",
            tags: Vec::new(),
        })
        .collect();
    for m in &members {
        let arn = format!("arn:aws:iam::{}:role/OrganizationAccountAccessRole", m.id);
        cloud.add_role(&arn, &m.id);
        cloud.set_report(
            &m.id,
            &aws_report(&m.id, args.users),
            "2026-11-25T10:00:00Z",
        );
    }
    cloud.set_organization(management, members);
    let env = [
        ("HOME", "/nonexistent/home".to_owned()),
        ("AWS_ACCESS_KEY_ID", AWS_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", secret.to_owned()),
        ("AWS_SESSION_TOKEN", token.to_owned()),
        ("AWS_ENDPOINT_URL", cloud.url.clone()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent/config".to_owned()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/credentials".to_owned(),
        ),
    ];
    let mut round = fetch_round(&args.dir, "aws-iam", &[], &env);
    round.calls = cloud.calls().into_iter().map(|c| c.action).collect();
    // No documented per-action figure: no bound from limits.
    figures(args, &round, None)
}

/// An IAM report of `account`: the root, then `users` users, each with a console password
/// and one active key, every other one with MFA.
fn aws_report(account: &str, users: usize) -> Vec<u8> {
    let whole = String::from_utf8(aws::report(account)).unwrap();
    let mut lines = whole.lines();
    let mut report = format!("{}\n{}", lines.next().unwrap(), lines.next().unwrap());
    for i in 0..users {
        let mfa = i % 2 == 0;
        report.push_str(&format!(
            "\nuser{i},arn:aws:iam::{account}:user/user{i},2020-01-01T00:00:00+00:00,true,2026-11-01T00:00:00+00:00,2025-06-01T00:00:00+00:00,N/A,{mfa},true,2024-01-01T00:00:00+00:00,2026-11-24T00:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
        ));
    }
    report.into_bytes()
}
