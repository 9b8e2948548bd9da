//! A fetched report is read by the exporter's own reader before it may replace the last good
//! one: a report the exporter would refuse, or one that lost rows on the way, fails the fetch.
//!
//! Without this, a download cut inside a row (or right after the header) is written over the
//! good file; the exporter refuses it and keeps the old numbers in memory only until its next
//! restart, when the account has no series at all.

use crate::model::UserType;
use crate::report::{self, Provider, ReadOptions};

use super::{FailureReason, FetchError, FetchedReport};

/// Reads `report` as `provider`'s and refuses it if the exporter would, if the provider always
/// writes a root row and there is none, or if it holds fewer users than the API listed.
pub fn refuse_unusable(provider: Provider, report: &FetchedReport) -> Result<(), FetchError> {
    let options = ReadOptions {
        // Only dates depend on the zone, and a date the reader cannot place is a cell error
        // the exporter serves around, never a refusal.
        timezone: jiff::tz::TimeZone::UTC,
        provider: Some(provider),
    };
    let mut roots = 0u64;
    let summary = report::read(&report.content, &options, report.generated, |user| {
        roots += u64::from(user.facts.user_type == UserType::Root);
    })
    .map_err(|error| refused(format!("the exporter's reader refuses it: {error}")))?;
    if summary.coverage.root_user && roots == 0 {
        return Err(refused(format!(
            "it has no root row, and every {provider} report has one (cut off or mangled?)"
        )));
    }
    if let Some(listed) = report.users_listed {
        if summary.rows < listed {
            return Err(refused(format!(
                "it has {} users, fewer than the {listed} the API listed",
                summary.rows
            )));
        }
    }
    Ok(())
}

fn refused(why: String) -> FetchError {
    FetchError::new(
        FailureReason::RefusedReport,
        format!("the fetched report is not written: {why}; the last good report stays"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{self, Spec};

    /// Every provider's generated report of three users: a header and lines 2 to 4.
    fn reports() -> impl Iterator<Item = (Provider, String)> {
        let spec = Spec {
            users: 3,
            files: 1,
            seed: 1,
        };
        (Provider::ALL.into_iter())
            .map(move |p| (p, String::from_utf8(p.generated_report(&spec, 0)).unwrap()))
    }

    fn verdict(provider: Provider, content: &str, users_listed: Option<u64>) -> Result<(), String> {
        let report = FetchedReport {
            account_id: Err(FetchError::invalid("test", "no account")),
            content: content.as_bytes().to_vec(),
            generated: generate::GENERATED,
            users_listed,
        };
        refuse_unusable(provider, &report).map_err(|e| {
            assert_eq!(e.reason, FailureReason::RefusedReport);
            e.message
        })
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn a_whole_report_passes() {
        for (provider, text) in reports() {
            assert_eq!(verdict(provider, &text, None), Ok(()), "{provider}");
        }
    }

    #[test]
    fn a_row_cut_short_is_refused_with_its_line() {
        for (provider, text) in reports() {
            let cut = &text[..text.trim_end().len() - 30];
            let e = verdict(provider, cut, None).unwrap_err();
            // A ragged row, or a quoted name cut inside its quotes.
            let why = e.contains("fields") || e.contains("quoted field is never closed");
            assert!(e.contains("line 4") && why, "{provider}: {e}");
        }
    }

    #[test]
    fn a_header_alone_is_refused() {
        for (provider, text) in reports() {
            let e = verdict(provider, &format!("{}\n", lines(&text)[0]), None).unwrap_err();
            assert!(e.contains("no users"), "{provider}: {e}");
        }
    }

    #[test]
    fn no_root_row_is_refused_where_the_provider_always_writes_one() {
        let mut with_root_rows = 0;
        for (provider, text) in reports() {
            let options = ReadOptions {
                timezone: jiff::tz::TimeZone::UTC,
                provider: Some(provider),
            };
            let summary = report::read(text.as_bytes(), &options, generate::GENERATED, |_| {});
            if !summary.unwrap().coverage.root_user {
                continue;
            }
            with_root_rows += 1;
            // The generated root row is the first.
            let mut rows = lines(&text);
            rows.remove(1);
            let e = verdict(provider, &rows.join("\n"), None).unwrap_err();
            assert!(e.contains("no root row"), "{provider}: {e}");
        }
        assert!(with_root_rows > 0, "no provider writes a root row");
    }

    #[test]
    fn fewer_users_than_listed_are_refused() {
        for (provider, text) in reports() {
            let e = verdict(provider, &text, Some(4)).unwrap_err();
            assert!(e.contains("3 users, fewer than the 4"), "{provider}: {e}");
            assert_eq!(verdict(provider, &text, Some(3)), Ok(()), "{provider}");
        }
    }
}
