//! The integration tests, in one binary (as xsv's tests/tests.rs): each module an area,
//! each starting the real binary on real folders and talking to it over real HTTP, and the
//! fake clouds on loopback. One binary links the library once, where 24 linked it 24
//! times. Three stay binaries of their own: `inotify_exhausted` starves every watcher of
//! the user it runs as, `load` and `hostile` load the machine on purpose.

#[path = "../cloud_fakes/mod.rs"]
mod cloud_fakes;
#[path = "../common/mod.rs"]
mod common;
#[path = "../common/python.rs"]
mod python;

mod bad_input;
mod bodies;
mod check;
mod check_rules;
mod check_table;
mod fetch;
mod fetch_aws_sigv4;
mod filesystem_faults;
mod folder;
mod generate;
mod golden;
mod http;
mod label_values;
mod prometheus_scrape;
mod properties;
mod properties_clouds;
mod provider_seam;
mod secret_ids;
mod series_limit;
mod shutdown;
mod sign_sdk;
mod startup;
mod web_config;
