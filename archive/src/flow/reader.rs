//! Reads a flow file one flow at a time, as archive entries.
//!
//! Each top-level tnetstring is length-prefixed, so the reader takes exactly
//! one flow's bytes from the source (memory grows with the largest flow, not
//! the file), and a flow that does not convert is reported and skipped
//! without losing the ones after it. A file that ends inside a flow (a
//! killed `mitmdump -w` or `record -w`) ends iteration cleanly, with
//! [`FlowReader::cut_off`] saying where, as [`crate::ArchiveReader`] does.
//! TCP, UDP and DNS flows are skipped and counted by kind
//! ([`FlowReader::not_http`]), for the caller to name in a warning.
use super::migrate::{self, Handshakes};
use super::tnetstring;
use super::{to_entry, FlowError};
use crate::model::Entry;
use crate::reader::{open_input, CutOff};
use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Digits in a top-level length field (as mitmproxy's reader allows).
const MAX_LENGTH_DIGITS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum FlowReadError {
    #[error("cannot open {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("{path}: not a mitmproxy flow file ({why})")]
    NotFlow { path: String, why: String },
    #[error("{path}: flow {index} (at byte {offset}): {why}")]
    BadFlow {
        path: String,
        index: usize,
        offset: u64,
        why: String,
    },
    #[error("{path}: read error: {source}")]
    Io { path: String, source: io::Error },
}

/// Yields one entry per HTTP flow in the file.
pub struct FlowReader {
    name: String,
    source: BufReader<Box<dyn Read + Send>>,
    /// Bytes consumed so far.
    offset: u64,
    /// Flows read so far (HTTP or not).
    index: usize,
    /// Server connection ids already seen: a later flow on one is a reuse.
    servers: HashSet<String>,
    /// Handshakes of version 7–11 WebSocket flows (see `migrate.rs`).
    handshakes: Handshakes,
    skipped: usize,
    /// The kinds of those flows and how many of each, in order first seen.
    not_http: Vec<(String, usize)>,
    cut: Option<CutOff>,
    done: bool,
    entries: usize,
}

/// What reading one top-level value gave.
enum Frame {
    Value(Vec<u8>),
    End,
    Cut,
}

impl FlowReader {
    /// Opens a flow file (or stdin for `-`).
    pub fn open(path: &Path) -> Result<FlowReader, FlowReadError> {
        let name = path.display().to_string();
        let source = open_input(path).map_err(|source| FlowReadError::Open {
            path: name.clone(),
            source,
        })?;
        FlowReader::from_reader(&name, source)
    }

    /// Reads from any source; `name` is used in messages. Refuses input
    /// whose first bytes are not a tnetstring length.
    pub fn from_reader(
        name: &str,
        source: Box<dyn Read + Send>,
    ) -> Result<FlowReader, FlowReadError> {
        let mut reader = FlowReader {
            name: name.to_owned(),
            source: BufReader::with_capacity(64 * 1024, source),
            offset: 0,
            index: 0,
            servers: HashSet::new(),
            handshakes: Handshakes::default(),
            skipped: 0,
            not_http: Vec::new(),
            cut: None,
            done: false,
            entries: 0,
        };
        let prefix = match reader.source.fill_buf() {
            Ok(prefix) => prefix,
            Err(source) => {
                return Err(FlowReadError::Io {
                    path: name.to_owned(),
                    source,
                })
            }
        };
        if prefix.is_empty() {
            reader.done = true; // an empty file holds no flows
        } else if !starts_like_flow(prefix) {
            return Err(FlowReadError::NotFlow {
                path: reader.name,
                why: "it does not start with a tnetstring length (digits and ':')".into(),
            });
        }
        Ok(reader)
    }

    /// Bytes of the flow file read so far.
    pub fn bytes_read(&self) -> u64 {
        self.offset
    }

    /// After iteration ended: where the file was cut off, if it was.
    pub fn cut_off(&self) -> Option<&CutOff> {
        self.cut.as_ref()
    }

    /// Non-HTTP flows (TCP, UDP, DNS) skipped so far.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The kinds of flow skipped so far (`tcp`, `udp`, `dns`) and how many
    /// of each: an archive entry is an HTTP exchange, so these cannot be
    /// represented, and must be named rather than lost without a word.
    pub fn not_http(&self) -> &[(String, usize)] {
        &self.not_http
    }

    fn io(&self, source: io::Error) -> FlowReadError {
        FlowReadError::Io {
            path: self.name.clone(),
            source,
        }
    }

    /// Reads `DIGITS:PAYLOAD TAG` whole, or says where the input ended.
    fn frame(&mut self) -> Result<Frame, FlowReadError> {
        let mut bytes = Vec::new();
        loop {
            let mut b = [0u8; 1];
            match self.source.read(&mut b) {
                Ok(0) if bytes.is_empty() => return Ok(Frame::End),
                Ok(0) => return Ok(Frame::Cut),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            }
            bytes.push(b[0]);
            match b[0] {
                b':' if bytes.len() > 1 => break,
                b'0'..=b'9' if bytes.len() <= MAX_LENGTH_DIGITS => {}
                _ => {
                    return Err(self.bad(format!(
                        "bad length field {:?}",
                        String::from_utf8_lossy(&bytes)
                    )))
                }
            }
        }
        let digits = std::str::from_utf8(&bytes[..bytes.len() - 1]).unwrap_or("");
        let length: u64 = digits
            .parse()
            .map_err(|_| self.bad(format!("bad length field {digits:?}")))?;
        // `take` grows the buffer with what really arrives, so a huge
        // length in a cut or corrupt file allocates nothing up front.
        let want = length.saturating_add(1);
        let got = (&mut self.source)
            .take(want)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io(e))?;
        if (got as u64) < want {
            return Ok(Frame::Cut);
        }
        Ok(Frame::Value(bytes))
    }

    fn bad(&self, why: String) -> FlowReadError {
        FlowReadError::BadFlow {
            path: self.name.clone(),
            index: self.index,
            offset: self.offset,
            why,
        }
    }

    /// One flow's bytes → its entry, or `None` for a non-HTTP flow.
    fn convert(&mut self, bytes: &[u8]) -> Result<Option<Entry>, FlowReadError> {
        let parsed = match tnetstring::parse(bytes) {
            Ok(_) if bytes.last() != Some(&b'}') => Err("the value is not a dict".to_owned()),
            Ok((value, _)) => Ok(value),
            Err(e) => Err(e.to_string()),
        };
        let mut value = match parsed {
            Ok(value) => value,
            // The first value decides whether this is a flow file at all.
            Err(why) if self.index == 0 => {
                self.done = true;
                return Err(FlowReadError::NotFlow {
                    path: self.name.clone(),
                    why: format!("its first value: {why}"),
                });
            }
            Err(why) => return Err(self.bad(why)),
        };
        if let Err(e) = migrate::migrate(&mut value, &mut self.handshakes) {
            return Err(self.bad(e.to_string()));
        }
        let server = value
            .get("server_conn")
            .and_then(|s| s.get("id"))
            .and_then(|id| id.as_str())
            .map(str::to_owned);
        let reused = server.as_ref().is_some_and(|id| self.servers.contains(id));
        match to_entry::convert(&value, reused) {
            Ok(entry) => {
                self.servers.extend(server);
                Ok(Some(entry))
            }
            Err(FlowError::NotHttp(kind)) => {
                self.skipped += 1;
                match self.not_http.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, n)) => *n += 1,
                    None => self.not_http.push((kind, 1)),
                }
                Ok(None)
            }
            Err(e) => Err(self.bad(e.to_string())),
        }
    }
}

/// A tnetstring length, or a file cut off inside its first length field.
fn starts_like_flow(prefix: &[u8]) -> bool {
    let head = &prefix[..prefix.len().min(MAX_LENGTH_DIGITS + 1)];
    super::sniff(head) || (head.len() <= MAX_LENGTH_DIGITS && head.iter().all(u8::is_ascii_digit))
}

impl Iterator for FlowReader {
    type Item = Result<Entry, FlowReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let frame = match self.frame() {
                Ok(f) => f,
                Err(e) => {
                    // A broken length field cannot be skipped over.
                    self.done = true;
                    return Some(Err(e));
                }
            };
            let bytes = match frame {
                Frame::Value(bytes) => bytes,
                Frame::End => {
                    self.done = true;
                    return None;
                }
                Frame::Cut => {
                    self.done = true;
                    self.cut = Some(CutOff {
                        entries: self.entries,
                        offset: self.offset,
                    });
                    return None;
                }
            };
            let result = self.convert(&bytes);
            self.offset += bytes.len() as u64;
            self.index += 1;
            match result {
                Ok(Some(entry)) => {
                    self.entries += 1;
                    return Some(Ok(entry));
                }
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}
