//! The /metrics body as served gzip'd (compressed once per snapshot) and uncompressed
//! (inflated from that, or streamed in chunks before it is made): the same text, the same for the same snapshot, new after a
//! reload, within the series limit, in both formats. Read over a raw HTTP/1.1 connection,
//! so that nothing between decides the encoding.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{report_with_users, users_line, write_atomically, Exporter};

const OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0";

struct Response {
    headers: String,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

fn get(exporter: &Exporter, accept: &str, gzip: bool) -> Response {
    let mut stream = TcpStream::connect(&exporter.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let encoding = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: test\r\nAccept: {accept}\r\n{encoding}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let headers = String::from_utf8(raw[..split].to_vec()).unwrap();
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    let mut response = Response {
        headers,
        body: raw[split + 4..].to_vec(),
    };
    if response.header("transfer-encoding") == Some("chunked") {
        response.body = dechunk(&response.body);
    }
    response
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap(), 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    // One gzip member, read by a reader that stops after the first.
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a valid gzip body");
    text
}

/// The body without the process's own figures, which change from scrape to scrape.
fn snapshot_part(body: &str) -> String {
    body.lines()
        .filter(|line| !line.starts_with("process_"))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// A gzip'd body, once compressed: until then (the first scrapes after a reload) the body
/// is streamed uncompressed, which must be the same text.
fn gzipped(exporter: &Exporter, accept: &str) -> Response {
    let started = std::time::Instant::now();
    loop {
        let response = get(exporter, accept, true);
        if response.header("content-encoding") == Some("gzip") {
            return response;
        }
        assert_eq!(response.header("content-encoding"), None);
        // Compressed at the lowest priority, which a loaded machine starves for a while.
        assert!(started.elapsed() < Duration::from_secs(90), "never gzip'd");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn both(exporter: &Exporter, accept: &str) -> (String, String) {
    let gzip = gzipped(exporter, accept);
    assert_eq!(gzip.header("vary"), Some("Accept-Encoding"));
    assert_eq!(
        gzip.header("content-length")
            .map(|l| l.parse::<usize>().unwrap()),
        Some(gzip.body.len())
    );
    let plain = get(exporter, accept, false);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    (gunzip(&gzip.body), String::from_utf8(plain.body).unwrap())
}

#[test]
fn gzip_and_streamed_bodies_hold_the_same_text_until_a_reload_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    // Several megabytes: many chunks each way.
    std::fs::write(&path, report_with_users(5_000)).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample(&users_line("big", 5_000));

    for accept in [OPENMETRICS, "text/plain"] {
        let (gzip, plain) = both(&exporter, accept);
        assert!(plain.len() > 2_000_000, "{} bytes", plain.len());
        assert_eq!(snapshot_part(&gzip), snapshot_part(&plain), "{accept}");
        assert!(
            gzip.contains("\nprocess_resident_memory_bytes "),
            "live part appended"
        );
        assert_eq!(gzip.ends_with("# EOF\n"), accept == OPENMETRICS);
        assert_eq!(plain.ends_with("# EOF\n"), accept == OPENMETRICS);
        assert_eq!(
            plain.matches("# EOF").count(),
            usize::from(accept == OPENMETRICS)
        );

        // The same snapshot again: the same text, gzip'd or not.
        let (gzip_again, plain_again) = both(&exporter, accept);
        assert_eq!(snapshot_part(&gzip_again), snapshot_part(&gzip));
        assert_eq!(snapshot_part(&plain_again), snapshot_part(&plain));
    }

    let (before, _) = both(&exporter, OPENMETRICS);
    write_atomically(&path, report_with_users(4_999).as_bytes());
    exporter.wait_for_sample(&users_line("big", 4_999));
    let (gzip, plain) = both(&exporter, OPENMETRICS);
    assert_ne!(
        snapshot_part(&gzip),
        snapshot_part(&before),
        "a reload changes the body"
    );
    assert!(
        !gzip.contains("username=\"user4999\""),
        "the new snapshot, whole"
    );
    assert!(gzip.contains("username=\"user4998\""));
    assert_eq!(snapshot_part(&gzip), snapshot_part(&plain));
}

#[test]
fn series_limit_holds_gzip_and_streamed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.csv"), report_with_users(300)).unwrap();
    let exporter = Exporter::start(dir.path(), &["--metrics.max-per-user-series", "1000"]);
    exporter.wait_for_sample(&users_line("r", 300));
    for accept in [OPENMETRICS, "text/plain"] {
        let (gzip, plain) = both(&exporter, accept);
        for body in [&gzip, &plain] {
            let per_user = body
                .lines()
                .filter(|l| {
                    l.starts_with("credential_report_user_")
                        || l.starts_with("credential_report_access_key_")
                })
                .count();
            assert!(per_user <= 1000 && per_user > 950, "{per_user}");
            let dropped = body
                .lines()
                .find_map(|l| l.strip_prefix("credential_report_per_user_series_dropped "))
                .expect("the dropped count");
            assert!(dropped.parse::<u64>().unwrap() > 0);
        }
    }
}

#[test]
fn clients_without_gzip_or_refusing_it_get_plain_text() {
    let examples = crate::common::examples_on_a_fixed_day();
    let exporter = Exporter::start(examples.path(), &[]);
    let mut stream = TcpStream::connect(&exporter.address).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip;q=0, identity\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        !raw.to_ascii_lowercase().contains("content-encoding"),
        "{raw}"
    );
    assert!(raw.contains("credential_report_up{report=\"acme-prod\"} 1"));
}

/// The headers of `HEAD /metrics`, lower-cased: it makes the same answer as a GET, but
/// sends none of it, so polling it costs the server no encoding.
fn head(exporter: &Exporter, gzip: bool) -> String {
    let mut stream = TcpStream::connect(&exporter.address).unwrap();
    let encoding = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "HEAD /metrics HTTP/1.1\r\nHost: test\r\n{encoding}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut headers = String::new();
    stream.read_to_string(&mut headers).unwrap();
    headers.to_ascii_lowercase()
}

/// A body made once and shared (gzip'd, or inflated from it for a client without gzip)
/// holds no request permit while a client that never reads it is connected: with
/// `--web.max-requests 1`, requests beside such clients are still served.
#[test]
fn a_shared_body_holds_no_request_permit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.csv"), report_with_users(5_000)).unwrap();
    let exporter = Exporter::start(dir.path(), &["--web.max-requests", "1"]);
    exporter.wait_for_sample(&users_line("big", 5_000));
    // The first answers are encoded while the compressed body is made; one made from it
    // is gzip'd, or has a length.
    let started = std::time::Instant::now();
    while !head(&exporter, true).contains("content-encoding: gzip")
        || !head(&exporter, false).contains("content-length:")
    {
        assert!(started.elapsed() < Duration::from_secs(60), "never shared");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Clients with a receive buffer of a few KiB that never read: the answers stall.
    let mut stalled = vec![crate::common::request_without_reading(
        &exporter.address,
        "/metrics",
    )];
    let mut gzip = TcpStream::connect(&exporter.address).unwrap();
    write!(
        gzip,
        "GET /metrics HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip\r\n\r\n"
    )
    .unwrap();
    stalled.push(gzip);
    for stream in &mut stalled {
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
    }
    let served = get(&exporter, "text/plain", false);
    let length = served.header("content-length").map(|l| l.parse().unwrap());
    assert_eq!(length, Some(served.body.len()));
    let text = String::from_utf8(served.body).unwrap();
    assert!(text.contains(&users_line("big", 5_000)));
    drop(stalled);
}

/// Once a client has asked for gzip, a reload compresses the new snapshot before it swaps
/// it in: every gzip scrape from then on is gzip'd, the first of a new version too, and
/// none sees a version half read.
#[test]
fn after_a_reload_the_first_scrape_of_the_new_version_is_already_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    std::fs::write(&path, report_with_users(5_000)).unwrap();
    let exporter = Exporter::start(dir.path(), &[]);
    exporter.wait_for_sample(&users_line("big", 5_000));
    gzipped(&exporter, OPENMETRICS);

    for users in [4_999, 4_998] {
        write_atomically(&path, report_with_users(users).as_bytes());
        let started = std::time::Instant::now();
        loop {
            let response = get(&exporter, OPENMETRICS, true);
            assert_eq!(response.header("content-encoding"), Some("gzip"));
            let body = gunzip(&response.body);
            if body.contains(&users_line("big", users)) {
                assert!(!body.contains(&format!("username=\"user{users}\"")));
                break;
            }
            assert!(
                body.contains(&users_line("big", users + 1)),
                "old or new, whole"
            );
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never reloaded"
            );
        }
    }
}
