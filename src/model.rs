//! The provider-neutral model of a credential report: users, their access keys, and the
//! few states each field can be in. Report readers produce it; snapshots consume it.

mod table;

use jiff::Timestamp;

pub use table::UserTable;

/// Who a row describes. Providers map their own vocabulary onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserType {
    SubUser,
    Collaborator,
    WeComSubUser,
    MessageReceiver,
    /// The cell could not be read; the row still counts, under `user_type="unknown"`.
    Unknown,
}

impl UserType {
    /// In the order of the enum, so `user_type as usize` indexes it.
    pub const ALL: [UserType; 5] = [
        UserType::SubUser,
        UserType::Collaborator,
        UserType::WeComSubUser,
        UserType::MessageReceiver,
        UserType::Unknown,
    ];

    /// The value of the `user_type` label.
    pub fn label(self) -> &'static str {
        match self {
            UserType::SubUser => "sub_user",
            UserType::Collaborator => "collaborator",
            UserType::WeComSubUser => "wecom_sub_user",
            UserType::MessageReceiver => "message_receiver",
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
    /// `not_supported`: the setting does not exist for this kind of user.
    NotSupported,
    /// The cell held something else; it is counted as a cell error and treated as absent.
    #[default]
    Unreadable,
}

impl Flag {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyStatus {
    Active,
    Disabled,
}

impl KeyStatus {
    pub const ALL: [KeyStatus; 2] = [KeyStatus::Active, KeyStatus::Disabled];

    /// The value of the `status` label.
    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Disabled => "disabled",
        }
    }
}

/// One user's access key. A report slot holding `N/A` is no key at all, not a key in
/// an odd state, so it never becomes an `AccessKey`.
///
/// Like [`User`], it borrows its text: from the row being read, or from the [`UserTable`]
/// it is stored in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccessKey<'a> {
    /// Which of the user's key slots this is (1 or 2).
    pub slot: u8,
    pub secret_id: &'a str,
    /// `None` when the status cell could not be read.
    pub status: Option<KeyStatus>,
    pub at_risk: Flag,
    pub created: Option<Timestamp>,
    /// `None` when the key has never been used (or the cell could not be read).
    pub last_used: Option<Timestamp>,
    pub created_over_90_days: Flag,
    pub created_over_30_days: Flag,
}

impl AccessKey<'_> {
    pub fn is_active(&self) -> bool {
        self.status == Some(KeyStatus::Active)
    }

    pub fn is_at_risk(&self) -> bool {
        self.at_risk.is_true()
    }

    pub fn is_never_used(&self) -> bool {
        self.last_used.is_none()
    }
}

/// One user of a report. It borrows its text, so reading a row allocates nothing: the
/// reader hands out users borrowed from the row, a [`UserTable`] users borrowed from itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct User<'a> {
    pub account_id: &'a str,
    pub username: &'a str,
    pub user_type: UserType,
    pub created: Option<Timestamp>,
    pub password_enabled: Flag,
    pub password_last_rotated: Option<Timestamp>,
    pub console_login: Flag,
    pub login_protection: Flag,
    pub operation_protection: Flag,
    pub mfa: Flag,
    /// Suspicious logins in the last 30 days. Reports give a flag or a count; a count
    /// above zero is `True`.
    pub abnormal_logins: Flag,
    /// The report's two key slots, `None` where a slot holds no key.
    pub key_slots: [Option<AccessKey<'a>>; 2],
}

impl<'a> User<'a> {
    pub fn has_console_without_mfa(&self) -> bool {
        self.console_login.is_true() && self.mfa.is_false()
    }

    /// The user's keys, slot 1 first.
    pub fn keys(&self) -> impl Iterator<Item = &AccessKey<'a>> {
        self.key_slots.iter().flatten()
    }

    pub fn active_keys(&self) -> usize {
        self.keys().filter(|key| key.is_active()).count()
    }
}
