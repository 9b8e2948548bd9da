//! What this binary is: its version, the git revision it was built from, the compiler
//! and the target, for `--version`, the build_info metric and the status page.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The whole commit id, or `unknown` when built outside a git checkout.
pub const REVISION: &str = env!("CREDENTIAL_REPORT_REVISION");
pub const RUST_VERSION: &str = env!("CREDENTIAL_REPORT_RUST_VERSION");
pub const TARGET: &str = env!("CREDENTIAL_REPORT_TARGET");

/// `--version`, in the shape of the Go exporters' first line.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision: ",
    env!("CREDENTIAL_REPORT_REVISION"),
    ", rustc: ",
    env!("CREDENTIAL_REPORT_RUST_VERSION"),
    ", target: ",
    env!("CREDENTIAL_REPORT_TARGET"),
    ")"
);
