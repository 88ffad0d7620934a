//! Test support for cctap's end-to-end tests and CI scripts.
//!
//! # Layout
//! - [`upstream`]: the fake Anthropic Messages API (HTTP and HTTPS on
//!   127.0.0.1, SSE and JSON, predictable usage, request log, failure
//!   switches). Also a program: `fake-upstream`.
//! - [`binaries`]: finds the built `record` and `analyze` next to the test.
//! - [`recorder`]: runs `record` as a child process and stops it by signal.
//! - [`archive`]: reads what `record` wrote, raw and through the reader,
//!   and checks the HAR 1.2 shape.

pub mod archive;
pub mod binaries;
pub mod proxy;
pub mod recorder;
pub mod upstream;

pub use recorder::Recorder;
pub use upstream::FakeUpstream;
