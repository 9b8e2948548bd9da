//! A report's users, stored compactly for per-user metrics: one text buffer for all their
//! ids and names, their facts as they are, and their keys back to back.

use super::{AccessKey, KeyFacts, User, UserFacts, MAX_KEY_SLOTS};

/// Users as kept between reloads, in less memory than their CSV rows: owned `String`s and
/// `Vec`s per user took more than the rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserTable {
    /// Every user's account id and username, then each key's id, region and service.
    text: String,
    users: Vec<StoredUser>,
    /// Every user's keys, in user order.
    keys: Vec<StoredKey>,
}

#[derive(Debug, Clone, PartialEq)]
struct StoredUser {
    /// Where this user's strings start in `text`.
    start: usize,
    /// Where the account id and username end, counted from `start`. Ids are short (the
    /// reader voids any over 1 KiB), so `u32` is plenty.
    ends: [u32; 2],
    /// The user's keys are `keys[first_key..]`, up to the next user's first key.
    first_key: u32,
    facts: UserFacts,
}

#[derive(Debug, Clone, PartialEq)]
struct StoredKey {
    /// Where the key's id, region and service end, counted from its user's `start`.
    ends: [u32; 3],
    facts: KeyFacts,
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

    /// Stores a copy of `user`.
    pub fn push(&mut self, user: &User<'_>) {
        let UserTable { text, users, keys } = self;
        let start = text.len();
        let end_of = |text: &mut String, string: &str| {
            text.push_str(string);
            u32::try_from(text.len() - start).expect("a user's ids fit in 4 GiB")
        };
        let ends = [end_of(text, user.account_id), end_of(text, user.username)];
        let first_key = u32::try_from(keys.len()).expect("fewer than 4 billion keys");
        for key in user.keys() {
            let ends = [key.id, key.last_used_region, key.last_used_service]
                .map(|string| end_of(text, string));
            keys.push(StoredKey {
                ends,
                facts: key.facts,
            });
        }
        users.push(StoredUser {
            start,
            ends,
            first_key,
            facts: user.facts,
        });
    }

    /// Gives back the room the table grew into and did not fill (growing doubles it): the
    /// table lives until the next version of its report.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.keys.shrink_to_fit();
        // Shrinking in place: the allocator splits the block and copies nothing.
        // A few spare slots are not worth a copy.
        if self.users.capacity() - self.users.len() > self.users.len() / 64 {
            self.users.shrink_to_fit();
        }
    }

    /// The users in report order.
    pub fn iter(&self) -> impl Iterator<Item = User<'_>> + Clone + '_ {
        (self.users.iter().enumerate()).map(|(index, stored)| self.user(index, stored))
    }

    fn user<'a>(&'a self, index: usize, stored: &StoredUser) -> User<'a> {
        let text = &self.text[stored.start..];
        let [account_id, username] = stored.ends.map(|end| end as usize);
        let keys_end = self
            .users
            .get(index + 1)
            .map_or(self.keys.len(), |next| next.first_key as usize);
        // Each key goes back to the slot the report gave it: a user with only key 2 has it second.
        let mut key_slots = [None; MAX_KEY_SLOTS];
        let mut from = username;
        for key in &self.keys[stored.first_key as usize..keys_end] {
            let [id, region, service] = key.ends.map(|end| end as usize);
            key_slots[usize::from(key.facts.slot) - 1] = Some(AccessKey {
                id: &text[from..id],
                last_used_region: &text[id..region],
                last_used_service: &text[region..service],
                facts: key.facts,
            });
            from = service;
        }
        User {
            account_id: &text[..account_id],
            username: &text[account_id..username],
            facts: stored.facts,
            key_slots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Flag, KeyStatus, Time, UserType};

    fn time(text: &str) -> Time {
        Time::from(text.parse::<jiff::Timestamp>().unwrap())
    }

    #[test]
    fn users_come_back_as_they_went_in() {
        let key = AccessKey {
            id: "AKIDsecond",
            last_used_region: "",
            last_used_service: "",
            facts: KeyFacts {
                slot: 2,
                status: KeyStatus::Disabled,
                at_risk: Flag::True,
                created: time("2024-11-01T00:00:00Z"),
                last_used: Time::NONE,
                created_over_90_days: Flag::False,
                created_over_30_days: Flag::Unreadable,
            },
        };
        let facts = UserFacts {
            user_type: UserType::SubUser,
            created: time("1970-01-01T00:00:00Z"),
            password_enabled: Flag::True,
            password_last_rotated: Time::NONE,
            password_last_used: Time::NONE,
            console_login: Flag::False,
            login_protection: Flag::NotSupported,
            operation_protection: Flag::Unreadable,
            mfa: Flag::NotApplicable,
            abnormal_logins: Flag::True,
            signing_certificates: [None, Some(KeyStatus::Active)],
        };
        let with_second_key_only = User {
            account_id: "1001",
            username: "张三, \"DBA\"",
            facts,
            key_slots: [None, Some(key), None, None, None],
        };
        let fifth = AccessKey {
            last_used_region: "us-east-1",
            last_used_service: "s3",
            facts: KeyFacts {
                slot: 5,
                ..key.facts
            },
            ..key
        };
        let receiver = User {
            account_id: "",
            username: "pager",
            facts: UserFacts {
                user_type: UserType::MessageReceiver,
                ..facts
            },
            key_slots: [
                Some(AccessKey {
                    facts: KeyFacts {
                        slot: 1,
                        ..key.facts
                    },
                    ..key
                }),
                None,
                None,
                None,
                Some(fifth),
            ],
        };
        let mut table = UserTable::new();
        table.push(&with_second_key_only);
        table.push(&receiver);
        table.shrink_to_fit();
        let users: Vec<User> = table.iter().collect();
        assert_eq!(users, [with_second_key_only, receiver]);
        assert_eq!(
            users[1].keys().map(|k| k.facts.slot).collect::<Vec<_>>(),
            [1, 5]
        );
        assert_eq!(table.len(), 2);
    }
}
