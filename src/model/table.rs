//! A report's users, stored compactly for per-user metrics: one text buffer for all their
//! ids and names, and a fixed-size record per user with times as seconds.

use jiff::Timestamp;

use super::{AccessKey, Flag, KeyStatus, User, UserType};

/// Users as kept between reloads. A million users with their keys take about 150 bytes
/// each here, less than their CSV rows; owned `String`s and `Vec`s per user took twice that.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserTable {
    /// Every user's account id, username and SecretIds, back to back.
    text: String,
    users: Vec<StoredUser>,
}

#[derive(Debug, Clone, PartialEq)]
struct StoredUser {
    /// Where this user's strings start in `text`.
    start: usize,
    /// Where the account id, username and the two SecretIds end, counted from `start`.
    /// Ids are short (the reader voids any over 1 KiB), so `u32` is plenty.
    ends: [u32; 4],
    created: Seconds,
    password_last_rotated: Seconds,
    key_slots: [StoredKey; 2],
    user_type: UserType,
    password_enabled: Flag,
    console_login: Flag,
    login_protection: Flag,
    operation_protection: Flag,
    mfa: Flag,
    abnormal_logins: Flag,
}

#[derive(Debug, Clone, PartialEq)]
struct StoredKey {
    created: Seconds,
    last_used: Seconds,
    present: bool,
    status: Option<KeyStatus>,
    at_risk: Flag,
    created_over_90_days: Flag,
    created_over_30_days: Flag,
}

const NO_KEY: StoredKey = StoredKey {
    created: Seconds::NONE,
    last_used: Seconds::NONE,
    present: false,
    status: None,
    at_risk: Flag::NotApplicable,
    created_over_90_days: Flag::NotApplicable,
    created_over_30_days: Flag::NotApplicable,
};

/// An optional whole-second timestamp in eight bytes (`Option<Timestamp>` takes sixteen).
/// Report dates have no fractions of a second, so nothing is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seconds(i64);

impl Seconds {
    /// Outside jiff's range, so never a real time.
    const NONE: Seconds = Seconds(i64::MIN);

    fn from(time: Option<Timestamp>) -> Seconds {
        time.map_or(Seconds::NONE, |t| Seconds(t.as_second()))
    }

    fn get(self) -> Option<Timestamp> {
        match self {
            Seconds::NONE => None,
            Seconds(seconds) => Timestamp::from_second(seconds).ok(),
        }
    }
}

impl UserTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Makes room for `users` more users.
    pub fn reserve(&mut self, users: usize) {
        self.users.reserve_exact(users);
    }

    /// Stores a copy of `user`.
    pub fn push(&mut self, user: &User<'_>) {
        let start = self.text.len();
        let mut ends = [0; 4];
        let secret_ids = user.key_slots.map(|key| key.map_or("", |k| k.secret_id));
        let strings = [user.account_id, user.username, secret_ids[0], secret_ids[1]];
        for (end, string) in ends.iter_mut().zip(strings) {
            self.text.push_str(string);
            *end = u32::try_from(self.text.len() - start).expect("a user's ids fit in 4 GiB");
        }
        self.users.push(StoredUser {
            start,
            ends,
            created: Seconds::from(user.created),
            password_last_rotated: Seconds::from(user.password_last_rotated),
            key_slots: user.key_slots.map(|key| match key {
                None => NO_KEY,
                Some(key) => StoredKey {
                    created: Seconds::from(key.created),
                    last_used: Seconds::from(key.last_used),
                    present: true,
                    status: key.status,
                    at_risk: key.at_risk,
                    created_over_90_days: key.created_over_90_days,
                    created_over_30_days: key.created_over_30_days,
                },
            }),
            user_type: user.user_type,
            password_enabled: user.password_enabled,
            console_login: user.console_login,
            login_protection: user.login_protection,
            operation_protection: user.operation_protection,
            mfa: user.mfa,
            abnormal_logins: user.abnormal_logins,
        });
    }

    /// Gives back memory reserved for users that never came: the table lives until the
    /// next version of its report.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        // A few spare slots (a reservation by line count) are not worth a copy.
        if self.users.capacity() - self.users.len() > self.users.len() / 64 {
            self.users.shrink_to_fit();
        }
    }

    /// The users in report order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = User<'_>> + Clone + '_ {
        self.users.iter().map(|stored| self.user(stored))
    }

    fn user<'a>(&'a self, stored: &StoredUser) -> User<'a> {
        let text = &self.text[stored.start..];
        let [account_id, username, secret1, secret2] = stored.ends.map(|end| end as usize);
        let secret_ids = [&text[username..secret1], &text[secret1..secret2]];
        let mut slot = 0;
        let key_slots = stored.key_slots.each_ref().map(|key| {
            slot += 1;
            key.present.then(|| AccessKey {
                slot,
                secret_id: secret_ids[usize::from(slot) - 1],
                status: key.status,
                at_risk: key.at_risk,
                created: key.created.get(),
                last_used: key.last_used.get(),
                created_over_90_days: key.created_over_90_days,
                created_over_30_days: key.created_over_30_days,
            })
        });
        User {
            account_id: &text[..account_id],
            username: &text[account_id..username],
            user_type: stored.user_type,
            created: stored.created.get(),
            password_enabled: stored.password_enabled,
            password_last_rotated: stored.password_last_rotated.get(),
            console_login: stored.console_login,
            login_protection: stored.login_protection,
            operation_protection: stored.operation_protection,
            mfa: stored.mfa,
            abnormal_logins: stored.abnormal_logins,
            key_slots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(text: &str) -> Option<Timestamp> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn users_come_back_as_they_went_in() {
        let key = AccessKey {
            slot: 2,
            secret_id: "AKIDsecond",
            status: Some(KeyStatus::Disabled),
            at_risk: Flag::True,
            created: time("2024-11-01T00:00:00Z"),
            last_used: None,
            created_over_90_days: Flag::False,
            created_over_30_days: Flag::Unreadable,
        };
        let with_second_key_only = User {
            account_id: "1001",
            username: "张三, \"DBA\"",
            user_type: UserType::SubUser,
            created: time("1970-01-01T00:00:00Z"),
            password_enabled: Flag::True,
            password_last_rotated: None,
            console_login: Flag::False,
            login_protection: Flag::NotSupported,
            operation_protection: Flag::Unreadable,
            mfa: Flag::NotApplicable,
            abnormal_logins: Flag::True,
            key_slots: [None, Some(key)],
        };
        let receiver = User {
            account_id: "",
            username: "pager",
            user_type: UserType::MessageReceiver,
            created: time("2019-08-16T01:25:56Z"),
            key_slots: [Some(AccessKey { slot: 1, ..key }), None],
            ..with_second_key_only
        };
        let mut table = UserTable::new();
        table.push(&with_second_key_only);
        table.push(&receiver);
        table.shrink_to_fit();
        let users: Vec<User> = table.iter().collect();
        assert_eq!(users, [with_second_key_only, receiver]);
        assert_eq!(users[0].keys().map(|k| k.slot).collect::<Vec<_>>(), [2]);
        assert_eq!(table.len(), 2);
    }
}
