//! Any archive in, any archive out: [`AnyReader`] takes a HAR (`.har`,
//! `.har.zst`, `.har.gz`, anyone's) or a mitmproxy flow file, told apart by
//! content; [`AnyWriter`] writes one of them, chosen by the output's name
//! (or by the caller: `record -w` is a flow file whatever its name).
//!
//! What both binaries open and create goes through here, so `-`, the
//! formats and the error messages are the same in `record` and `analyze`.

mod read;
mod write;

pub use read::{AnyReadError, AnyReader};
pub use write::{AnyWriteError, AnyWriter, Kind, Placement, FLOW_SUFFIXES};
