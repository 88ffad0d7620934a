//! End-to-end tests: real `record` binary, real sockets on 127.0.0.1, the
//! fake upstream from `cctap_tests`, real clients (reqwest, hyper, raw TCP,
//! curl when installed). Every test is bounded by a timeout.
//!
//! One binary mounts every module (as ripgrep does): one link, one run.
//! `record` must be built first: `cargo build --workspace`.

mod common;

mod analyze;
mod archive_format;
mod big_copy;
mod bodies;
mod bounded;
mod concurrency;
mod crash;
mod failures;
mod fake_upstream;
mod faults;
mod fixtures;
mod forward;
mod hostile;
mod https;
mod load;
mod mitmproxy;
mod peers;
mod peers_head;
mod peers_openai;
mod redaction;
mod roundtrip;
mod streaming;
mod wrap;
mod writer;
