//! The table of checks (`check::CHECKS` and each provider's CIS controls) is the one source
//! of what the rules' `cis_control` labels and docs/check.md's table of checks say: both are
//! generated from it here, and the test fails while either differs; no other page or
//! dashboard writes a control's number. After a change to the
//! table: `scripts/check-table` (this test with UPDATE_GOLDEN=1, then the rules' copies),
//! and review the diff; `scripts/check-table --check` is this test as the suite runs it.

use std::path::Path;

use credential_report_exporter::check::{Check, CHECKS};
use credential_report_exporter::report::Provider;

const RULES: &str = "deploy/prometheus/credential-report-exporter.rules.yml";
const DOCS: &str = "docs/check.md";
const UPDATE: &str = "scripts/check-table";

/// Every provider's control of the check, in the order of `Provider::ALL`.
fn controls(check: &Check) -> Vec<(Provider, &'static str)> {
    (Provider::ALL.into_iter())
        .filter_map(|provider| Some((provider, check.cis(provider)?)))
        .collect()
}

/// The `cis_control` label's template: the control of the alert's report's provider, or
/// `none` (never empty: Prometheus keeps a template that expands to nothing as its text).
fn label_template(controls: &[(Provider, &str)]) -> String {
    let mut template = String::new();
    for (at, (provider, control)) in controls.iter().enumerate() {
        let keyword = if at == 0 { "if" } else { "else if" };
        template += &format!("{{{{ {keyword} eq $labels.provider \"{provider}\" }}}}{control}");
    }
    template + "{{ else }}none{{ end }}"
}

/// Where the rule of `alert` is in `lines`: from its `- alert:` line to the next rule's.
fn rule_block(lines: &[String], alert: &str) -> std::ops::Range<usize> {
    let start = (lines.iter())
        .position(|line| line.trim() == format!("- alert: {alert}"))
        .unwrap_or_else(|| panic!("{RULES} has no alert {alert}"));
    let end = (start + 1..lines.len())
        .find(|&at| {
            let line = lines[at].trim_start();
            line.starts_with("- alert:")
                || line.starts_with("- record:")
                || line.starts_with("- name:")
        })
        .unwrap_or(lines.len());
    start..end
}

/// The rules file with each check's alert carrying the `cis_control` label of the table.
fn generated_rules(rules: &str) -> String {
    let mut lines: Vec<String> = rules.lines().map(str::to_owned).collect();
    for check in CHECKS {
        let block = rule_block(&lines, check.alert);
        if let Some(at) = (block.clone()).find(|&at| lines[at].trim() == "cis_control: >-") {
            lines.drain(at..at + 2);
        }
        let controls = controls(check);
        if controls.is_empty() {
            continue;
        }
        let block = rule_block(&lines, check.alert);
        let severity = (block.clone())
            .find(|&at| lines[at].trim().starts_with("severity:"))
            .unwrap_or_else(|| panic!("{} has no severity label", check.alert));
        let indent = &lines[severity][..lines[severity].len() - lines[severity].trim_start().len()];
        let label = [
            format!("{indent}cis_control: >-"),
            format!("{indent}  {}", label_template(&controls)),
        ];
        lines.splice(severity + 1..severity + 1, label);
    }
    lines.join("\n") + "\n"
}

/// A cell of a row of docs/check.md's table.
fn cells(row: &str) -> Vec<&str> {
    row.trim()
        .trim_matches('|')
        .split(" | ")
        .map(str::trim)
        .collect()
}

/// docs/check.md with its table of checks written from the table: id, severity, alert,
/// threshold and CIS controls from the code; the "Finding" prose kept from the page by
/// id (a new check starts with its title).
fn generated_docs(docs: &str) -> String {
    let lines: Vec<&str> = docs.lines().collect();
    let header = (lines.iter())
        .position(|line| line.starts_with("| Id | Severity | Alert | Finding |"))
        .unwrap_or_else(|| panic!("{DOCS} has no table of checks"));
    let end = (header..lines.len())
        .find(|&at| !lines[at].starts_with('|'))
        .unwrap_or(lines.len());
    let findings: Vec<(String, String)> = lines[header + 2..end]
        .iter()
        .map(|row| {
            let cells = cells(row);
            let id = cells[0].split('`').nth(1).expect("an id in backticks");
            (id.to_owned(), cells[3].to_owned())
        })
        .collect();
    let mut table = vec![
        "| Id | Severity | Alert | Finding | Threshold (flag, default) | CIS control |".to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
    ];
    for check in CHECKS {
        let finding = (findings.iter())
            .find(|(id, _)| id == check.id)
            .map_or(check.title, |(_, finding)| finding.as_str());
        let threshold = check.threshold.map_or(String::new(), |(flag, default)| {
            format!("`--{flag}` `{default}`")
        });
        let cis: Vec<&str> = controls(check).into_iter().map(|(_, c)| c).collect();
        table.push(format!(
            "| <a id=\"{id}\"></a>`{id}` | {severity} | {alert} | {finding} | {threshold} | {cis} |",
            id = check.id,
            severity = check.severity.name(),
            alert = check.alert,
            cis = cis.join("; "),
        ));
    }
    let mut out: Vec<String> = lines[..header].iter().map(|l| l.to_string()).collect();
    out.extend(table);
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    out.join("\n") + "\n"
}

/// Writes `generated` with UPDATE_GOLDEN set, else fails where the file differs from it.
fn holds(relative: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let current = std::fs::read_to_string(&path).unwrap();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    if let Some((at, (was, should))) = (current.lines().zip(generated.lines()).enumerate())
        .find(|(_, (was, should))| was != should)
    {
        panic!("{relative}:{}: the table of checks makes\n  {should}\nwhere the file has\n  {was}\nRun {UPDATE}", at + 1);
    }
    assert_eq!(current, generated, "{relative}: run {UPDATE}");
}

#[test]
fn rules_carry_the_cis_controls_of_the_table() {
    let rules = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(RULES)).unwrap();
    holds(RULES, generated_rules(&rules));
}

#[test]
fn docs_table_of_checks_is_the_table() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(DOCS)).unwrap();
    holds(DOCS, generated_docs(&docs));
}

/// The alerts' `cis` annotation spells each control out with its title for people; it
/// names exactly the table's controls, by benchmark version and number.
#[test]
fn cis_annotations_name_the_controls_of_the_table() {
    let rules = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(RULES)).unwrap();
    let lines: Vec<String> = rules.lines().map(str::to_owned).collect();
    for check in CHECKS {
        let block = rule_block(&lines, check.alert);
        let annotation: String =
            match (block.clone()).find(|&at| lines[at].trim_start().starts_with("cis:")) {
                Some(at) => {
                    let indent = lines[at].len() - lines[at].trim_start().len();
                    let more = (at + 1..block.end).take_while(|&next| {
                        lines[next].len() - lines[next].trim_start().len() > indent
                    });
                    std::iter::once(at)
                        .chain(more)
                        .map(|at| lines[at].trim())
                        .collect::<Vec<_>>()
                        .join(" ")
                }
                None => String::new(),
            };
        let controls = controls(check);
        for (provider, control) in &controls {
            let words: Vec<&str> = control.split(' ').collect();
            let version = (words.iter())
                .position(|word| {
                    word.starts_with('v') && word[1..].starts_with(|c: char| c.is_ascii_digit())
                })
                .unwrap_or_else(|| {
                    panic!(
                        "{provider}'s control {control:?} of {} names no benchmark version",
                        check.id
                    )
                });
            let named = format!("{}, {} (", words[version], words[version + 1]);
            assert!(
                annotation.contains(&named),
                "{}'s cis annotation does not name {provider}'s {control:?} ({named:?}): {annotation:?}",
                check.alert
            );
        }
        assert_eq!(
            annotation.matches(" Benchmark v").count(),
            controls.len(),
            "{}'s cis annotation names other controls than the table's: {annotation:?}",
            check.alert
        );
    }
}

/// CIS control numbers are written in one place a reader sees, docs/check.md's table (and
/// the rules, held above); the other docs and the dashboards link to it rather than copy
/// them, so a change of the table has nothing else to change.
#[test]
fn no_other_page_writes_a_cis_control_number() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = |folder: &str| -> Vec<std::path::PathBuf> {
        let entries = std::fs::read_dir(root.join(folder)).unwrap();
        entries.map(|entry| entry.unwrap().path()).collect()
    };
    let mut pages = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    pages.extend(listed("docs").into_iter().chain(listed("docs/providers")));
    pages.extend(listed("grafana/dashboards"));
    pages.retain(|page| page.is_file() && page != &root.join(DOCS));
    pages.retain(|page| {
        matches!(
            page.extension().and_then(|e| e.to_str()),
            Some("md" | "json")
        )
    });
    // "CIS AWS 1.4", "CIS … v1.0.0 1.2": a number after "CIS" on one line; versions start with v.
    let number = regex::Regex::new(r#"CIS\b[^|"\n]{0,60}? 1\.\d{1,2}\b"#).unwrap();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        if let Some(found) = number.find(&text) {
            let line = text[..found.start()].matches('\n').count() + 1;
            panic!(
                "{}:{line}: {:?} writes a CIS control number by hand; link {DOCS}'s table instead",
                page.strip_prefix(root).unwrap().display(),
                found.as_str()
            );
        }
    }
}
