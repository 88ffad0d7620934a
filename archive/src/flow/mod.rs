//! mitmproxy's native flow files (`mitmdump -w FILE`), read and written.
//!
//! A flow file is a plain concatenation of tnetstring-encoded HTTP flow
//! states, one per exchange, no header and no index (mitmproxy's
//! `io/io.py`). The state is a dict of the flow (`version`, `type`, `id`,
//! `error`, `client_conn`, `server_conn`, `request`, `response`, …) as
//! mitmproxy 11's `get_state` methods write it; flow format version 21.
//! Versions 0.11 to 21 (mitmproxy 0.11 to 12) are read, older ones brought
//! up by `migrate.rs` as mitmproxy's `io/compat.py` does.
//!
//! # Layout
//! - [`tnetstring`]: the framing codec (parse, dump, bounded and
//!   panic-free).
//! - `state.rs`: typed access to a parsed state, with errors naming the
//!   field.
//! - `to_entry.rs` / `from_entry.rs`: a flow state ↔ an archive [`Entry`]
//!   ([`flow_to_entry`], [`entry_to_flow`]); `body.rs`, `timing.rs` and
//!   `url.rs` map bodies, timestamps and URLs between the two.
//! - `reader.rs` / `writer.rs`: [`FlowReader`] (entries from a file, cut-off
//!   files recovered) and [`FlowWriter`] (one flow per entry, flushed).
//!
//! What mitmproxy does that HAR readers would not expect, and the choices
//! made here, are in `MITMPROXY.md` beside this file.
use crate::model::Entry;

mod body;
mod from_entry;
mod migrate;
mod reader;
mod state;
mod timing;
pub mod tnetstring;
mod to_entry;
mod url;
mod writer;

#[cfg(test)]
mod tests;

pub use reader::{FlowReadError, FlowReader};
pub use tnetstring::Value;
pub use writer::{FlowWriteError, FlowWriter};

/// The flow format version written (mitmproxy 11's `FLOW_FORMAT_VERSION`).
pub const FLOW_FORMAT_VERSION: i64 = 21;

/// The oldest flow format version read: 0.11 (mitmproxy 0.11), the
/// oldest mitmproxy 11 upgrades.
pub const OLDEST_FLOW_FORMAT_VERSION: &str = "0.11";

/// Why one flow state could not become an entry, or an entry a flow.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A TCP, UDP or DNS flow: there is no HTTP exchange to archive.
    #[error("it is a {0} flow, not an HTTP flow")]
    NotHttp(String),
    #[error(
        "flow format version {0} is not supported (cctap reads versions \
         {OLDEST_FLOW_FORMAT_VERSION} to {FLOW_FORMAT_VERSION}, as written by mitmproxy 0.11 to 12)"
    )]
    Version(String),
    /// A field is missing or of the wrong type.
    #[error("{path}: {why}")]
    Field { path: String, why: String },
    #[error("cannot split the URL {0:?} into scheme, host, port and path")]
    Url(String),
}

/// Whether these first bytes of a file look like a flow file: a tnetstring
/// length (digits then `:`). HAR documents start with `{` (or a BOM), zstd
/// and gzip with their magic, so this is unambiguous; [`FlowReader`] then
/// checks that the first value is a dict.
pub fn sniff(prefix: &[u8]) -> bool {
    let digits = prefix.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && prefix.get(digits) == Some(&b':')
}

/// The entry for one HTTP flow state. Its server connection counts as
/// opened for it (see `timing.rs`); [`FlowReader`] tracks reuse across a
/// file. `_sseEvents` stays `None`: mitmproxy keeps no event times, the
/// stream is in the response body.
pub fn flow_to_entry(flow: &Value) -> Result<Entry, FlowError> {
    to_entry::convert(flow, false)
}

/// The HTTP flow state for one entry, as mitmproxy 11 would write it.
pub fn entry_to_flow(entry: &Entry) -> Result<Value, FlowError> {
    from_entry::convert(entry, 0)
}
