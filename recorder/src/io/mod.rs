//! The byte-level adapters a request and its response pass through, in
//! the order they meet them:
//!
//! - [`headtap`]: an `AsyncRead` that parses each message head off the
//!   socket (header names in wire order and case), both directions.
//! - [`rewind`]: replays bytes read ahead (sniffing) before the rest.
//! - [`write_through`]: the write half those read-side adapters share.
//! - [`tee`]: forwards each body frame at once and shows it to the record.
//! - [`body`]: the body types everything above passes around.

pub mod body;
pub mod headtap;
pub mod rewind;
pub mod tee;
pub mod write_through;
