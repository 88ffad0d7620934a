//! One reader for every input `analyze` accepts: a HAR archive (`.har`,
//! `.har.zst`, `.har.gz`, anyone's) or a mitmproxy flow file, told apart by
//! content, never by name (a flow file starts with a tnetstring length, a
//! HAR with `{`, a BOM or a compression magic).
use crate::flow::{FlowReadError, FlowReader};
use crate::model::{Entry, LogHead};
use crate::reader::{open_error, open_input, ArchiveReader, CutOff, ReadError};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A failure from whichever reader the input needed.
#[derive(Debug, thiserror::Error)]
pub enum AnyReadError {
    #[error(transparent)]
    Har(#[from] ReadError),
    #[error(transparent)]
    Flow(#[from] FlowReadError),
}

/// Entries from a HAR archive or a flow file, as sniffed.
pub enum AnyReader {
    Har(ArchiveReader),
    Flows(FlowReader),
}

impl AnyReader {
    /// Opens a file (or stdin for `-`) and picks the reader by content.
    pub fn open(path: &Path) -> Result<AnyReader, AnyReadError> {
        let source = open_input(path).map_err(open_error(path))?;
        AnyReader::from_reader(&path.display().to_string(), source)
    }

    /// Reads from any source; `name` is used in messages.
    pub fn from_reader(
        name: &str,
        source: Box<dyn Read + Send>,
    ) -> Result<AnyReader, AnyReadError> {
        let mut buffered = BufReader::new(source);
        let prefix = buffered.fill_buf().map_err(|source| ReadError::Io {
            path: name.to_owned(),
            source,
        })?;
        // An empty file is a flow file with no flows (what `export` writes
        // from an empty archive) when its name says so; else an empty HAR,
        // which the HAR reader refuses.
        let is_flows = if prefix.is_empty() {
            crate::Kind::from_path(Path::new(name)) == crate::Kind::Flows
        } else {
            crate::flow::sniff(&prefix[..prefix.len().min(16)])
        };
        let source: Box<dyn Read + Send> = Box::new(buffered);
        Ok(if is_flows {
            AnyReader::Flows(FlowReader::from_reader(name, source)?)
        } else {
            AnyReader::Har(ArchiveReader::from_reader(name, source)?)
        })
    }

    /// For a copy: a HAR's bodies longer than [`crate::reader::MAX_STRING`]
    /// are kept whole in temporary files, not cut
    /// ([`ArchiveReader::spill_long_strings`]). Flow files hold no such cap.
    pub fn spill_long_strings(&mut self) {
        if let AnyReader::Har(r) = self {
            r.spill_long_strings();
        }
    }

    /// After iteration ended: where the input was cut off, if it was.
    pub fn cut_off(&self) -> Option<&CutOff> {
        match self {
            AnyReader::Har(r) => r.cut_off(),
            AnyReader::Flows(r) => r.cut_off(),
        }
    }

    /// The HAR's `log` fields other than `entries` (as far as read); a flow
    /// file has none.
    pub fn head(&self) -> Option<&LogHead> {
        match self {
            AnyReader::Har(r) => Some(r.head()),
            AnyReader::Flows(_) => None,
        }
    }

    /// Flows of kinds an entry cannot hold (`tcp`, `udp`, `dns`) that were
    /// skipped, with their counts; a HAR has none.
    pub fn not_http(&self) -> &[(String, usize)] {
        match self {
            AnyReader::Har(_) => &[],
            AnyReader::Flows(r) => r.not_http(),
        }
    }

    /// Bytes of the document read so far, after decompression: what a
    /// throughput figure counts.
    pub fn bytes_read(&self) -> u64 {
        match self {
            AnyReader::Har(r) => r.bytes_read(),
            AnyReader::Flows(r) => r.bytes_read(),
        }
    }

    /// What kind of file this is, for messages: `HAR` or `mitmproxy flows`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyReader::Har(_) => "HAR",
            AnyReader::Flows(_) => "mitmproxy flows",
        }
    }
}

impl Iterator for AnyReader {
    type Item = Result<Entry, AnyReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            AnyReader::Har(r) => r.next().map(|e| e.map_err(AnyReadError::from)),
            AnyReader::Flows(r) => r.next().map(|e| e.map_err(AnyReadError::from)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sample_entry, SharedSink};
    use crate::{ArchiveWriter, FlowWriter, Format};
    use std::io;

    fn read(bytes: Vec<u8>) -> (AnyReader, Vec<Entry>) {
        read_named("x", bytes)
    }

    fn read_named(name: &str, bytes: Vec<u8>) -> (AnyReader, Vec<Entry>) {
        let mut r = AnyReader::from_reader(name, Box::new(io::Cursor::new(bytes))).unwrap();
        let entries = r.by_ref().map(|e| e.unwrap()).collect();
        (r, entries)
    }

    #[test]
    fn har_and_flows_are_told_apart_by_content() {
        let entries: Vec<Entry> = (0..2).map(sample_entry).collect();
        let flows = SharedSink::default();
        let mut w = FlowWriter::new("f", Box::new(flows.clone()));
        let har = SharedSink::default();
        let head = LogHead::new("t", "0");
        let mut h = ArchiveWriter::new(Box::new(har.clone()), Format::HarZst, &head).unwrap();
        for e in &entries {
            w.append(e).unwrap();
            h.append(e).unwrap();
        }
        h.finish().unwrap();
        for (bytes, kind) in [(flows.bytes(), "mitmproxy flows"), (har.bytes(), "HAR")] {
            let (r, got) = read(bytes);
            assert_eq!(r.kind(), kind);
            assert_eq!(r.head().is_some(), kind == "HAR");
            assert_eq!(got.len(), 2);
            assert_eq!(got[1].har.request.url, entries[1].har.request.url);
        }
        let flows = flows.bytes();
        let (r, got) = read(flows[..flows.len() - 10].to_vec());
        assert_eq!((got.len(), r.cut_off().map(|c| c.entries)), (1, Some(1)));
    }

    #[test]
    fn an_empty_flow_file_has_no_flows_and_an_empty_har_is_refused() {
        let (r, got) = read_named("empty.flows", Vec::new());
        assert_eq!(
            (r.kind(), got.len(), r.cut_off()),
            ("mitmproxy flows", 0, None)
        );
        let err = AnyReader::from_reader("empty.har", Box::new(io::Cursor::new(Vec::new())))
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("empty.har: not a HAR archive (the file is empty)"),
            "{err}"
        );
    }

    #[test]
    fn neither_is_a_clear_error() {
        let err = AnyReader::from_reader("notes.txt", Box::new(io::Cursor::new(b"hello".to_vec())))
            .err()
            .unwrap();
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }

    #[test]
    fn every_reader_names_a_file_it_cannot_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.har");
        let errors = [
            crate::ArchiveReader::open(&path).err().unwrap().to_string(),
            FlowReader::open(&path).err().unwrap().to_string(),
            AnyReader::open(&path).err().unwrap().to_string(),
        ];
        for err in errors {
            assert!(
                err.starts_with("cannot open ") && err.contains("gone.har"),
                "{err}"
            );
        }
    }
}
