//! A report's users, stored compactly for per-user metrics: columns that are written and
//! read in report order, each user's and key's states packed into the bits of one integer,
//! and only the times and texts that are there.

use std::ops::Range;

use super::{AccessKey, Flag, KeyFacts, KeyStatus, Time, User, UserFacts, UserType, MAX_KEY_SLOTS};

/// Users as kept between reloads, in less memory than their CSV rows however short the
/// rows: a row of one-letter cells is under 30 bytes, and a user kept with fixed fields
/// (its times, a text offset) took 64 bytes and each key 40 (issue 27's bound: a read
/// holds at most 1.2 × the file's size + 20 MiB).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserTable {
    /// Each user's states, which of its times and key slots it has, and whether its
    /// account id is the user before's ([`UserTable::push`]).
    users: Vec<u64>,
    /// Each key's states, and which of its times and texts it has, in user order.
    keys: Vec<u16>,
    /// The times that are there, in the order they are packed.
    times: Vec<Time>,
    /// The byte length of each text in `text`, LEB128: one byte below 128.
    lengths: Vec<u8>,
    /// Each user's account id where it is not the user before's (a report is almost always
    /// one account), its username, then its keys' id, region and service where not empty.
    text: String,
    /// Where the last account id stored is in `text`.
    account: Range<usize>,
}

/// Small values packed into the bits of an integer, the first in the lowest bits.
#[derive(Default)]
struct Bits {
    bits: u64,
    at: u32,
}

impl Bits {
    fn put(&mut self, value: usize, width: u32) {
        debug_assert!(value < 1 << width && self.at + width <= 64);
        self.bits |= (value as u64) << self.at;
        self.at += width;
    }

    fn take(&mut self, width: u32) -> usize {
        let value = (self.bits >> self.at) & ((1 << width) - 1);
        self.at += width;
        value as usize
    }

    fn put_flag(&mut self, flag: Flag) {
        self.put(flag as usize, 3);
    }

    fn take_flag(&mut self) -> Flag {
        Flag::ALL[self.take(3)]
    }

    fn put_status(&mut self, status: Option<KeyStatus>) {
        self.put(status.map_or(0, |status| status as usize + 1), 2);
    }

    fn take_status(&mut self) -> Option<KeyStatus> {
        self.take(2)
            .checked_sub(1)
            .map(|status| KeyStatus::ALL[status])
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

    /// Stores a copy of `user`. `Users::next` reads it back in the same order.
    pub fn push(&mut self, user: &User<'_>) {
        let facts = &user.facts;
        let mut bits = Bits::default();
        bits.put(facts.user_type as usize, 3);
        for flag in [
            facts.password_enabled,
            facts.console_login,
            facts.login_protection,
            facts.operation_protection,
            facts.mfa,
            facts.abnormal_logins,
        ] {
            bits.put_flag(flag);
        }
        for status in facts.signing_certificates {
            bits.put_status(status);
        }
        for time in [
            facts.created,
            facts.password_last_rotated,
            facts.password_last_used,
        ] {
            self.put_time(&mut bits, time);
        }
        let same_account = user.account_id == &self.text[self.account.clone()];
        bits.put(usize::from(same_account), 1);
        if !same_account {
            let start = self.text.len();
            self.put_text(user.account_id);
            self.account = start..self.text.len();
        }
        self.put_text(user.username);
        for slot in &user.key_slots {
            bits.put(usize::from(slot.is_some()), 1);
            if let Some(key) = slot {
                self.push_key(key);
            }
        }
        self.users.push(bits.bits);
    }

    fn push_key(&mut self, key: &AccessKey<'_>) {
        let facts = &key.facts;
        let mut bits = Bits::default();
        bits.put(facts.status as usize, 2);
        for flag in [
            facts.at_risk,
            facts.created_over_90_days,
            facts.created_over_30_days,
        ] {
            bits.put_flag(flag);
        }
        for time in [facts.created, facts.last_used] {
            self.put_time(&mut bits, time);
        }
        // Most keys have no id (AWS, Alibaba) or no place of last use (Tencent, Alibaba).
        for text in [key.id, key.last_used_region, key.last_used_service] {
            bits.put(usize::from(!text.is_empty()), 1);
            if !text.is_empty() {
                self.put_text(text);
            }
        }
        self.keys
            .push(u16::try_from(bits.bits).expect("a key's states fit in 16 bits"));
    }

    fn put_time(&mut self, bits: &mut Bits, time: Time) {
        bits.put(usize::from(time.is_some()), 1);
        if time.is_some() {
            self.times.push(time);
        }
    }

    fn put_text(&mut self, text: &str) {
        let mut length = text.len();
        while length >= 0x80 {
            self.lengths.push(length as u8 | 0x80);
            length >>= 7;
        }
        self.lengths.push(length as u8);
        self.text.push_str(text);
    }

    /// Gives back the room the table grew into and did not fill (growing doubles it): the
    /// table lives until the next version of its report.
    pub fn shrink_to_fit(&mut self) {
        self.users.shrink_to_fit();
        self.keys.shrink_to_fit();
        self.times.shrink_to_fit();
        self.lengths.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    /// The users in report order.
    pub fn iter(&self) -> impl Iterator<Item = User<'_>> + Clone + '_ {
        Users {
            table: self,
            user: 0,
            key: 0,
            time: 0,
            length: 0,
            text: 0,
            account: "",
        }
    }
}

/// The users of a [`UserTable`] in report order, each read where the one before ended.
#[derive(Debug, Clone)]
struct Users<'a> {
    table: &'a UserTable,
    /// The next user, key, time, length and text to read.
    user: usize,
    key: usize,
    time: usize,
    length: usize,
    text: usize,
    /// The account id of the user read last.
    account: &'a str,
}

impl<'a> Iterator for Users<'a> {
    type Item = User<'a>;

    fn next(&mut self) -> Option<User<'a>> {
        let mut bits = Bits {
            bits: *self.table.users.get(self.user)?,
            at: 0,
        };
        self.user += 1;
        let user_type = UserType::ALL[bits.take(3)];
        let [password_enabled, console_login, login_protection, operation_protection, mfa, abnormal_logins] =
            [(); 6].map(|()| bits.take_flag());
        let signing_certificates = [(); 2].map(|()| bits.take_status());
        let [created, password_last_rotated, password_last_used] =
            [(); 3].map(|()| self.take_time(&mut bits));
        if bits.take(1) == 0 {
            self.account = self.take_text();
        }
        let username = self.take_text();
        let mut key_slots = [None; MAX_KEY_SLOTS];
        for (slot, key) in (1..).zip(&mut key_slots) {
            if bits.take(1) == 1 {
                *key = Some(self.take_key(slot));
            }
        }
        Some(User {
            account_id: self.account,
            username,
            facts: UserFacts {
                user_type,
                created,
                password_enabled,
                password_last_rotated,
                password_last_used,
                console_login,
                login_protection,
                operation_protection,
                mfa,
                abnormal_logins,
                signing_certificates,
            },
            key_slots,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.table.users.len() - self.user;
        (left, Some(left))
    }
}

impl<'a> Users<'a> {
    fn take_key(&mut self, slot: u8) -> AccessKey<'a> {
        let mut bits = Bits {
            bits: u64::from(self.table.keys[self.key]),
            at: 0,
        };
        self.key += 1;
        let status = KeyStatus::ALL[bits.take(2)];
        let [at_risk, created_over_90_days, created_over_30_days] =
            [(); 3].map(|()| bits.take_flag());
        let [created, last_used] = [(); 2].map(|()| self.take_time(&mut bits));
        let [id, last_used_region, last_used_service] = [(); 3].map(|()| match bits.take(1) {
            1 => self.take_text(),
            _ => "",
        });
        AccessKey {
            id,
            last_used_region,
            last_used_service,
            facts: KeyFacts {
                slot,
                status,
                at_risk,
                created,
                last_used,
                created_over_90_days,
                created_over_30_days,
            },
        }
    }

    fn take_time(&mut self, bits: &mut Bits) -> Time {
        match bits.take(1) {
            1 => {
                self.time += 1;
                self.table.times[self.time - 1]
            }
            _ => Time::NONE,
        }
    }

    fn take_text(&mut self) -> &'a str {
        let (mut length, mut shift) = (0, 0);
        loop {
            let byte = self.table.lengths[self.length];
            self.length += 1;
            length |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte < 0x80 {
                break;
            }
        }
        self.text += length;
        &self.table.text[self.text - length..self.text]
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

    /// Every state of every fact, in every place, with and without each time and text,
    /// comes back: the bits are read in the order they were packed.
    #[test]
    fn every_state_comes_back() {
        let long = "n".repeat(20_000);
        let names: Vec<String> = (0..64).map(|i| format!("user{i}")).collect();
        let time = |n: usize| match n % 3 {
            0 => Time::NONE,
            _ => Time::from(jiff::Timestamp::from_second(n as i64 * 1_000_003).unwrap()),
        };
        let users: Vec<User> = (0..64)
            .map(|i| {
                let flag = |k: usize| Flag::ALL[(i + k) % Flag::ALL.len()];
                let key = |slot: usize| AccessKey {
                    id: ["", "AKIDx"][i % 2],
                    last_used_region: ["", "us-east-1"][i / 2 % 2],
                    last_used_service: [&long, "s3", ""][i % 3],
                    facts: KeyFacts {
                        slot: slot as u8,
                        status: KeyStatus::ALL[(i + slot) % 3],
                        at_risk: flag(slot),
                        created: time(i + slot),
                        last_used: time(i + 2 * slot),
                        created_over_90_days: flag(slot + 1),
                        created_over_30_days: flag(slot + 2),
                    },
                };
                User {
                    account_id: ["1", "1", "", "2", "2", &long][i % 6],
                    username: [&names[i], "", &long][i % 3],
                    facts: UserFacts {
                        user_type: UserType::ALL[i % UserType::ALL.len()],
                        created: time(i),
                        password_enabled: flag(0),
                        password_last_rotated: time(i + 1),
                        password_last_used: time(i + 2),
                        console_login: flag(1),
                        login_protection: flag(2),
                        operation_protection: flag(3),
                        mfa: flag(4),
                        abnormal_logins: flag(5),
                        signing_certificates: [i % 4, i / 4 % 4]
                            .map(|n| n.checked_sub(1).map(|n| KeyStatus::ALL[n])),
                    },
                    // Every set of slots.
                    key_slots: std::array::from_fn(|s| ((i >> s) & 1 == 1).then(|| key(s + 1))),
                }
            })
            .collect();
        let mut table = UserTable::new();
        users.iter().for_each(|user| table.push(user));
        table.shrink_to_fit();
        assert_eq!(table.iter().collect::<Vec<_>>(), users);
        assert_eq!(table.iter().size_hint(), (64, Some(64)));
    }

    /// The bytes `table` holds.
    fn bytes(table: &UserTable) -> usize {
        size_of_val(&table.users[..])
            + size_of_val(&table.keys[..])
            + size_of_val(&table.times[..])
            + table.lengths.len()
            + table.text.len()
    }

    /// A user kept takes less than the shortest row that makes it, so the most users a file
    /// can make take less than the file (issue 27): for each provider, rows of empty cells
    /// but for one-letter names and ids and as many keys as a row can hold.
    #[test]
    fn a_user_takes_less_than_its_shortest_row() {
        use crate::report::{read, Provider, ReadOptions};
        // By column name, each provider's own: a name and id, and what makes a key.
        let tiny = |column: &str| match column {
            "AccountID" | "Username" | "user" => "u",
            secret_id if secret_id.ends_with("SecretId") => "k",
            rotated if rotated.starts_with("access_key") && rotated.ends_with("_last_rotated") => {
                "x"
            }
            exist if exist.contains("key") && exist.ends_with("_exist") => "true",
            _ => "",
        };
        let options = ReadOptions {
            timezone: jiff::tz::TimeZone::UTC,
            provider: None,
        };
        for provider in Provider::ALL {
            let header = provider.documented_header();
            let cells: Vec<&str> = header.split(',').map(tiny).collect();
            let row = cells.join(",") + "\n";
            let text = format!("{header}\n{}", row.repeat(1000));
            let mut table = UserTable::new();
            let (mut users, mut keys) = (0, 0);
            read(
                text.as_bytes(),
                &options,
                jiff::Timestamp::UNIX_EPOCH,
                |user| {
                    users += 1;
                    keys += user.keys().count();
                    table.push(user);
                },
            )
            .unwrap();
            let per_row = bytes(&table) as f64 / users as f64;
            eprintln!(
                "{provider}: a row of {} bytes, {} keys: {per_row} bytes kept",
                row.len(),
                keys / users
            );
            assert!(keys >= users && per_row < row.len() as f64, "{provider}");
        }
    }

    /// A realistic report (`generate-reports`) keeps less than half its size.
    #[test]
    fn a_report_keeps_less_than_half_its_size() {
        use crate::report::{generate::Spec, read, Provider, ReadOptions};
        let options = ReadOptions {
            timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
            provider: None,
        };
        let spec = Spec {
            users: 10_000,
            files: 1,
            seed: 1,
        };
        for provider in Provider::ALL {
            let report = provider.generated_report(&spec, 0);
            let mut table = UserTable::new();
            read(&report, &options, jiff::Timestamp::UNIX_EPOCH, |user| {
                table.push(user)
            })
            .unwrap();
            let ratio = bytes(&table) as f64 / report.len() as f64;
            eprintln!(
                "{provider}: {} bytes a user ({} of CSV), {} keys a user: {ratio:.2} × its size",
                bytes(&table) / table.len(),
                report.len() / table.len(),
                table.keys.len() as f64 / table.len() as f64,
            );
            assert!(ratio < 0.5, "{provider}: {ratio}");
        }
    }
}
