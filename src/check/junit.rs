//! `--format junit`, for CI systems' test tabs, in the Apache Ant shape most of them read
//! (tests/schemas/JUnit.xsd): a test suite per report, a test case per check. A case fails
//! when it has findings at or above --fail-on; a report that could not be read is an error.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::checks::{Finding, CHECKS};
use super::walk::Outcome;
use super::{Collected, Run};
use crate::markup;

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<Vec<Outcome>> {
    // The schema wants a local date-time without a zone; it is UTC.
    let timestamp = run.now.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n")?;
    let render = |id: usize, outcome: &Outcome, findings: Vec<Finding<'static>>| {
        let mut xml = String::new();
        suite(&mut xml, run, id, outcome, &findings, &timestamp);
        xml.into_bytes()
    };
    let outcomes = run.write_each(
        |id, _, _| Collected::new(id, &render),
        |text| out.write_all(&text),
    )?;
    out.write_all(b"</testsuites>\n")?;
    Ok(outcomes)
}

fn suite(
    xml: &mut String,
    run: &Run,
    id: usize,
    outcome: &Outcome,
    findings: &[Finding],
    timestamp: &str,
) {
    let classname = markup::escape(&outcome.report);
    let mut cases = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    if let Some(error) = &outcome.error {
        tests += 1;
        errors += 1;
        let _ = writeln!(
            cases,
            "    <testcase name=\"read\" classname=\"{classname}\" time=\"0\">\n      <error message=\"{}\" type=\"unreadable\"/>\n    </testcase>",
            markup::escape(error)
        );
    }
    for check in CHECKS {
        // Of a refused report only the file's age is known.
        if outcome.error.is_some() && check.id != "stale_report" {
            continue;
        }
        tests += 1;
        let _ = write!(
            cases,
            "    <testcase name=\"{}\" classname=\"{classname}\" time=\"0\"",
            check.id
        );
        let not_answered = outcome.error.is_none() && !check.answered_by(&outcome.coverage);
        if not_answered {
            skipped += 1;
            let _ = writeln!(
                cases,
                ">\n      <skipped message=\"{} reports do not carry what this check needs\"/>\n    </testcase>",
                outcome.provider.map_or("these", |p| p.name())
            );
            continue;
        }
        let failing: Vec<String> = findings
            .iter()
            .filter(|f| f.check.id == check.id && run.fails(f.check.severity))
            .map(|f| markup::escape(&super::describe(f)))
            .collect();
        if failing.is_empty() {
            cases.push_str("/>\n");
            continue;
        }
        failures += 1;
        let _ = writeln!(
            cases,
            ">\n      <failure message=\"{} finding(s)\" type=\"{}\">{}</failure>\n    </testcase>",
            failing.len(),
            check.severity.name(),
            failing.join("\n")
        );
    }
    // Every finding, those below --fail-on too, as the table would show them.
    let all: Vec<String> = findings
        .iter()
        .map(|f| {
            let severity = f.check.severity.name();
            markup::escape(&format!("{severity}: {}", super::describe(f)))
        })
        .collect();
    let _ = write!(
        xml,
        "  <testsuite package=\"credential-report-exporter.check\" id=\"{id}\" name=\"{classname}\" timestamp=\"{timestamp}\" hostname=\"localhost\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"0\">\n    <properties>\n      <property name=\"path\" value=\"{}\"/>\n",
        markup::escape(&outcome.path.to_string_lossy())
    );
    if let Some(provider) = outcome.provider {
        let _ = writeln!(
            xml,
            "      <property name=\"provider\" value=\"{}\"/>",
            provider.name()
        );
    }
    let _ = write!(
        xml,
        "    </properties>\n{cases}    <system-out>{}</system-out>\n    <system-err>{}</system-err>\n  </testsuite>\n",
        all.join("\n"),
        outcome.first_cell_errors.iter().map(|e| markup::escape(e)).collect::<Vec<_>>().join("\n"),
    );
}
