//! credential-report-exporter: watches a folder of cloud credential reports and serves
//! their credential hygiene as Prometheus metrics.
//!
//! The data's path, one module per stage:
//! file ──► [`report`] (bytes → typed [`model`] users) ──► [`snapshot`] (aggregates, swapped whole)
//! ──► [`exposition`] (OpenMetrics / text 0.0.4) ──► [`http`].
//! [`watch`] decides *when* a file goes down that path, [`reload`] which files and how.
//! [`fetch`] is the other command, `fetch`: it gets reports from the clouds into the folder;
//! [`check`] a third, `check`: it audits reports offline with the alerts' checks.

pub mod allocator;
pub mod body;
pub mod build_info;
pub mod check;
pub mod config;
mod cores;
pub mod exposition;
pub mod fetch;
pub use report::generate;
pub mod http;
pub mod markup;
pub mod model;
pub mod process;
pub mod reload;
pub mod report;
pub mod snapshot;
mod status_page;
pub mod watch;
pub mod web;
