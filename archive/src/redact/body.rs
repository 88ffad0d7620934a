//! Bodies as a reader recovers them: text through every view, form fields
//! and multipart parts by name, SSE pieces assembled; base64 bodies decoded
//! and searched byte for byte; compressed bytes (a corrupt or cut stream
//! kept as sent) inflated leniently, within a bound.
use super::scan::{scan_form, scan_text, Hit, Report};
use super::{params, stream};
use std::io::Read;

/// A body as stored, for [`redact`].
pub(crate) struct Body<'a> {
    pub text: &'a mut String,
    /// Stored as base64 (non-UTF-8 bytes).
    pub base64: bool,
    pub mime: &'a str,
    /// The `content-encoding` header, if any.
    pub encoding: Option<&'a str>,
}

/// What redaction did to a body.
#[derive(Debug, PartialEq)]
pub(crate) enum Changed {
    /// Nothing.
    No,
    /// Secrets replaced in the stored form.
    InPlace,
    /// Compressed bytes held a secret: the body is now its decoded form,
    /// redacted; `base64` says how it is stored now.
    Decoded { base64: bool },
}

/// Every hit in a text body (source 0).
fn text_hits(text: &str, mime: &str, hits: &mut Vec<Hit>) {
    scan_text(text, hits);
    let m = mime.trim_start().to_ascii_lowercase();
    if m.starts_with("application/x-www-form-urlencoded") {
        scan_form(text, hits);
        params::pairs(text, 0..text.len(), hits);
    } else if m.starts_with("multipart/") {
        params::multipart(text, mime, hits);
    } else if m.starts_with("text/event-stream") {
        stream::assembled_raw(text, hits);
    }
}

/// Bytes as text of the same length: non-ASCII bytes become NUL, so every
/// offset is a byte offset and credentials (ASCII) stay as they are.
fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b.is_ascii() { char::from(b) } else { '\0' })
        .collect()
}

/// Every hit in body bytes (offsets are byte offsets).
fn byte_hits(bytes: &[u8], mime: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    text_hits(&ascii(bytes), mime, &mut hits);
    hits
}

/// Redacts a body in place.
pub(crate) fn redact(body: Body<'_>, place: &str, report: &mut Report) -> Changed {
    if !body.base64 {
        let mut hits = Vec::new();
        text_hits(body.text, body.mime, &mut hits);
        return if report.apply(place, body.text, &hits) {
            Changed::InPlace
        } else {
            Changed::No
        };
    }
    if big_and_clean(&body) {
        return Changed::No;
    }
    let Some(bytes) = crate::base64::decode(body.text) else {
        // Says base64 but is not: search it as text.
        let mut hits = Vec::new();
        text_hits(body.text, body.mime, &mut hits);
        report.apply(place, body.text, &hits);
        return Changed::No;
    };
    // Held decoded only when it holds something to redact.
    let holds_hit = inflate_reader(&bytes, body.encoding).is_some_and(|r| any_hit(r, body.mime));
    if let Some(decoded) = holds_hit.then(|| inflate(&bytes, body.encoding)).flatten() {
        let hits = byte_hits(&decoded, body.mime);
        if !hits.is_empty() {
            let edits = report.edits(place, &hits);
            if let Some(clean) = edits.apply_bytes(&decoded) {
                report.changed(place);
                return match String::from_utf8(clean) {
                    Ok(text) => {
                        *body.text = text;
                        Changed::Decoded { base64: false }
                    }
                    Err(e) => {
                        *body.text = crate::base64::encode(e.as_bytes());
                        Changed::Decoded { base64: true }
                    }
                };
            }
        }
    }
    let hits = byte_hits(&bytes, body.mime);
    if hits.is_empty() {
        return Changed::No;
    }
    match report.edits(place, &hits).apply_bytes(&bytes) {
        Some(clean) => {
            *body.text = crate::base64::encode(&clean);
            report.changed(place);
            Changed::InPlace
        }
        None => Changed::No,
    }
}

/// A base64 body over 4 MiB is first searched as it decodes, a window at
/// a time ([`any_hit`]): when nothing is found (nearly always: a download,
/// an image), it is not held decoded, nor as the ASCII views the search
/// makes, beside its text. Only plain bodies: not compressed (that path
/// has its own bound), not a form, multipart or event stream (searched
/// as a whole), and valid base64 (else it is searched as text).
fn big_and_clean(body: &Body<'_>) -> bool {
    let m = body.mime.trim_start().to_ascii_lowercase();
    let structured = [
        "application/x-www-form-urlencoded",
        "multipart/",
        "text/event-stream",
    ]
    .iter()
    .any(|p| m.starts_with(p));
    if body.text.len() <= 4 << 20 || structured {
        return false;
    }
    let Some(start) = crate::base64::decode_prefix(body.text, 4) else {
        return false;
    };
    if inflate_reader(&start, body.encoding).is_some() || !crate::base64::is_valid(body.text) {
        return false;
    }
    !any_hit(Box::new(crate::base64::reader(body.text)), body.mime)
}

/// Decoded output searched at most: 100× the wire size (FORMAT.md's
/// bound for bodies), at least 16 MiB, at most 256 MiB.
fn inflate_limit(wire: usize) -> u64 {
    (wire as u64).saturating_mul(100).clamp(16 << 20, 256 << 20)
}

/// Whatever a reader gets out of compressed bytes, also from a stream that
/// is cut short or followed by junk: by `content-encoding`, else by the
/// magic bytes of gzip and zstd. `None` when nothing decodes.
pub(crate) fn inflate(bytes: &[u8], encoding: Option<&str>) -> Option<Vec<u8>> {
    let mut reader = inflate_reader(bytes, encoding)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    // Until the end, the first error (junk, a cut) or the bound.
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    (!out.is_empty()).then_some(out)
}

/// The decoding stream behind [`inflate`], bounded by [`inflate_limit`].
fn inflate_reader<'a>(bytes: &'a [u8], encoding: Option<&str>) -> Option<Box<dyn Read + 'a>> {
    let coding = encoding
        .and_then(|e| e.rsplit(',').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .or_else(|| match bytes {
            [0x1f, 0x8b, ..] => Some("gzip".to_owned()),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd".to_owned()),
            _ => None,
        })?;
    let limit = inflate_limit(bytes.len());
    let reader: Box<dyn Read + 'a> = match coding.as_str() {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        "deflate" if bytes.first().is_some_and(|b| b & 0x0f == 8) => {
            Box::new(flate2::read::ZlibDecoder::new(bytes))
        }
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(bytes)),
        "br" => Box::new(brotli::Decompressor::new(bytes, 8192)),
        "zstd" => Box::new(zstd::stream::read::Decoder::new(bytes).ok()?),
        _ => return None,
    };
    Some(Box::new(reader.take(limit)))
}

/// Whether a decoding stream holds any hit, searched a window at a time
/// (windows overlapping by [`stream::CARRY`], longer than any secret): a
/// decompression bomb is never held whole just to be searched.
fn any_hit(mut reader: Box<dyn Read + '_>, mime: &str) -> bool {
    let mut window = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        // A read error (junk, a cut) ends the stream, as in `inflate`.
        let n = reader.read(&mut buf).unwrap_or(0);
        window.extend_from_slice(&buf[..n]);
        let end = n == 0;
        if end || window.len() >= stream::WINDOW + stream::CARRY {
            if !byte_hits(&window, mime).is_empty() {
                return true;
            }
            if end {
                return false;
            }
            window.drain(..window.len() - stream::CARRY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn cut_and_junk_trailed_streams_give_what_they_hold() {
        let text = format!("head {} tail", "x".repeat(40_000));
        let whole = gzip(text.as_bytes());
        let mut junk = whole.clone();
        junk.extend_from_slice(b"\x00\xffjunk after the member");
        let got = inflate(&junk, Some("gzip")).unwrap();
        assert!(got == text.as_bytes(), "{} of {}", got.len(), text.len());
        let cut = &whole[..whole.len() * 3 / 4];
        let got = inflate(cut, None).expect("sniffed gzip");
        assert!(
            got.starts_with(b"head xxx") && got.len() < text.len(),
            "{}",
            got.len()
        );
        assert_eq!(inflate(b"plain", None), None);
        let bomb = gzip(&vec![0; 20 << 20]);
        assert_eq!(
            inflate(&bomb, None).unwrap().len() as u64,
            inflate_limit(bomb.len())
        );
    }

    #[test]
    fn a_compressed_secret_is_found_a_window_at_a_time() {
        let key = "sk-ant-api03-FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE-FAKEAA";
        // Past the first window, and across the boundary of the second.
        for at in [3 << 20, stream::WINDOW + stream::CARRY - 20] {
            let mut text = vec![b'.'; at];
            text.extend_from_slice(key.as_bytes());
            text.resize(text.len() + (1 << 20), b'.');
            let gz = gzip(&text);
            let reader = inflate_reader(&gz, Some("gzip")).unwrap();
            assert!(any_hit(reader, "text/plain"), "key at {at}");
        }
        let clean = gzip(&vec![b'.'; 5 << 20]);
        assert!(!any_hit(
            inflate_reader(&clean, None).unwrap(),
            "text/plain"
        ));
    }

    #[test]
    fn a_big_base64_body_is_searched_as_it_decodes_and_redacted_whole_when_it_holds_a_key() {
        let key = "sk-ant-api03-FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE-FAKEAA";
        let bytes: Vec<u8> = (0..6u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80)
            .collect();
        let run = |bytes: &[u8], mime: &str| {
            let mut text = crate::base64::encode(bytes);
            let before = text.clone();
            let mut report = Report {
                places: Vec::new(),
                findings: Some(Vec::new()),
            };
            let body = Body {
                text: &mut text,
                base64: true,
                mime,
                encoding: None,
            };
            let changed = redact(body, "response.content.text", &mut report);
            (changed, report.findings.unwrap().len(), text != before)
        };
        let clean = Body {
            text: &mut crate::base64::encode(&bytes),
            base64: true,
            mime: "application/octet-stream",
            encoding: None,
        };
        assert!(
            big_and_clean(&clean),
            "searched as it decodes, nothing found"
        );
        assert_eq!(
            run(&bytes, "application/octet-stream"),
            (Changed::No, 0, false)
        );
        // A key anywhere, across a window's edge too, is found and redacted
        // as before (the whole-body path runs once something is found).
        for at in [10, 3 << 20, stream::WINDOW + stream::CARRY - 20] {
            let mut with_key = bytes.clone();
            with_key[at..at + key.len()].copy_from_slice(key.as_bytes());
            assert_eq!(
                run(&with_key, "application/octet-stream"),
                (Changed::InPlace, 1, true),
                "key at {at}"
            );
        }
    }
}
