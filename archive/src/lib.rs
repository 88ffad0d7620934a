//! The cctap archive: what `record` writes and `analyze` reads.
//!
//! The format is `archive/FORMAT.md`; this crate is its only
//! implementation, so the two binaries cannot drift apart.
//!
//! # Layout
//! - [`model`]: the HAR 1.2 document (from the `har` crate) plus cctap's
//!   `_sseEvents`, `_error` and `_redacted` extras.
//! - [`writer`]: a streaming writer (`.har`, `.har.zst`, `.har.gz`) that
//!   flushes after every entry, so a cut-off file keeps what was written.
//! - [`reader`]: a streaming reader that sniffs the format by content,
//!   yields one entry at a time, fills what browser HARs omit and recovers
//!   cut-off archives (`reader/scan.rs` walks the JSON bytes,
//!   `reader/lenient.rs` fills the gaps).
//! - [`wire`]: what crossed the wire (heads, body bytes) → a HAR request
//!   and response; the one builder `record` and the flow reader share.
//! - [`sse`]: an incremental `text/event-stream` parser.
//! - [`redact`]: credential patterns (`redact/patterns.rs`), the
//!   `redacted:<kind>:<fp>` marker, header and cookie rules, and redaction
//!   of a whole entry (`redact/entry.rs`).
//! - [`decode`]: undoing `content-encoding` (gzip, deflate, br, zstd).
//!   [`spill`] keeps a body too big for memory in an anonymous file; the
//!   writer streams it into the archive (`writer/stream.rs`).
//! - [`private_file`]: outputs are created `0600`, never through a symlink.
//! - [`base64`]: the codec for HAR's base64 bodies.
//! - [`flow`]: mitmproxy's native flow files (`mitmdump -w`): the
//!   tnetstring codec, [`FlowReader`] and [`FlowWriter`], the mapping
//!   between a flow state and an [`Entry`].
//! - [`any`]: [`AnyReader`] (HAR or flow file, sniffed by content) and
//!   [`AnyWriter`] (either, chosen by name; live, appending, or renamed
//!   into place when complete).

pub mod any;
pub mod base64;
pub mod decode;
pub mod fields;
pub mod flow;
pub mod model;
pub mod private_file;
pub mod reader;
pub mod redact;
pub mod spill;
pub mod sse;
pub mod wire;
pub mod writer;

#[cfg(test)]
mod testing;

pub use any::{AnyReadError, AnyReader, AnyWriteError, AnyWriter, Kind, Placement};
pub use flow::{FlowReadError, FlowReader, FlowWriteError, FlowWriter};
pub use model::{Entry, LogHead, SseEvent};
pub use reader::{ArchiveReader, Compression, CutOff, ReadError};
pub use writer::{ArchiveWriter, Format, WriteError};
