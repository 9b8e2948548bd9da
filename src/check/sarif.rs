//! `--format sarif`: SARIF 2.1.0 for code-scanning views. The checks are the rules; each
//! finding is a result located at its report file and line; refused reports are
//! notifications of a run that did not succeed.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Value};

use super::checks::{Check, Finding, CHECKS};
use super::json::{separator, Array};
use super::walk::Outcome;
use super::{describe, Run, Severity, AHEAD};
use crate::build_info;
use crate::cores::on_every_core_in_order;

/// How deep the results are indented in the pretty-printed log.
const RESULT_INDENT: &str = "        ";

const PROJECT: &str = "https://github.com/credential-report-exporter/credential-report-exporter";

pub fn write(run: &Run, out: &mut impl Write) -> io::Result<Vec<Outcome>> {
    // Collected first: the invocations, with every refused report, come before the results.
    let checked = run.collect();
    let rules: Vec<Value> = CHECKS.iter().map(|check| rule(check)).collect();
    let notifications: Vec<Value> = (checked.iter())
        .filter_map(|(outcome, _)| {
            let error = outcome.error.as_ref()?;
            Some(json!({
                "level": "error",
                "message": { "text": format!("report {} refused: {error}", outcome.report) },
                "locations": [{ "physicalLocation": { "artifactLocation": { "uri": uri(&outcome.path) } } }],
            }))
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "credential-report-exporter",
                "version": build_info::VERSION,
                "informationUri": PROJECT,
                "rules": rules,
            } },
            "invocations": [{
                "executionSuccessful": notifications.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": [],
        }],
    });
    // Everything but the results as one value, the results streamed into its last array
    // one a line: there may be millions.
    let text = serde_json::to_string_pretty(&log)?;
    let (head, tail) = text
        .rsplit_once("\"results\": []")
        .expect("the results are the last member");
    out.write_all(head.as_bytes())?;
    out.write_all(b"\"results\": [")?;
    let render = |(outcome, findings): &(Outcome, Vec<Finding>)| {
        let mut text = Vec::new();
        let uri = uri(&outcome.path);
        for finding in findings {
            if !text.is_empty() {
                text.extend_from_slice(&separator(RESULT_INDENT));
            }
            let result = result(outcome, finding, &uri);
            serde_json::to_writer(&mut text, &result).expect("a result serializes");
        }
        text
    };
    let mut results = Array::new(RESULT_INDENT);
    on_every_core_in_order(&checked, AHEAD, render, |text| results.write(out, &text))?;
    results.close(out)?;
    out.write_all(tail.as_bytes())?;
    writeln!(out)?;
    Ok(checked.into_iter().map(|(outcome, _)| outcome).collect())
}

fn result(outcome: &Outcome, finding: &Finding, uri: &str) -> Value {
    let index = CHECKS.iter().position(|c| c.id == finding.check.id);
    let mut location = json!({ "artifactLocation": { "uri": uri } });
    if let Some(line) = finding.line {
        location["region"] = json!({ "startLine": line });
    }
    let user = finding.user.as_deref();
    let key = finding.slot().map(|k| k.to_string());
    json!({
        "ruleId": finding.check.id,
        "ruleIndex": index,
        "level": level(finding.check.severity),
        "message": { "text": format!("{}: {}", outcome.report, describe(finding)) },
        "locations": [{ "physicalLocation": location }],
        // Line numbers move as a report gains users; what a finding is about does not.
        "partialFingerprints": {
            "credentialReportFinding/v1": format!(
                "{}/{}/{}/{}",
                outcome.report,
                user.unwrap_or(""),
                key.as_deref().unwrap_or(""),
                finding.check.id
            )
        },
        "properties": {
            "report": outcome.report,
            "user": user,
            "key": key,
            "severity": finding.check.severity.name(),
            "cis": outcome.provider.and_then(|p| finding.check.cis(p)),
        }
    })
}

fn rule(check: &Check) -> Value {
    let cis: Vec<&str> = check.cis_controls().collect();
    json!({
        "id": check.id,
        "name": check.alert,
        "shortDescription": { "text": check.title },
        "helpUri": format!("{PROJECT}/blob/main/docs/check.md#{}", check.id),
        "defaultConfiguration": { "level": level(check.severity) },
        "properties": {
            "tags": ["security"],
            // GitHub code scanning ranks security results by this (9+ critical, 4-7 medium, below 4 low).
            "security-severity": match check.severity {
                Severity::Critical => "9.0",
                Severity::Warning => "5.0",
                Severity::Info => "2.0",
            },
            "alert": check.alert,
            "cis": cis,
            "threshold": check.threshold.map(|(flag, default)| format!("--{flag}={default}")),
        },
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A path as a URI reference: relative stays relative (to where `check` ran, which is
/// what code-scanning uploads expect); anything outside unreserved characters and `/`
/// percent-encoded.
fn uri(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut uri = String::from(if path.is_absolute() { "file://" } else { "" });
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(byte as char)
            }
            byte => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri(Path::new("reports/a b.csv")), "reports/a%20b.csv");
        assert_eq!(uri(Path::new("/r/甲.csv")), "file:///r/%E7%94%B2.csv");
    }
}
