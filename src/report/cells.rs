//! Cell values every provider shares: local date-times and counts. Provider modules own
//! their vocabulary (`TRUE`, `N/A`, …); this module owns the shapes that need real parsing.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Parses a console date-time, a local time in the report's time zone.
///
/// The international console writes `2019/8/16 9:25:56`, the Chinese one
/// `2019-08-16 09:25:56`; spreadsheets drop the seconds or the time, or write ISO `T`.
/// All of them are accepted; anything else, including an impossible date, is `None`.
pub fn parse_local_datetime(cell: &[u8], zone: &TimeZone) -> Option<Timestamp> {
    let mut digits = Digits { rest: cell };
    let year = digits.number(4)?;
    let date_separator = digits.separator(b"/-")?;
    let month = digits.number(2)?;
    digits.expect(date_separator)?;
    let day = digits.number(2)?;
    let (mut hour, mut minute, mut second) = (0, 0, 0);
    if !digits.rest.is_empty() {
        digits.separator(b" T")?;
        while digits.rest.first() == Some(&b' ') {
            digits.rest = &digits.rest[1..];
        }
        hour = digits.number(2)?;
        digits.expect(b':')?;
        minute = digits.number(2)?;
        if !digits.rest.is_empty() {
            digits.expect(b':')?;
            second = digits.number(2)?;
        }
        if !digits.rest.is_empty() {
            return None;
        }
    }
    let datetime = DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        0,
    )
    .ok()?;
    // A wall-clock time skipped or repeated by a daylight-saving change takes the
    // earlier reading, as most software does ("compatible").
    zone.to_ambiguous_timestamp(datetime).compatible().ok()
}

/// A non-negative decimal count, such as a number of suspicious logins.
pub fn parse_count(cell: &[u8]) -> Option<u64> {
    if cell.is_empty() || cell.len() > 18 || !cell.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(cell.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

struct Digits<'a> {
    rest: &'a [u8],
}

impl Digits<'_> {
    /// One to `max` ASCII digits.
    fn number(&mut self, max: usize) -> Option<u32> {
        let len = self
            .rest
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if len == 0 || self.rest.get(len).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let value = self.rest[..len]
            .iter()
            .fold(0, |n, d| n * 10 + u32::from(d - b'0'));
        self.rest = &self.rest[len..];
        Some(value)
    }

    fn separator(&mut self, allowed: &[u8]) -> Option<u8> {
        let (&first, rest) = self.rest.split_first()?;
        allowed.contains(&first).then(|| {
            self.rest = rest;
            first
        })
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.separator(&[byte]).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn counts_parse_and_garbage_does_not() {
        assert_eq!(parse_count(b"0"), Some(0));
        assert_eq!(parse_count(b"17"), Some(17));
        assert_eq!(parse_count(b"-1"), None);
        assert_eq!(parse_count(b"1.5"), None);
        assert_eq!(parse_count(b""), None);
    }
}
