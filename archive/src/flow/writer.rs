//! Writes entries as a mitmproxy flow file (`record -w FILE`, `analyze
//! export … -o x.flows`).
//!
//! A flow file has no head and no tail: each appended entry becomes one
//! tnetstring flow state, written and flushed at once by
//! [`FlowWriter::append`] (or flushed with the others of its batch by
//! [`FlowWriter::flush`] after [`FlowWriter::append_batched`]), so a file
//! cut off at any moment holds every flow flushed before the cut and
//! mitmproxy (and [`super::FlowReader`]) load it.
use super::{from_entry, FlowError};
use crate::model::Entry;
use crate::private_file::{open_private, Open};
use std::io::{self, BufWriter, Write};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum FlowWriteError {
    #[error("cannot write flow file {path}: {source}")]
    Io { path: String, source: io::Error },
    /// The entry cannot be a flow (its URL is not absolute, its start is
    /// not a date); nothing was written for it.
    #[error("cannot write entry {index} as a mitmproxy flow: {source}")]
    Entry { index: usize, source: FlowError },
}

/// One flow per [`FlowWriter::append`], flushed.
pub struct FlowWriter {
    sink: BufWriter<Box<dyn Write + Send>>,
    path: String,
    /// Entries offered so far (written or refused), for ids and messages.
    index: usize,
    flows: usize,
}

impl FlowWriter {
    /// Creates (truncates) the file, or standard output for `-`.
    pub fn create(path: &Path) -> Result<FlowWriter, FlowWriteError> {
        let name = path.display().to_string();
        let sink: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            Box::new(
                open_private(path, Open::Truncate).map_err(|source| FlowWriteError::Io {
                    path: name.clone(),
                    source,
                })?,
            )
        };
        Ok(FlowWriter::new(&name, sink))
    }

    /// Writes to any sink; `name` is used in messages.
    pub fn new(name: &str, sink: Box<dyn Write + Send>) -> FlowWriter {
        FlowWriter {
            sink: BufWriter::with_capacity(64 * 1024, sink),
            path: name.to_owned(),
            index: 0,
            flows: 0,
        }
    }

    /// Converts the entry, writes its flow and flushes.
    pub fn append(&mut self, entry: &Entry) -> Result<(), FlowWriteError> {
        self.append_batched(entry)?;
        self.flush()
    }

    /// Pushes every flow written so far to the sink.
    pub fn flush(&mut self) -> Result<(), FlowWriteError> {
        self.sink.flush().map_err(|source| FlowWriteError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Like [`FlowWriter::append`] without the flush (group commit: see
    /// [`FlowWriter::flush`]).
    pub fn append_batched(&mut self, entry: &Entry) -> Result<(), FlowWriteError> {
        let index = self.index;
        self.index += 1;
        let flow = from_entry::convert(entry, index)
            .map_err(|source| FlowWriteError::Entry { index, source })?;
        self.write_flow(&flow)
    }

    /// Like [`FlowWriter::append_batched`] for an entry the caller is done
    /// with: its bodies move into the flow instead of being copied.
    pub fn append_owned(&mut self, entry: Entry) -> Result<(), FlowWriteError> {
        let index = self.index;
        self.index += 1;
        let flow = from_entry::convert_owned(entry, index)
            .map_err(|source| FlowWriteError::Entry { index, source })?;
        self.write_flow(&flow)
    }

    /// Encodes the flow into the sink: in one buffer when small (one
    /// write), through the sink's own buffer when it holds megabytes.
    fn write_flow(&mut self, flow: &super::tnetstring::Value) -> Result<(), FlowWriteError> {
        let written = if super::tnetstring::encoded_len(flow) > 4 << 20 {
            super::tnetstring::dump_to(flow, &mut self.sink)
        } else {
            self.sink.write_all(&super::tnetstring::to_vec(flow))
        };
        written.map_err(|source| FlowWriteError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.flows += 1;
        Ok(())
    }

    /// Flows written so far.
    pub fn flows(&self) -> usize {
        self.flows
    }

    /// Flushes and closes. (Every append is flushed already; this only
    /// reports a last error.)
    pub fn finish(mut self) -> Result<(), FlowWriteError> {
        self.sink.flush().map_err(|source| FlowWriteError::Io {
            path: self.path.clone(),
            source,
        })
    }
}
