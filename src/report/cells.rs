//! Cell values every provider shares: local date-times and counts. Provider modules own
//! their vocabulary (`TRUE`, `N/A`, …); this module owns the shapes that need real parsing.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::model::DAY;

/// Reads local date-times of one zone, fast: a report holds hundreds of thousands of them.
///
/// Asking the zone for the offset of every date costs more than the rest of the row. So
/// the reader remembers a span of time in which the offset is known not to change, and
/// converts dates in it with arithmetic. For Asia/Shanghai, which has had no change since
/// 1991, that span covers every date in a report; dates outside it ask the zone.
pub struct LocalDates {
    zone: TimeZone,
    steady: Option<SteadyOffset>,
}

/// Between `from` and `until` (seconds since the epoch, UTC) the zone's offset is `offset`.
#[derive(Debug, Clone, Copy)]
struct SteadyOffset {
    from: i64,
    until: i64,
    offset: i64,
}

/// How far inside its offset's span a date must be for arithmetic alone to convert it:
/// more than any zone's offset ever changed by (Samoa once skipped a whole day), so a
/// local time there can be neither skipped nor repeated by a change.
const MARGIN: i64 = 2 * DAY;

impl LocalDates {
    pub fn new(zone: TimeZone) -> Self {
        LocalDates { zone, steady: None }
    }

    /// Parses a console date-time, a local time in the report's time zone.
    ///
    /// The international console writes `2019/8/16 9:25:56`, the Chinese one
    /// `2019-08-16 09:25:56`; spreadsheets drop the seconds or the time, or write ISO `T`.
    /// All of them are accepted; anything else, including an impossible date, is `None`.
    pub fn parse(&mut self, cell: &[u8]) -> Option<Timestamp> {
        let civil = Civil::parse(cell)?;
        let local = civil.seconds_since_epoch();
        if let Some(steady) = self.steady {
            let utc = local - steady.offset;
            if (steady.from..steady.until).contains(&utc) {
                return Timestamp::from_second(utc).ok();
            }
        }
        let timestamp = self.ask_the_zone(civil)?;
        self.steady = Some(self.steady_offset_around(timestamp));
        Some(timestamp)
    }

    fn ask_the_zone(&self, civil: Civil) -> Option<Timestamp> {
        let datetime = DateTime::new(
            i16::try_from(civil.year).ok()?,
            i8::try_from(civil.month).ok()?,
            i8::try_from(civil.day).ok()?,
            i8::try_from(civil.hour).ok()?,
            i8::try_from(civil.minute).ok()?,
            i8::try_from(civil.second).ok()?,
            0,
        )
        .ok()?;
        // A wall-clock time skipped or repeated by a daylight-saving change takes the
        // earlier reading, as most software does ("compatible").
        self.zone.to_ambiguous_timestamp(datetime).compatible().ok()
    }

    fn steady_offset_around(&self, timestamp: Timestamp) -> SteadyOffset {
        let offset = i64::from(self.zone.to_offset(timestamp).seconds());
        let just_after = timestamp
            .checked_add(jiff::SignedDuration::from_secs(1))
            .unwrap_or(timestamp);
        let from = match self.zone.preceding(just_after).next() {
            Some(change) => change.timestamp().as_second().saturating_add(MARGIN),
            None => i64::MIN,
        };
        let until = match self.zone.following(timestamp).next() {
            Some(change) => change.timestamp().as_second().saturating_sub(MARGIN),
            None => i64::MAX,
        };
        SteadyOffset {
            from,
            until,
            offset,
        }
    }
}

/// A date and time of day as written, checked to exist in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

impl Civil {
    fn parse(cell: &[u8]) -> Option<Civil> {
        Civil::console_form(cell)
            .or_else(|| Civil::any_form(cell))?
            .checked()
    }

    /// `2019/8/16 9:25:56` or `2019-08-16 09:25:56`, as the consoles write them: the forms
    /// of nearly every cell, read by pattern. `None` means "some other form", not "invalid".
    fn console_form(cell: &[u8]) -> Option<Civil> {
        let &[y1, y2, y3, y4, separator, ref rest @ ..] = cell else {
            return None;
        };
        if separator != b'/' && separator != b'-' {
            return None;
        }
        let (month, rest) = one_or_two_digits_then(rest, separator)?;
        let (day, rest) = one_or_two_digits_then(rest, b' ')?;
        let (hour, rest) = one_or_two_digits_then(rest, b':')?;
        let &[i1, i2, b':', s1, s2] = rest else {
            return None;
        };
        Some(Civil {
            year: digit(y1)? * 1000 + digit(y2)? * 100 + digit(y3)? * 10 + digit(y4)?,
            month,
            day,
            hour,
            minute: digit(i1)? * 10 + digit(i2)?,
            second: digit(s1)? * 10 + digit(s2)?,
        })
    }

    /// Every accepted form: one to four digits of year, one or two for month, day and
    /// time, `/` or `-` between date parts, a space or `T` (and maybe more spaces) before
    /// the time, the seconds or the whole time optional.
    fn any_form(cell: &[u8]) -> Option<Civil> {
        // One pass with an index: this runs for millions of cells.
        let mut at = 0;
        let year = digits(cell, &mut at, 4)?;
        let date_separator = *cell.get(at).filter(|&&b| b == b'/' || b == b'-')?;
        at += 1;
        let month = digits(cell, &mut at, 2)?;
        (cell.get(at) == Some(&date_separator)).then_some(())?;
        at += 1;
        let day = digits(cell, &mut at, 2)?;
        let (mut hour, mut minute, mut second) = (0, 0, 0);
        if at < cell.len() {
            if cell[at] != b' ' && cell[at] != b'T' {
                return None;
            }
            at += 1;
            while cell.get(at) == Some(&b' ') {
                at += 1;
            }
            hour = digits(cell, &mut at, 2)?;
            (cell.get(at) == Some(&b':')).then_some(())?;
            at += 1;
            minute = digits(cell, &mut at, 2)?;
            if at < cell.len() {
                (cell[at] == b':').then_some(())?;
                at += 1;
                second = digits(cell, &mut at, 2)?;
            }
            if at < cell.len() {
                return None;
            }
        }
        Some(Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// The date and time if they exist on a calendar and a clock.
    fn checked(self) -> Option<Civil> {
        let exists = (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60;
        exists.then_some(self)
    }

    /// Seconds from 1970-01-01 00:00:00 to this date and time, both on the same wall clock.
    fn seconds_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * DAY
            + self.hour * 3_600
            + self.minute * 60
            + self.second
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A non-negative decimal count, such as a number of suspicious logins.
pub fn parse_count(cell: &[u8]) -> Option<u64> {
    if cell.is_empty() || cell.len() > 18 || !cell.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(cell.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

fn digit(byte: u8) -> Option<i64> {
    byte.is_ascii_digit().then(|| i64::from(byte - b'0'))
}

/// One or two digits and then `end`: the number and what follows `end`.
fn one_or_two_digits_then(cell: &[u8], end: u8) -> Option<(i64, &[u8])> {
    match *cell {
        [a, e, ref rest @ ..] if e == end => Some((digit(a)?, rest)),
        [a, b, e, ref rest @ ..] if e == end => Some((digit(a)? * 10 + digit(b)?, rest)),
        _ => None,
    }
}

/// The run of ASCII digits at `at`, if it is one to `max` digits long; `at` moves past it.
fn digits(cell: &[u8], at: &mut usize, max: usize) -> Option<i64> {
    let start = *at;
    let mut value: i64 = 0;
    while let Some(digit) = cell
        .get(*at)
        .map(|b| b.wrapping_sub(b'0'))
        .filter(|&d| d <= 9)
    {
        // Wrapping: a run too long to fit is refused below anyway.
        value = value.wrapping_mul(10).wrapping_add(i64::from(digit));
        *at += 1;
    }
    (1..=max).contains(&(*at - start)).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_local_datetime(cell: &[u8], zone: &TimeZone) -> Option<Timestamp> {
        LocalDates::new(zone.clone()).parse(cell)
    }

    fn shanghai(cell: &str) -> Option<String> {
        let zone = TimeZone::get("Asia/Shanghai").unwrap();
        parse_local_datetime(cell.as_bytes(), &zone).map(|ts| ts.to_string())
    }

    #[test]
    fn slash_dates_without_padding_parse() {
        assert_eq!(
            shanghai("2019/8/16 9:25:56").as_deref(),
            Some("2019-08-16T01:25:56Z")
        );
    }

    #[test]
    fn dash_dates_with_padding_parse() {
        assert_eq!(
            shanghai("2019-08-16 09:25:56").as_deref(),
            Some("2019-08-16T01:25:56Z")
        );
    }

    #[test]
    fn dash_dates_without_padding_parse() {
        assert_eq!(
            shanghai("2019-8-6 9:05:06").as_deref(),
            Some("2019-08-06T01:05:06Z")
        );
    }

    #[test]
    fn minutes_only_and_date_only_parse() {
        assert_eq!(
            shanghai("2019/8/16 9:25").as_deref(),
            Some("2019-08-16T01:25:00Z")
        );
        assert_eq!(
            shanghai("2019/8/16").as_deref(),
            Some("2019-08-15T16:00:00Z")
        );
        assert_eq!(
            shanghai("2019-08-16T09:25:56").as_deref(),
            Some("2019-08-16T01:25:56Z")
        );
    }

    #[test]
    fn dates_are_read_in_the_given_zone() {
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let ts = parse_local_datetime(b"2024/7/1 12:00:00", &zone).unwrap();
        assert_eq!(ts.to_string(), "2024-07-01T10:00:00Z");
    }

    #[test]
    fn impossible_and_malformed_dates_are_refused() {
        for cell in [
            "2019/13/45 25:61:00",
            "2019/2/30 1:00:00",
            "2019/8-16 9:25:56",
            "16/8/2019",
            "2019/8/16 9:25:56 PM",
            "20190/8/16",
            "yesterday",
            "",
        ] {
            assert_eq!(shanghai(cell), None, "{cell:?} should be refused");
        }
    }

    /// The arithmetic path must agree with asking the zone, for every kind of zone: one
    /// without changes since 1991, one with daylight saving, and dates on both sides of changes.
    #[test]
    fn fast_dates_agree_with_the_zone() {
        for name in [
            "Asia/Shanghai",
            "Europe/Berlin",
            "America/New_York",
            "Pacific/Apia",
        ] {
            let zone = TimeZone::get(name).unwrap();
            let mut dates = LocalDates::new(zone.clone());
            let mut state: u64 = 7;
            for _ in 0..20_000 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let year = 1980 + (state >> 33) % 50;
                let month = 1 + (state >> 20) % 12;
                let day = 1 + (state >> 12) % 31;
                let hour = (state >> 7) % 24;
                let minute = (state >> 3) % 60;
                let cell = format!("{year}/{month}/{day} {hour}:{minute:02}:17");
                let slow = zone_reading(&cell, &zone);
                assert_eq!(dates.parse(cell.as_bytes()), slow, "{name} {cell}");
            }
            // Around a spring-forward gap and a fall-back fold, with a warm cache.
            for cell in [
                "2024/6/1 12:00:00",
                "2024/3/31 2:30:00",
                "2024/10/27 2:30:00",
                "2024/3/10 2:30:00",
                "2024/11/3 1:30:00",
                "2011/12/30 12:00:00",
            ] {
                let slow = zone_reading(cell, &zone);
                assert_eq!(dates.parse(cell.as_bytes()), slow, "{name} {cell}");
            }
        }
    }

    /// What the zone itself says, the way the reader did before it cached offsets.
    fn zone_reading(cell: &str, zone: &TimeZone) -> Option<Timestamp> {
        let civil = Civil::parse(cell.as_bytes())?;
        LocalDates::new(zone.clone()).ask_the_zone(civil)
    }

    /// The pattern for the consoles' forms reads exactly what the general reader reads.
    #[test]
    fn console_forms_read_like_any_form() {
        let mut state: u64 = 3;
        let mut next = |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        let pieces = [
            "0", "1", "9", "09", "10", "12", "13", "29", "31", "59", "60", "5a", "x",
        ];
        for _ in 0..50_000 {
            let mut piece = || pieces[next(pieces.len() as u64) as usize];
            let (mo, d, h, mi, s) = (piece(), piece(), piece(), piece(), piece());
            let year = ["2019", "0000", "2024", "20a4"][next(4) as usize];
            let separator = ["/", "-", "."][next(3) as usize];
            let cell = format!("{year}{separator}{mo}{separator}{d} {h}:{mi}:{s}");
            let expected = Civil::any_form(cell.as_bytes());
            if let Some(found) = Civil::console_form(cell.as_bytes()) {
                assert_eq!(Some(found), expected, "{cell}");
            }
            let checked = expected.and_then(Civil::checked);
            assert_eq!(Civil::parse(cell.as_bytes()), checked, "{cell}");
        }
    }

    #[test]
    fn days_from_civil_matches_jiff() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (1969, 12, 31),
            (2024, 3, 1),
            (1, 1, 1),
        ] {
            let jiff_days = jiff::civil::date(y as i16, m as i8, d as i8)
                .at(0, 0, 0, 0)
                .to_zoned_datetime(TimeZone::UTC)
                .unwrap()
                .timestamp()
                .as_second()
                .div_euclid(DAY);
            assert_eq!(days_from_civil(y, m, d), jiff_days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn counts_parse_and_garbage_does_not() {
        assert_eq!(parse_count(b"0"), Some(0));
        assert_eq!(parse_count(b"17"), Some(17));
        assert_eq!(parse_count(b"-1"), None);
        assert_eq!(parse_count(b"1.5"), None);
        assert_eq!(parse_count(b""), None);
    }
}

/// Parses an ISO 8601 date-time with its zone, as AWS and Alibaba write them:
/// `2024-05-06T07:08:09+00:00` or `2024-05-06T07:08:09Z`, maybe with fractions of a second
/// (dropped: reports are read to the second).
pub fn parse_utc(cell: &[u8]) -> Option<Timestamp> {
    // The vendors' own form by pattern first: a report holds hundreds of thousands of them.
    if let [date_time @ .., b'+', b'0', b'0', b':', b'0', b'0'] | [date_time @ .., b'Z'] = cell {
        if let Some(civil) = Civil::iso_form(date_time) {
            return Timestamp::from_second(civil.checked()?.seconds_since_epoch()).ok();
        }
    }
    let text = std::str::from_utf8(cell).ok()?;
    let timestamp: Timestamp = text.parse().ok()?;
    Timestamp::from_second(timestamp.as_second()).ok()
}

impl Civil {
    /// `2024-05-06T07:08:09`, exactly.
    fn iso_form(cell: &[u8]) -> Option<Civil> {
        let &[y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T', h1, h2, b':', i1, i2, b':', s1, s2] =
            cell
        else {
            return None;
        };
        let digits =
            [y1, y2, y3, y4, m1, m2, d1, d2, h1, h2, i1, i2, s1, s2].map(|b| b.wrapping_sub(b'0'));
        // One test for all fourteen, not a branch each: hundreds of thousands of these.
        if digits.iter().fold(0, |any, &d| any | u8::from(d > 9)) != 0 {
            return None;
        }
        let two = |at: usize| i64::from(digits[at]) * 10 + i64::from(digits[at + 1]);
        Some(Civil {
            year: two(0) * 100 + two(2),
            month: two(4),
            day: two(6),
            hour: two(8),
            minute: two(10),
            second: two(12),
        })
    }
}

#[cfg(test)]
mod utc_tests {
    use super::*;

    #[test]
    fn iso_dates_with_their_zone_parse() {
        for cell in [
            "2024-05-06T07:08:09+00:00",
            "2024-05-06T07:08:09Z",
            "2024-05-06T09:08:09+02:00",
            "2024-05-06T07:08:09.250Z",
        ] {
            let parsed = parse_utc(cell.as_bytes()).unwrap();
            assert_eq!(parsed.to_string(), "2024-05-06T07:08:09Z", "{cell}");
        }
        assert_eq!(parse_utc(b"2024-02-30T00:00:00Z"), None);
        assert_eq!(parse_utc(b"2024-05-06 07:08:09"), None);
        assert_eq!(parse_utc(b"N/A"), None);
    }
}
