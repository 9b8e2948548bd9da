//! The TLS cipher suites this build offers, by the names Go and IANA give them: the one
//! vocabulary the web config is checked against and the rustls configuration is built from.

use rustls::crypto::ring;

/// IANA names of the TLS 1.2 suites this build can offer.
pub(super) fn tls12_suite_names() -> Vec<String> {
    suite_names(&rustls::version::TLS12)
}

/// As Go and IANA name them: rustls says `TLS13_AES_128_GCM_SHA256` for `TLS_AES_128_GCM_SHA256`.
pub(super) fn tls13_suite_names() -> Vec<String> {
    suite_names(&rustls::version::TLS13)
        .into_iter()
        .map(|name| name.replacen("TLS13_", "TLS_", 1))
        .collect()
}

fn suite_names(version: &rustls::SupportedProtocolVersion) -> Vec<String> {
    ring::ALL_CIPHER_SUITES
        .iter()
        .filter(|suite| suite.version() == version)
        .map(name)
        .collect()
}

/// A suite's name as the web config's `cipher_suites` gives it (TLS 1.2: IANA's).
pub(super) fn name(suite: &rustls::SupportedCipherSuite) -> String {
    format!("{:?}", suite.suite())
}
