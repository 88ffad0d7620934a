//! Bodies too big for memory (FORMAT.md, "Bodies": recording a body never
//! needs memory in proportion to its size).
//!
//! A [`Spill`] is an anonymous file (`O_TMPFILE`, or created and unlinked at
//! once) in a private directory: no other user can open it, and it is gone
//! when the last handle closes: when its entry has been written, or when
//! the process ends, however it ends. A [`BodyNote`] travels with an entry
//! and tells the writer where such a body is and how to write it
//! (`writer/stream.rs` decodes, redacts and escapes it on the fly), and
//! which of `_undecoded` / `_truncated` the body's object carries.
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// A directory only this user can enter, for spill files; made once per
/// process under the system's temporary directory (`$TMPDIR`).
pub fn private_dir() -> io::Result<&'static Path> {
    static DIR: OnceLock<Result<tempfile::TempDir, String>> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        // tempfile makes the directory 0700.
        tempfile::Builder::new()
            .prefix("cctap-spill-")
            .tempdir()
            .map_err(|e| e.to_string())
    });
    match dir {
        Ok(d) => Ok(d.path()),
        Err(e) => Err(io::Error::other(format!(
            "cannot create a private temporary directory (set TMPDIR to a writable place): {e}"
        ))),
    }
}

/// Removes the private directory's path, if it was made (its files are
/// anonymous already). For the end of the process: statics are not dropped.
pub fn remove_private_dir() {
    if let Ok(dir) = private_dir() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// An anonymous file holding one body's bytes, appended in order.
#[derive(Debug)]
pub struct Spill {
    file: File,
    len: u64,
}

impl Spill {
    /// A new, empty spill file in [`private_dir`].
    pub fn create() -> io::Result<Spill> {
        Spill::create_in(private_dir()?)
    }

    /// A new, empty spill file in `dir`.
    pub fn create_in(dir: &Path) -> io::Result<Spill> {
        Ok(Spill {
            file: tempfile::tempfile_in(dir)?,
            len: 0,
        })
    }

    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads the bytes from the start (positioned reads: any number of
    /// readers at once, none disturbing the appends).
    pub fn reader(&self) -> SpillReader<'_> {
        SpillReader {
            spill: self,
            pos: 0,
        }
    }
}

/// See [`Spill::reader`].
pub struct SpillReader<'a> {
    spill: &'a Spill,
    pos: u64,
}

impl Read for SpillReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.spill.len - self.pos;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.spill.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Where a body's `text` comes from when it is not in the entry.
#[derive(Clone, Debug)]
pub struct SpilledBody {
    /// The wire bytes.
    pub wire: Arc<Spill>,
    /// The `content-encoding` to undo while writing (`None`: write as is).
    pub decode: Option<String>,
    /// Base64 the (decoded) bytes rather than escape them as text.
    pub base64: bool,
    /// Write at most this many (decoded) bytes (`--max-body-size`).
    pub keep: Option<u64>,
    /// Redact credentials on the way (`record`'s default).
    pub redact: bool,
}

/// What a body's object (`request.postData`, `response.content`) carries
/// beyond HAR's fields; see the module doc.
#[derive(Clone, Debug, Default)]
pub struct BodyNote {
    /// The body is written from here; the entry's `text` is a placeholder.
    pub spilled: Option<SpilledBody>,
    /// `_undecoded`: why the body is kept as wire bytes.
    pub undecoded: Option<String>,
    /// `_truncated`: the body was cut at a limit the user set.
    pub truncated: bool,
}

impl BodyNote {
    /// Whether the note changes anything in the written entry.
    pub fn is_empty(&self) -> bool {
        self.spilled.is_none() && self.undecoded.is_none() && !self.truncated
    }
}

impl PartialEq for BodyNote {
    fn eq(&self, other: &BodyNote) -> bool {
        let same_file = match (&self.spilled, &other.spilled) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a.wire, &b.wire),
            (a, b) => a.is_none() && b.is_none(),
        };
        same_file && self.undecoded == other.undecoded && self.truncated == other.truncated
    }
}

/// Marks an entry's spilled bodies to be redacted as they are written
/// (`analyze redact`; the entry's other fields go through
/// [`crate::redact::redact_entry`]): [`crate::redact::StreamRedactor`]
/// replaces every secret the in-memory rules find in a body's text or
/// (base64 bodies, decoded here into a new file) its bytes. Bodies whose
/// rules need the whole body at once are refused with the reason: form
/// fields and multipart parts by name, SSE deltas assembled, compressed
/// bytes inflated. Returns how many bodies were marked.
pub fn redact_spilled(entry: &mut crate::model::Entry) -> Result<usize, String> {
    let mut marked = 0;
    let har = &mut entry.har;
    let request = har.request.post_data.as_ref().map(|p| {
        let base64 = p.comment.as_deref() == Some("base64");
        (p.mime_type.clone(), base64, "request.postData.text")
    });
    let content = &har.response.content;
    let response = Some((
        content.mime_type.clone().unwrap_or_default(),
        content.encoding.as_deref() == Some("base64"),
        "response.content.text",
    ));
    let encodings = [
        crate::model::find_header(&har.request.headers, "content-encoding").map(str::to_owned),
        crate::model::find_header(&har.response.headers, "content-encoding").map(str::to_owned),
    ];
    let sides = [
        (&mut entry.request_note, request),
        (&mut entry.response_note, response),
    ];
    for ((note, side), encoding) in sides.into_iter().zip(encodings) {
        let Some(body) = note.as_mut().and_then(|n| n.spilled.as_mut()) else {
            continue;
        };
        let Some((mime, base64, place)) = side else {
            continue;
        };
        let m = mime.trim_start().to_ascii_lowercase();
        let whole_only = [
            "application/x-www-form-urlencoded",
            "multipart/",
            "text/event-stream",
        ];
        if let Some(kind) = whole_only.iter().find(|k| m.starts_with(*k)) {
            return Err(format!(
                "{place} is longer than {} MiB and of type {kind}, whose redaction rules need the \
                 whole body in memory",
                crate::reader::MAX_STRING >> 20
            ));
        }
        let compressed = encoding.is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
        if base64 && compressed {
            return Err(format!(
                "{place} is longer than {} MiB and holds compressed bytes, which redaction would \
                 have to inflate whole",
                crate::reader::MAX_STRING >> 20
            ));
        }
        if base64 && !body.base64 {
            body.wire = Arc::new(decode_base64(&body.wire).map_err(|e| format!("{place}: {e}"))?);
            body.base64 = true;
        }
        body.redact = true;
        marked += 1;
    }
    Ok(marked)
}

/// A spill file of base64 text, decoded into a new one a piece at a time.
fn decode_base64(text: &Spill) -> io::Result<Spill> {
    let mut out = Spill::create()?;
    let mut reader = text.reader();
    let mut read = vec![0u8; 4 << 20];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = reader.read(&mut read)?;
        carry.extend(read[..n].iter().filter(|b| !b.is_ascii_whitespace()));
        let whole = if n == 0 {
            carry.len()
        } else {
            carry.len() / 4 * 4
        };
        let text = std::str::from_utf8(&carry[..whole]).ok();
        let bytes = text
            .and_then(crate::base64::decode)
            .ok_or_else(|| io::Error::other("its text is not valid base64"))?;
        out.append(&bytes)?;
        carry.drain(..whole);
        if n == 0 {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_entry;

    fn spilled(text: &str) -> BodyNote {
        let mut spill = Spill::create_in(&std::env::temp_dir()).unwrap();
        spill.append(text.as_bytes()).unwrap();
        BodyNote {
            spilled: Some(SpilledBody {
                wire: Arc::new(spill),
                decode: None,
                base64: false,
                keep: None,
                redact: false,
            }),
            ..BodyNote::default()
        }
    }

    fn body(note: &Option<BodyNote>) -> (Vec<u8>, bool, bool) {
        let b = note.as_ref().unwrap().spilled.as_ref().unwrap();
        let mut bytes = Vec::new();
        b.wire.reader().read_to_end(&mut bytes).unwrap();
        (bytes, b.base64, b.redact)
    }

    #[test]
    fn spilled_bodies_are_marked_for_redaction_base64_ones_decoded() {
        let mut e = sample_entry(0);
        e.har.response.content.mime_type = Some("application/octet-stream".into());
        e.har.response.content.encoding = Some("base64".into());
        e.response_note = Some(spilled("aGVs\nbG8g\nd29y bGQ="));
        e.request_note = Some(spilled("{\"a\":1}"));
        assert_eq!(redact_spilled(&mut e), Ok(2));
        assert_eq!(
            body(&e.response_note),
            (b"hello world".to_vec(), true, true)
        );
        assert_eq!(body(&e.request_note), (b"{\"a\":1}".to_vec(), false, true));
    }

    #[test]
    fn bodies_whose_rules_need_them_whole_are_refused_with_the_reason() {
        for (mime, encoding, text, why) in [
            ("text/event-stream", None, "data: {}", "text/event-stream"),
            (
                "application/x-www-form-urlencoded",
                None,
                "a=b",
                "x-www-form",
            ),
            (
                "multipart/form-data; boundary=x",
                None,
                "--x--",
                "multipart/",
            ),
            ("application/json", Some("gzip"), "H4sI", "compressed bytes"),
        ] {
            let mut e = sample_entry(0);
            e.har.response.content.mime_type = Some(mime.into());
            if let Some(coding) = encoding {
                e.har.response.content.encoding = Some("base64".into());
                e.har.response.headers.push(crate::model::Header {
                    name: "Content-Encoding".into(),
                    value: coding.into(),
                    comment: None,
                });
            }
            e.response_note = Some(spilled(text));
            let err = redact_spilled(&mut e).unwrap_err();
            assert!(err.contains(why) && err.contains("64 MiB"), "{mime}: {err}");
        }
    }
}
