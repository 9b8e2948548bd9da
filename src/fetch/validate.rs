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
    if summary.checks.root_user && roots == 0 {
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

    const AWS_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";
    const ROOT: &str = "<root_account>,arn:aws:iam::123456789012:root,2019-03-01T10:00:00+00:00,not_supported,N/A,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";
    const ALICE: &str = "alice,arn:aws:iam::123456789012:user/alice,2020-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A";

    fn fetched(content: String, users_listed: Option<u64>) -> FetchedReport {
        FetchedReport {
            account_id: None,
            content: content.into_bytes(),
            generated: "2026-11-25T00:00:00Z".parse().unwrap(),
            users_listed,
        }
    }

    fn verdict(content: String, users_listed: Option<u64>) -> Result<(), String> {
        refuse_unusable(Provider::AwsIam, &fetched(content, users_listed)).map_err(|e| {
            assert_eq!(e.reason, FailureReason::RefusedReport);
            e.message
        })
    }

    #[test]
    fn a_whole_report_passes() {
        assert_eq!(
            verdict(format!("{AWS_HEADER}\n{ROOT}\n{ALICE}\n"), None),
            Ok(())
        );
    }

    #[test]
    fn a_row_cut_short_is_refused_with_its_line() {
        let cut = &ALICE[..40];
        let e = verdict(format!("{AWS_HEADER}\n{ROOT}\n{cut}"), None).unwrap_err();
        assert!(e.contains("line 3") && e.contains("fields"), "{e}");
    }

    #[test]
    fn a_header_alone_is_refused() {
        let e = verdict(format!("{AWS_HEADER}\n"), None).unwrap_err();
        assert!(e.contains("no users"), "{e}");
    }

    #[test]
    fn no_root_row_is_refused_where_the_provider_always_writes_one() {
        let e = verdict(format!("{AWS_HEADER}\n{ALICE}\n"), None).unwrap_err();
        assert!(e.contains("no root row"), "{e}");
    }

    #[test]
    fn fewer_users_than_listed_are_refused() {
        let e = verdict(format!("{AWS_HEADER}\n{ROOT}\n{ALICE}\n"), Some(3)).unwrap_err();
        assert!(e.contains("2 users, fewer than the 3"), "{e}");
        assert_eq!(
            verdict(format!("{AWS_HEADER}\n{ROOT}\n{ALICE}\n"), Some(2)),
            Ok(())
        );
    }
}
