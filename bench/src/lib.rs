//! cctap's benchmarks: measuring `record` against a direct connection and
//! mitmdump, and `analyze` reading a large archive. Not tests: `bench/run.sh`
//! runs them and prints one table (see `bench/README.md`).
//!
//! # Layout
//! - [`stamp`]: the wire contract between `bench_upstream` and `sse_probe`
//!   (each SSE event carries its send time) and the clock both read.
//! - [`stats`]: percentiles of latency samples.
//! - [`session`]: Claude Code 2.1.x-shaped request bodies whose conversation
//!   grows turn by turn, built from a recorded fixture.
//! - [`procs`]: child processes the orchestrator starts, with their CPU time
//!   and RSS read from `/proc`, and killed when dropped.
//! - [`wrk`]: running wrk and reading its report.
//! - [`tls`]: the TLS upstream's certificate, trusting a proxy's CA, and
//!   opening a `CONNECT` tunnel with TLS inside.
//! - [`tls_load`]: the load generator for the CONNECT+TLS rows (wrk cannot
//!   CONNECT), run as the `tls_load` binary.
//! - [`setups`]: direct, `record` and mitmdump, started per round.
//! - [`rounds`]: one round of one setup, and medians over rounds as a row.
//! - [`phases`]: memory, archive size and reading speed.
//! - [`verdict`]: the targets, PASS/MISS.
//! - [`table`]: the one result table, with ratios, targets and PASS/MISS.

pub mod phases;
pub mod procs;
pub mod rounds;
pub mod session;
pub mod setups;
pub mod stamp;
pub mod stats;
pub mod table;
pub mod tls;
pub mod tls_load;
pub mod verdict;
pub mod wrk;
