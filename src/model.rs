//! The provider-neutral model of a credential report: users, their access keys, and the
//! few states each field can be in. Report readers produce it; snapshots consume it.
//!
//! A user is its text (ids and names, borrowed) and its facts (everything else: small,
//! `Copy`, stored as they are by the [`UserTable`]). A fact a provider's report does not
//! carry is [`Flag::NotSupported`] or [`Time::NONE`], and has no series.

mod user_table;

use jiff::Timestamp;

pub use user_table::UserTable;

/// The most access-key slots any provider's report has (Alibaba RAM: two keys and three
/// additional ones). The `key` label says which slot, from 1.
pub const MAX_KEY_SLOTS: usize = 5;

/// Seconds in a day: every "N days" of a count, a check, the status page and a rebuilt
/// report is this many seconds, as the alerts' `N * 86400`.
pub const DAY: i64 = 86_400;

/// How an age is held against a limit. The alerts use both, by the words of what they
/// check, and every count, check, page and rebuilt report says which it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// `>`: "more than 90 days" (a key's age, a stale report).
    MoreThan,
    /// `>=`: "45 days or more" (CIS's unused credentials).
    OrMore,
}

impl Over {
    /// Whether an `age` is over `limit` (both in seconds) this way.
    pub fn holds(self, age: i64, limit: i64) -> bool {
        match self {
            Over::MoreThan => age > limit,
            Over::OrMore => age >= limit,
        }
    }
}

/// Who a row describes. Providers map their own vocabulary onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserType {
    /// The account's owner (AWS `<root_account>`, Alibaba `<root>`).
    Root,
    /// Tencent CAM's kinds.
    SubUser,
    Collaborator,
    WeComSubUser,
    MessageReceiver,
    /// An AWS IAM user.
    IamUser,
    /// An Alibaba Cloud RAM user.
    RamUser,
    /// The cell could not be read; the row still counts, under `user_type="unknown"`.
    Unknown,
}

impl UserType {
    /// In the order of the enum, so `user_type as usize` indexes it.
    pub const ALL: [UserType; 8] = [
        UserType::Root,
        UserType::SubUser,
        UserType::Collaborator,
        UserType::WeComSubUser,
        UserType::MessageReceiver,
        UserType::IamUser,
        UserType::RamUser,
        UserType::Unknown,
    ];

    /// The value of the `user_type` label.
    pub fn label(self) -> &'static str {
        match self {
            UserType::Root => "root",
            UserType::SubUser => "sub_user",
            UserType::Collaborator => "collaborator",
            UserType::WeComSubUser => "wecom_sub_user",
            UserType::MessageReceiver => "message_receiver",
            UserType::IamUser => "iam_user",
            UserType::RamUser => "ram_user",
            UserType::Unknown => "unknown",
        }
    }
}

/// A yes/no cell, with the two ways a report says "this does not apply".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flag {
    True,
    False,
    /// `N/A`: the thing (usually an access key) does not exist.
    NotApplicable,
    /// `not_supported`: the setting does not exist for this kind of user, or this
    /// provider's report does not carry it.
    NotSupported,
    /// The cell held something else; it is counted as a cell error and treated as absent.
    #[default]
    Unreadable,
}

impl Flag {
    /// In the order of the enum, so `flag as usize` indexes it.
    pub const ALL: [Flag; 5] = [
        Flag::True,
        Flag::False,
        Flag::NotApplicable,
        Flag::NotSupported,
        Flag::Unreadable,
    ];

    pub fn is_true(self) -> bool {
        self == Flag::True
    }

    pub fn is_false(self) -> bool {
        self == Flag::False
    }

    /// `Some(true|false)` for a definite answer, `None` where the report gives none.
    pub fn as_bool(self) -> Option<bool> {
        match self {
            Flag::True => Some(true),
            Flag::False => Some(false),
            _ => None,
        }
    }
}

impl From<bool> for Flag {
    fn from(value: bool) -> Flag {
        match value {
            true => Flag::True,
            false => Flag::False,
        }
    }
}

/// An optional whole-second timestamp in eight bytes (`Option<Timestamp>` takes sixteen,
/// and a report holds millions of them). Report dates have no fractions of a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Time(i64);

impl Time {
    /// No time: never happened, not reported, or unreadable. Outside jiff's range, so
    /// never a real time, and less than every real one.
    pub const NONE: Time = Time(i64::MIN);

    pub fn get(self) -> Option<Timestamp> {
        match self {
            Time::NONE => None,
            Time(seconds) => Timestamp::from_second(seconds).ok(),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn seconds(self) -> Option<i64> {
        (self != Time::NONE).then_some(self.0)
    }

    pub fn is_some(self) -> bool {
        self != Time::NONE
    }

    /// How long before `now` (seconds since the epoch) this time was, in seconds; negative
    /// if after it, `None` where there is no time. The one age every count, check, page
    /// and rebuilt report holds against its limit, with [`Over`].
    pub fn age(self, now: i64) -> Option<i64> {
        self.seconds().map(|then| now.saturating_sub(then))
    }

    /// Whether this time is more than `days` days before `now`; `NotApplicable` where
    /// either is unknown. Key ages of reports that carry no age flags come from here.
    pub fn older_than_days(self, days: i64, now: Time) -> Flag {
        match now.seconds().and_then(|now| self.age(now)) {
            Some(age) => Flag::from(Over::MoreThan.holds(age, days * DAY)),
            None => Flag::NotApplicable,
        }
    }
}

impl Default for Time {
    fn default() -> Time {
        Time::NONE
    }
}

impl From<Option<Timestamp>> for Time {
    fn from(time: Option<Timestamp>) -> Time {
        time.map_or(Time::NONE, |t| Time(t.as_second()))
    }
}

impl From<Timestamp> for Time {
    fn from(time: Timestamp) -> Time {
        Time(time.as_second())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyStatus {
    Active,
    Disabled,
    /// The status cell could not be read; the key still counts, under `status="unknown"`.
    Unknown,
}

impl KeyStatus {
    /// In the order of the enum, so `status as usize` indexes it.
    pub const ALL: [KeyStatus; 3] = [KeyStatus::Active, KeyStatus::Disabled, KeyStatus::Unknown];

    /// The value of the `status` label.
    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Disabled => "disabled",
            KeyStatus::Unknown => "unknown",
        }
    }

    /// `Some(true)` if active, `Some(false)` if disabled, `None` if unknown.
    pub fn is_active(self) -> Option<bool> {
        match self {
            KeyStatus::Active => Some(true),
            KeyStatus::Disabled => Some(false),
            KeyStatus::Unknown => None,
        }
    }
}

/// Everything about an access key but its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFacts {
    /// Which of the user's key slots this is, from 1.
    pub slot: u8,
    pub status: KeyStatus,
    /// The provider flags the key as possibly leaked (Tencent's MayBeAtRisk).
    pub at_risk: Flag,
    /// When the key was created (Tencent) or last rotated (AWS, Alibaba): its age counts from here.
    pub created: Time,
    /// `NONE` when the key has never been used (or the cell could not be read).
    pub last_used: Time,
    pub created_over_90_days: Flag,
    pub created_over_30_days: Flag,
}

/// One user's access key. A report slot that holds no key never becomes an `AccessKey`.
///
/// Like [`User`], it borrows its text: from the row being read, or from the [`UserTable`]
/// it is stored in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccessKey<'a> {
    /// The key's id (Tencent's SecretId); empty where the report gives none (AWS, Alibaba).
    pub id: &'a str,
    /// Where and for what the key was last used (AWS); empty where not reported.
    pub last_used_region: &'a str,
    pub last_used_service: &'a str,
    pub facts: KeyFacts,
}

impl AccessKey<'_> {
    pub fn is_active(&self) -> bool {
        self.facts.status == KeyStatus::Active
    }

    pub fn is_at_risk(&self) -> bool {
        self.facts.at_risk.is_true()
    }

    pub fn is_never_used(&self) -> bool {
        !self.facts.last_used.is_some()
    }

    /// The id as logs and default labels show it.
    pub fn masked_id(&self) -> String {
        mask_key_id(self.id)
    }
}

/// A key id as shown in logs, errors and (unless `--metrics.show-secret-ids`) labels: its
/// prefix, which names the kind of key, and its last four characters, which tell keys apart.
pub fn mask_key_id(id: &str) -> String {
    let (head, tail) = key_id_ends(id);
    let mut masked = String::with_capacity(head.len() + '…'.len_utf8() + tail.len());
    masked.push_str(head);
    masked.push('…');
    masked.push_str(tail);
    masked
}

/// What [`mask_key_id`] shows of `id` around its `…`: the first four characters and the
/// last four, or nothing of an id of eight characters or fewer. At most 16 bytes each.
pub fn key_id_ends(id: &str) -> (&str, &str) {
    match id.is_ascii() {
        // Every provider's key ids: characters are bytes.
        true if id.len() > 8 => (&id[..4], &id[id.len() - 4..]),
        true => ("", ""),
        false => {
            let chars = id.chars().count();
            if chars <= 8 {
                return ("", "");
            }
            let at_char = |n: usize| id.char_indices().nth(n).map_or(0, |(at, _)| at);
            (&id[..at_char(4)], &id[at_char(chars - 4)..])
        }
    }
}

/// Everything about a user but its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserFacts {
    pub user_type: UserType,
    pub created: Time,
    /// The user has a console password.
    pub password_enabled: Flag,
    pub password_last_rotated: Time,
    /// The last console sign-in with the password (AWS password_last_used, Alibaba user_last_logon).
    pub password_last_used: Time,
    /// The user may sign in to the console.
    pub console_login: Flag,
    pub login_protection: Flag,
    pub operation_protection: Flag,
    pub mfa: Flag,
    /// Suspicious logins in the last 30 days. Reports give a flag or a count; a count
    /// above zero is `True`.
    pub abnormal_logins: Flag,
    /// X.509 signing certificates (AWS), by slot; `None` where a slot holds none.
    pub signing_certificates: [Option<KeyStatus>; 2],
}

/// One user of a report. It borrows its text, so reading a row allocates nothing: the
/// reader hands out users borrowed from the row, a [`UserTable`] users borrowed from itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct User<'a> {
    pub account_id: &'a str,
    pub username: &'a str,
    pub facts: UserFacts,
    /// The report's key slots in order, `None` where a slot holds no key.
    pub key_slots: [Option<AccessKey<'a>>; MAX_KEY_SLOTS],
}

impl<'a> User<'a> {
    pub fn has_console_without_mfa(&self) -> bool {
        self.facts.console_login.is_true() && self.facts.mfa.is_false()
    }

    /// The user's keys, slot 1 first.
    pub fn keys(&self) -> impl Iterator<Item = &AccessKey<'a>> {
        self.key_slots.iter().flatten()
    }

    pub fn active_keys(&self) -> usize {
        self.keys().filter(|key| key.is_active()).count()
    }

    /// Whether the user may have a console password: the report says `true`, or cannot say
    /// (`not_supported`).
    pub fn may_have_password(&self) -> bool {
        matches!(self.facts.password_enabled, Flag::True | Flag::NotSupported)
    }

    /// How many of the user's signing certificates are active.
    pub fn active_signing_certificates(&self) -> usize {
        (self.facts.signing_certificates.iter())
            .filter(|status| **status == Some(KeyStatus::Active))
            .count()
    }

    /// Whether the root user has anything to sign in or call with, so that its MFA
    /// matters: a password (as [`User::may_have_password`]), an active access key or an
    /// active signing certificate. An AWS Organizations member account's root user has
    /// none by default (AWS's root-user guide).
    pub fn root_has_credentials(&self) -> bool {
        self.may_have_password() || self.active_keys() > 0 || self.active_signing_certificates() > 0
    }

    /// When a console password was last used or, never used, last changed: its "unused
    /// since" for `password_unused_45_days`; `NONE` where the report gives neither.
    pub fn password_unused_since(&self) -> Time {
        match self.facts.password_last_used {
            Time::NONE => self.facts.password_last_rotated,
            used => used,
        }
    }

    /// When the user last did anything the report records: signed in or used a key.
    pub fn last_used(&self) -> Time {
        self.keys()
            .map(|key| key.facts.last_used)
            .fold(self.facts.password_last_used, Time::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_show_their_prefix_and_last_four() {
        assert_eq!(mask_key_id("AKIDabcdefgh1234"), "AKID…1234");
        assert_eq!(mask_key_id("short"), "…");
        assert_eq!(mask_key_id("12345678"), "…");
        assert_eq!(mask_key_id("123456789"), "1234…6789");
        assert_eq!(mask_key_id("甲乙丙丁戊己庚辛"), "…");
        assert_eq!(mask_key_id("LTAI甲乙丙丁戊己庚"), "LTAI…丁戊己庚");
    }

    #[test]
    fn no_time_is_before_every_time() {
        let time = Time::from(Timestamp::from_second(0).unwrap());
        assert!(Time::NONE < time);
        assert_eq!(Time::NONE.max(time), time);
        assert_eq!(Time::NONE.get(), None);
        assert_eq!(time.seconds(), Some(0));
    }
}
