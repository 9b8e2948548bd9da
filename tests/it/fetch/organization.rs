//! The organization contract: what `fetch --organization` must do whatever the cloud, each
//! case written once and run against each cloud's fake organization. A cloud plugs in with an
//! [`Organization`] beside its [`Cloud`]: a fake whose management credentials list
//! [`MEMBERS`] accounts (the management account among them, without a role to assume), one of
//! them not active where the cloud's listing has such a state, and every other one with a
//! role and a report of its own.

use std::path::Path;

use super::{assert_lines, assert_says, count, names, run, Cloud};
use crate::cloud_fakes::{assert_no_secrets, Fault, Fetcher};

/// Members of each fake organization, the management account included: more than one page
/// of every cloud's listing as its fake pages it.
pub const MEMBERS: usize = 30;

/// A cloud's organization, as its fake plays it.
pub trait Organization: Cloud {
    /// The listing action (ListAccounts, DescribeOrganizationMembers).
    const LISTING: &'static str;
    /// The role-assuming action (AssumeRole).
    const ASSUME: &'static str;
    /// The code the cloud refuses a role with, as the fetcher's message must quote it.
    const ROLE_REFUSED: &'static str;
    /// Its fake organization of [`MEMBERS`] accounts, the management account first.
    fn start_organization() -> Self;
    /// The listed accounts as (id, name), in listing order.
    fn members(&self) -> Vec<(String, String)>;
    /// The id of the member listed as not active (suspended, closed); it is never fetched.
    /// `None` where the listing has no such state (Tencent: every member listed is one).
    fn inactive(&self) -> Option<String>;
    /// The fetcher's own flags for the organization, besides `--organization`.
    fn organization_args(&self) -> Vec<String>;
    /// The member's role refuses to be assumed from now on.
    fn refuse_role(&self, id: &str);
    /// The member leaves the organization: no longer listed.
    fn remove_member(&self, id: &str);
    /// The next `times` answers to the member's `action` are `fault`.
    fn fail_member(&self, id: &str, action: &str, fault: Fault, times: usize);
    /// Asserts that `written` is the member's report as the cloud served it (Tencent: as
    /// rebuilt from its answers).
    fn assert_member_report(&self, id: &str, written: &[u8]);
}

fn run_organization<O: Organization>(cloud: &O, dir: &Path, extra: &[&str]) -> (i32, String) {
    let own = cloud.organization_args();
    let own: Vec<&str> = own.iter().map(String::as_str).collect();
    let args = [&["--organization"][..], &own, extra].concat();
    run(cloud, dir, &args, &cloud.env())
}

fn management<O: Organization>(cloud: &O) -> String {
    cloud.members()[0].0.clone()
}

/// Every active member's report is written byte for byte as `<id>.csv`, each through its
/// role; the management account (no role) and the inactive member get no file; the listing
/// was paged; every call was signed, every answer is in the vendor's words, and no secret
/// was printed. `--once` exits 1 naming the management account as `access_denied`.
pub fn every_active_member_is_fetched_by_its_role<O: Organization>() {
    let cloud = O::start_organization();
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_organization(&cloud, dir.path(), &[]);
    assert_eq!(code, 1, "the management account has no role:\n{logs}");
    let (management, inactive) = (management(&cloud), cloud.inactive());
    let inactive_members = usize::from(inactive.is_some());
    assert_says(&logs, &[&format!("{management}: "), "(access_denied)"]);
    let mut expected = Vec::new();
    for (id, _) in cloud.members() {
        let path = dir.path().join(format!("{id}.csv"));
        if id == management || Some(&id) == inactive.as_ref() {
            assert!(!path.exists(), "{id} was written");
            continue;
        }
        cloud.assert_member_report(&id, &std::fs::read(&path).unwrap());
        expected.push(format!("{id}.csv"));
    }
    let mut written: Vec<String> = names(dir.path());
    written.retain(|n| !n.starts_with('.'));
    written.sort();
    expected.sort();
    assert_eq!(written, expected);
    let actions = cloud.actions();
    assert!(count(&actions, O::LISTING) >= 2, "not paged: {actions:?}");
    // One role a fetched member, and one refused for the management account.
    let assumed = MEMBERS - inactive_members;
    assert_eq!(count(&actions, O::ASSUME), assumed, "{actions:?}");
    assert_eq!(cloud.refused(), 0, "the fake refused signatures");
    assert_no_secrets(&logs, &cloud.secrets());
    crate::python::assert_vendor_models(cloud.model_answers());
}

/// A member whose role is refused fails as `access_denied` naming the cloud's code, keeps its
/// last good report byte for byte, and neither stops nor delays the others; a member whose
/// report call fails on an expired token fails alone too.
pub fn a_refused_member_fails_alone_and_keeps_its_last_report<O: Organization>() {
    let cloud = O::start_organization();
    let members = cloud.members();
    let (refused, expired) = (&members[3].0, &members[5].0);
    cloud.refuse_role(refused);
    cloud.fail_member(expired, O::PROFILE.report_action, Fault::ExpiredToken, 1);
    let dir = tempfile::tempdir().unwrap();
    let last = super::last_good_report(dir.path(), refused);
    let (code, logs) = run_organization(&cloud, dir.path(), &[]);
    assert_eq!(code, 1, "{logs}");
    assert_says(
        &logs,
        &[
            &format!("{refused}: "),
            O::ROLE_REFUSED,
            &format!("{expired}: "),
        ],
    );
    assert_eq!(std::fs::read(&last).unwrap(), b"last good report\r\n\xef");
    assert!(!dir.path().join(format!("{expired}.csv")).exists());
    let written = names(dir.path())
        .iter()
        .filter(|n| n.ends_with(".csv"))
        .count();
    // Everyone but the management account, the inactive member and the expired one; the
    // refused member's last report stays.
    let inactive_members = usize::from(cloud.inactive().is_some());
    assert_eq!(
        written,
        MEMBERS - 2 - inactive_members,
        "{:?}",
        names(dir.path())
    );
    assert_no_secrets(&logs, &cloud.secrets());
}

/// The loop serves every listed account's name, and each account's attempts, durations and
/// failures by reason, with no secret.
pub fn the_loop_names_every_listed_account_and_counts_by_account<O: Organization>() {
    let cloud = O::start_organization();
    let dir = tempfile::tempdir().unwrap();
    let own = cloud.organization_args();
    let args: Vec<&str> = own.iter().map(String::as_str).collect();
    let fetcher = spawn_organization(&cloud, dir.path(), &args);
    let management = management(&cloud);
    let done = format!(
        "credential_report_fetch_failures_total{{account=\"{management}\",reason=\"access_denied\"}} 1"
    );
    // Every member's fetch ended: they end in any order, --fetch.concurrency at a time.
    let ended: Vec<String> = (cloud.members().iter())
        .filter(|(id, _)| Some(id) != cloud.inactive().as_ref())
        .map(|(id, _)| {
            format!("credential_report_fetch_last_attempt_timestamp_seconds{{account=\"{id}\"}}")
        })
        .collect();
    let metrics =
        fetcher.metrics_when(|m| m.contains(&done) && ended.iter().all(|e| m.contains(e)));
    let mut lines = Vec::new();
    for (id, name) in cloud.members() {
        lines.push(format!(
            "credential_report_fetch_account_info{{account=\"{id}\",account_name=\"{name}\"}} 1"
        ));
    }
    lines.push(done);
    assert_lines(&metrics, &lines);
    for (id, _) in cloud
        .members()
        .iter()
        .filter(|(id, _)| Some(id) != cloud.inactive().as_ref())
    {
        for metric in [
            "credential_report_fetch_last_attempt_timestamp_seconds",
            "credential_report_fetch_duration_seconds",
        ] {
            assert_says(&metrics, &[&format!("{metric}{{account=\"{id}\"}}")]);
        }
    }
    let (status, logs) = fetcher.stop();
    assert!(status.success(), "SIGTERM should exit 0: {status}");
    assert_no_secrets(&logs, &cloud.secrets());
    assert_no_secrets(&metrics, &cloud.secrets());
}

/// A listing that fails writes and removes nothing, even with `--organization.forget-after=0s`.
pub fn a_failed_listing_touches_no_report<O: Organization>() {
    let cloud = O::start_organization();
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_organization(&cloud, dir.path(), &[]);
    assert_eq!(code, 1, "{logs}");
    let before = snapshot(dir.path());
    cloud.fail(O::LISTING, Fault::Deny, 1);
    let (code, logs) = run_organization(&cloud, dir.path(), &["--organization.forget-after=0s"]);
    assert_eq!(code, 1, "{logs}");
    assert_says(&logs, &["listing the accounts", "(access_denied)"]);
    assert_eq!(snapshot(dir.path()), before, "the folder changed");
    assert_eq!(
        count(&cloud.actions(), O::ASSUME),
        MEMBERS - usize::from(cloud.inactive().is_some()),
        "no member fetched after the failed listing"
    );
}

/// A throttled listing is retried within the round, and the round goes on.
pub fn a_throttled_listing_is_retried<O: Organization>() {
    let cloud = O::start_organization();
    cloud.fail(O::LISTING, Fault::Throttle, 1);
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_organization(&cloud, dir.path(), &["--fetch.retry-backoff=10ms"]);
    assert_eq!(code, 1, "only the management account fails:\n{logs}");
    if O::PROFILE.throttling_fails_the_attempt {
        assert_says(
            &logs,
            &["account=(listing)", "reason=throttled", "retrying"],
        );
    } else {
        // Retried within the call, as every call of a cloud paced by the fetcher.
        assert_says(&logs, &["throttled; backing off"]);
    }
    let written = names(dir.path())
        .iter()
        .filter(|n| n.ends_with(".csv"))
        .count();
    let inactive_members = usize::from(cloud.inactive().is_some());
    assert_eq!(written, MEMBERS - 1 - inactive_members, "{logs}");
}

/// A member that leaves keeps its report until `--organization.forget-after` has passed
/// (the default, a week, keeps it); with `0s` it is removed at the next round. A file the
/// fetcher did not write is never removed.
pub fn departed_members_are_forgotten_and_nothing_else_is<O: Organization>() {
    let cloud = O::start_organization();
    let dir = tempfile::tempdir().unwrap();
    let (code, logs) = run_organization(&cloud, dir.path(), &[]);
    assert_eq!(code, 1, "{logs}");
    let departed = cloud.members()[2].0.clone();
    let report = dir.path().join(format!("{departed}.csv"));
    assert!(report.exists());
    let persons = dir.path().join("999999999999.csv");
    std::fs::write(&persons, "someone's own report").unwrap();
    cloud.remove_member(&departed);
    let (code, logs) = run_organization(&cloud, dir.path(), &[]);
    assert_eq!(code, 1, "{logs}");
    assert!(
        report.exists(),
        "forgotten before --organization.forget-after"
    );
    let (code, logs) = run_organization(&cloud, dir.path(), &["--organization.forget-after=0s"]);
    assert_eq!(code, 1, "{logs}");
    assert!(!report.exists(), "still there:\n{logs}");
    assert_says(&logs, &[&departed, "no longer listed"]);
    assert_eq!(std::fs::read(&persons).unwrap(), b"someone's own report");
}

/// Excluded accounts (by id and by a glob over the name) and other shards' accounts are not
/// called at all; two shards together fetch every member once.
pub fn excluded_accounts_and_other_shards_are_not_called<O: Organization>() {
    let cloud = O::start_organization();
    let members = cloud.members();
    let management = management(&cloud);
    let by_name = &members[4].1;
    let exclude = format!("--organization.exclude={management},{by_name}");
    let mut fetched: Vec<String> = Vec::new();
    for shard in ["0/2", "1/2"] {
        let dir = tempfile::tempdir().unwrap();
        let shard = format!("--organization.shard={shard}");
        let (code, logs) = run_organization(&cloud, dir.path(), &[&exclude, &shard]);
        assert_eq!(code, 0, "{logs}");
        let written = names(dir.path())
            .into_iter()
            .filter(|n| n.ends_with(".csv"));
        fetched.extend(written.map(|n| n.trim_end_matches(".csv").to_owned()));
    }
    fetched.sort();
    let mut expected: Vec<String> = (members.iter())
        .map(|(id, _)| id.clone())
        .filter(|id| *id != management && *id != members[4].0)
        .filter(|id| Some(id) != cloud.inactive().as_ref())
        .collect();
    expected.sort();
    assert_eq!(fetched, expected, "each member once, in one shard");
    assert_eq!(
        count(&cloud.actions(), O::ASSUME),
        expected.len(),
        "an excluded account was called"
    );
}

/// The fetcher in its loop with `--organization` and `extra`.
pub fn spawn_organization<O: Organization>(cloud: &O, dir: &Path, extra: &[&str]) -> Fetcher {
    let own = cloud.args();
    let own: Vec<&str> = own.iter().map(String::as_str).collect();
    let provider = ["--provider", O::PROFILE.provider, "--organization"];
    let args = [&provider[..], &own, extra].concat();
    let env = cloud.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Fetcher::spawn(dir, &args, &env)
}

/// Every file of a folder with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = names(dir)
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
            (name, std::fs::read(&path).unwrap(), modified)
        })
        .collect();
    files.sort();
    files
}
