//! `fetch --organization`, the part every cloud shares: which listed accounts a round
//! fetches (active, not excluded, in this replica's shard), and the record of the reports
//! the fetcher wrote, so that the report of an account that left is removed after
//! `--organization.forget-after`, and no file the fetcher did not write ever is.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::Account;
use crate::config::parse_duration;

/// The organization flags every provider shares.
#[derive(Debug, Clone, clap::Args)]
pub struct Flags {
    /// Fetch every member account of the organization the credentials manage (AWS Organizations, Alibaba Cloud Resource Directory, Tencent Cloud Organization), each through a role in the member, one report per account named by its id.
    #[arg(
        id = "organization",
        long = "organization",
        env = "CREDENTIAL_REPORT_FETCH_ORGANIZATION"
    )]
    pub enabled: bool,

    /// With --organization: skip these accounts, by id or by a glob over the name (`sandbox-*`); repeat it or separate with commas.
    #[arg(
        id = "organization.exclude",
        long = "organization.exclude",
        env = "CREDENTIAL_REPORT_FETCH_ORGANIZATION_EXCLUDE",
        value_name = "ID|GLOB",
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        requires = "organization"
    )]
    pub exclude: Vec<String>,

    /// With --organization: fetch only the accounts whose id hashes to shard I of N (`0/3`), so N replicas split an organization; stable across restarts.
    #[arg(
        id = "organization.shard",
        long = "organization.shard",
        env = "CREDENTIAL_REPORT_FETCH_ORGANIZATION_SHARD",
        value_name = "I/N",
        value_parser = parse_shard,
        requires = "organization"
    )]
    pub shard: Option<Shard>,

    /// With --organization: remove the report of an account no longer listed (or no longer active) after it has been absent this long; `0s` removes it at the next round.
    #[arg(
        id = "organization.forget-after",
        long = "organization.forget-after",
        env = "CREDENTIAL_REPORT_FETCH_ORGANIZATION_FORGET_AFTER",
        value_name = "DURATION",
        default_value = "168h",
        value_parser = parse_duration
    )]
    pub forget_after: Duration,

    /// With --organization: the account tags whose values become labels of credential_report_fetch_account_info (as `tag_<key>`), to route alerts to the owning team; repeat it or separate with commas.
    #[arg(
        id = "organization.tag-labels",
        long = "organization.tag-labels",
        env = "CREDENTIAL_REPORT_FETCH_ORGANIZATION_TAG_LABELS",
        value_name = "KEY",
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        requires = "organization"
    )]
    pub tag_labels: Vec<String>,

    /// At most this many accounts are fetched at the same time (each within its own API limits).
    #[arg(
        id = "fetch.concurrency",
        long = "fetch.concurrency",
        env = "CREDENTIAL_REPORT_FETCH_CONCURRENCY",
        value_name = "N",
        default_value_t = 8,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub concurrency: u16,
}

/// One of N replicas' share of an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether `account` is this shard's: CRC-32 of the id, fixed by its definition, so
    /// every replica of every version agrees on it.
    pub fn holds(self, account: &str) -> bool {
        crc32fast::hash(account.as_bytes()) % self.count == self.index
    }
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let parsed = text.split_once('/').and_then(|(index, count)| {
        Some(Shard {
            index: index.trim().parse().ok()?,
            count: count.trim().parse().ok()?,
        })
    });
    match parsed {
        Some(shard) if shard.count >= 1 && shard.index < shard.count => Ok(shard),
        _ => Err(format!(
            "{text:?} is not a shard: write I/N with 0 <= I < N, e.g. 0/3 for the first of three replicas"
        )),
    }
}

/// Which listed accounts a round fetches.
pub struct Selection {
    ids: Vec<String>,
    names: GlobSet,
    shard: Option<Shard>,
}

impl Selection {
    pub fn new(flags: &Flags) -> anyhow::Result<Selection> {
        let mut names = GlobSetBuilder::new();
        let mut ids = Vec::new();
        for pattern in &flags.exclude {
            let pattern = pattern.trim();
            if pattern.is_empty() {
                continue;
            }
            ids.push(pattern.to_owned());
            let glob = Glob::new(pattern).map_err(|e| {
                anyhow::anyhow!("--organization.exclude={pattern:?} is not a glob: {e}")
            })?;
            names.add(glob);
        }
        Ok(Selection {
            ids,
            names: names.build()?,
            shard: flags.shard,
        })
    }

    /// Why `account` is not fetched, or `None` when it is.
    pub fn skips(&self, account: &Account) -> Option<&'static str> {
        if !account.active {
            return Some("not active");
        }
        if self.ids.contains(&account.id) || self.names.is_match(&account.name) {
            return Some("excluded by --organization.exclude");
        }
        match self.shard {
            Some(shard) if !shard.holds(&account.id) => Some("another shard's"),
            _ => None,
        }
    }
}

/// The hidden file in the report folder that records what the fetcher wrote: the exporter
/// ignores hidden files, and the fetcher removes only the reports named here.
pub const LEDGER_FILE: &str = ".credential-report-fetcher.json";

/// The reports this fetcher wrote, by account id: when the account was last listed as one
/// to fetch (Unix seconds). A file only a person put in the folder is never in it.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Ledger {
    written: BTreeMap<String, i64>,
}

impl Ledger {
    /// The folder's ledger; an absent one is empty, an unreadable one is an error (it is
    /// not replaced: the next round would forget what was written).
    pub fn load(dir: &Path) -> io::Result<Ledger> {
        let path = dir.join(LEDGER_FILE);
        match fs::read(&path) {
            Ok(bytes) if bytes.len() <= 16 << 20 => serde_json::from_slice(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "over 16 MiB: not a ledger this fetcher wrote",
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(e) => Err(e),
        }
    }

    /// Notes that this fetcher wrote `account`'s report at `now`.
    pub fn seen(&mut self, account: &str, now: i64) {
        self.written.insert(account.to_owned(), now);
    }

    /// Notes that `account` is still listed at `now`, if its report is one this fetcher
    /// wrote (a failed fetch of a listed account does not make it departed).
    pub fn still_listed(&mut self, account: &str, now: i64) {
        if let Some(last) = self.written.get_mut(account) {
            *last = now;
        }
    }

    /// The accounts not in `listed` (this round's) and absent since longer than
    /// `forget_after` at `now`, taken out of the ledger: their reports are to be removed.
    pub fn forget(
        &mut self,
        listed: &BTreeSet<&str>,
        now: i64,
        forget_after: Duration,
    ) -> Vec<String> {
        let limit = i64::try_from(forget_after.as_secs()).unwrap_or(i64::MAX);
        let gone: Vec<String> = (self.written.iter())
            .filter(|&(account, _)| !listed.contains(account.as_str()))
            .filter(|&(_, &last)| now.saturating_sub(last) >= limit)
            .map(|(account, _)| account.clone())
            .collect();
        for account in &gone {
            self.written.remove(account);
        }
        gone
    }

    /// Writes the ledger by rename, as reports are written.
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        super::writer::write_file(dir, LEDGER_FILE, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn account(id: &str, name: &str, active: bool) -> Account {
        Account {
            id: id.to_owned(),
            name: name.to_owned(),
            tags: Vec::new(),
            active,
            role: None,
        }
    }

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        flags: Flags,
    }

    fn flags(args: &[&str]) -> Result<Flags, clap::Error> {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).map(|c| c.flags)
    }

    #[test]
    fn excluded_inactive_and_other_shards_are_skipped() {
        let flags = flags(&[
            "--organization",
            "--organization.exclude=111111111111,sandbox-*",
        ])
        .unwrap();
        let selection = Selection::new(&flags).unwrap();
        assert_eq!(
            selection.skips(&account("222222222222", "prod", true)),
            None
        );
        assert!(selection
            .skips(&account("111111111111", "management", true))
            .is_some());
        assert!(selection
            .skips(&account("333333333333", "sandbox-7", true))
            .is_some());
        assert_eq!(
            selection.skips(&account("444444444444", "prod-2", false)),
            Some("not active")
        );
    }

    #[test]
    fn shards_split_accounts_whole_and_stably() {
        let ids: Vec<String> = (0..300).map(|i| format!("{:012}", 100_000 + i)).collect();
        let mut held = vec![0; ids.len()];
        for index in 0..3 {
            let shard = Shard { index, count: 3 };
            for (i, id) in ids.iter().enumerate() {
                held[i] += u32::from(shard.holds(id));
            }
        }
        assert!(
            held.iter().all(|&n| n == 1),
            "each account in exactly one shard"
        );
        // Fixed by CRC-32's definition (its published check value), so a replica keeps its
        // accounts across versions: 0xCBF43926 % 3 is 2.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert!(Shard { index: 2, count: 3 }.holds("123456789"));
    }

    #[test]
    fn shard_and_exclude_need_organization() {
        assert!(flags(&["--organization.shard=0/2"]).is_err());
        assert!(flags(&["--organization", "--organization.shard=2/2"]).is_err());
        assert!(flags(&["--organization", "--organization.shard=a/b"]).is_err());
        let shard = flags(&["--organization", "--organization.shard=1/2"])
            .unwrap()
            .shard;
        assert_eq!(shard, Some(Shard { index: 1, count: 2 }));
    }

    #[test]
    fn ledger_forgets_only_what_was_absent_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::load(dir.path()).unwrap();
        ledger.seen("a", 1_000);
        ledger.seen("b", 5_000);
        ledger.save(dir.path()).unwrap();
        let mut ledger = Ledger::load(dir.path()).unwrap();
        let none = BTreeSet::new();
        let week = Duration::from_secs(2_000);
        assert_eq!(ledger.forget(&none, 6_000, week), ["a"]);
        assert_eq!(ledger.forget(&none, 6_000, week), Vec::<String>::new());
        // Listed this round: never forgotten, however short the time.
        let listed = BTreeSet::from(["b"]);
        assert!(ledger.forget(&listed, 5_000, Duration::ZERO).is_empty());
        assert_eq!(ledger.forget(&none, 5_000, Duration::ZERO), ["b"]);
    }

    #[test]
    fn a_ledger_that_is_not_json_is_an_error_not_an_empty_ledger() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(LEDGER_FILE), "{not json").unwrap();
        assert!(Ledger::load(dir.path()).is_err());
    }
}
