//! The fake AWS API and its SigV4 verifier, for the AWS fetcher's tests.
#![allow(dead_code)] // each test file uses a different part of this

pub mod fake;
pub mod sigv4;
pub mod suite;
