//! A provider is named in two shared files of `src/` and nowhere else outside the files
//! that carry its name (CONTRIBUTING's "Adding a provider"): `src/report/mod.rs` ties it to
//! its reader, `src/fetch/mod.rs` to its fetcher. A third shared file that names one is
//! knowledge of that provider leaking out of its seam: move it behind the provider's file.

use std::path::{Path, PathBuf};

use credential_report_exporter::report::Provider;

/// The only shared files that may name a provider.
const REGISTRATIONS: [&str; 2] = ["src/report/mod.rs", "src/fetch/mod.rs"];

/// How code names each provider: its types, modules, words and domains.
fn names(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::TencentCam => &["tencent", "cam", "tencentcloudapi"],
        Provider::AwsIam => &["aws", "iam", "amazonaws"],
        Provider::AlibabaRam => &["alibaba", "aliyun", "aliyuncs", "ram"],
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => rust_files(&path, out),
            false if path.extension().is_some_and(|e| e == "rs") => out.push(path),
            false => {}
        }
    }
}

/// The words of a line's code, lower-cased, without its comment; `TencentCam` and
/// `tencent_cam` both give `tencent` and `cam`.
fn code_words(line: &str) -> Vec<String> {
    let code = without_comment(line);
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in code.chars() {
        let boundary = !c.is_ascii_alphanumeric() || (c.is_ascii_uppercase() && previous_lower);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

/// `line` up to its `//` comment, if any: a `//` inside a string (a URL) is code.
fn without_comment(line: &str) -> &str {
    let (mut in_string, mut escaped) = (false, false);
    for (at, c) in line.char_indices() {
        match c {
            '\\' if in_string => escaped = !escaped,
            '"' if !escaped => in_string = !in_string,
            '/' if !in_string && line[at..].starts_with("//") => return &line[..at],
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    line
}

#[test]
fn providers_are_named_only_in_their_files_and_the_two_registrations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut leaks = Vec::new();
    for provider in Provider::ALL {
        // Its files: the reader, the fetcher, a signer's scheme.
        let own = |relative: &str| {
            relative.contains(&provider.name().replace('-', "_"))
                || names(provider)
                    .iter()
                    .any(|n| relative.contains(&format!("/{n}")))
                || relative.starts_with("src/fetch/sign/")
        };
        for path in &files {
            let relative = path.strip_prefix(root).unwrap().to_string_lossy();
            if own(&relative) || REGISTRATIONS.contains(&relative.as_ref()) {
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            let named = text.lines().enumerate().find(|(_, line)| {
                let words = code_words(line);
                // "IAM user", "RAM user": kinds of user, the model's `user_type` values.
                let names_it = |(i, w): (usize, &String)| {
                    names(provider).contains(&w.as_str())
                        && words.get(i + 1).is_none_or(|next| next != "user")
                };
                words.iter().enumerate().any(names_it)
            });
            if let Some((number, line)) = named {
                leaks.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "shared files naming a provider:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn code_words_split_types_modules_and_strings() {
    assert_eq!(
        code_words("Provider::TencentCam => x, // aws"),
        ["provider", "tencent", "cam", "x"]
    );
    assert_eq!(code_words("mod alibaba_ram;"), ["mod", "alibaba", "ram"]);
    assert_eq!(
        code_words(r#"let url = "http://a.b/\"c"; // d"#),
        ["let", "url", "http", "a", "b", "c"]
    );
    assert_eq!(
        code_words("UserType::IamUser => \"ims.aliyuncs.com\""),
        ["user", "type", "iam", "user", "ims", "aliyuncs", "com"]
    );
}
