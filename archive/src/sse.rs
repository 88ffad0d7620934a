//! Incremental `text/event-stream` parser (WHATWG HTML, "Server-sent
//! events", event stream interpretation).
//!
//! Chunks arrive as the network delivers them, split anywhere: inside a
//! line, inside a UTF-8 character, between the `\r` and `\n` of a CRLF. The
//! parser keeps only the unfinished line, so each byte is looked at once.
//!
//! Two deliberate differences from a browser, because this records a stream
//! rather than consuming it: `id` and `retry` are reported on the event whose
//! block carried them (not carried over to later events), and [`finish`]
//! still emits a last event whose blank line never came.
//!
//! [`finish`]: SseParser::finish
use crate::model::SseEvent;

/// Feeds on chunks as they arrive; emits each event when its blank line arrives.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line that has begun but not ended.
    line: Vec<u8>,
    /// The last chunk ended in `\r`: a `\n` opening the next one belongs to it.
    after_cr: bool,
    /// No line processed yet, so a leading byte-order mark is still skipped.
    started: bool,
    /// The block being collected.
    block: Block,
}

/// The fields of the event being collected, up to its blank line.
#[derive(Debug, Default)]
struct Block {
    event: String,
    data: String,
    has_data: bool,
    id: Option<String>,
    retry: Option<u64>,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Parses a chunk that arrived `time_ms` after the entry started; every
    /// event it completes is pushed to `out` stamped with `time_ms`.
    pub fn feed(&mut self, chunk: &[u8], time_ms: f64, out: &mut Vec<SseEvent>) {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            if self.line.is_empty() {
                self.process_line(&rest[..pos], time_ms, out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&rest[..pos]);
                self.process_line(&line, time_ms, out);
                line.clear();
                self.line = line;
            }
            let terminator = rest[pos];
            rest = &rest[pos + 1..];
            if terminator == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(rest);
    }

    /// End of stream: an event without its final blank line is still emitted.
    pub fn finish(&mut self, time_ms: f64, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, time_ms, out);
        }
        self.after_cr = false;
        self.dispatch(time_ms, out);
    }

    /// One complete line, without its terminator.
    fn process_line(&mut self, line: &[u8], time_ms: f64, out: &mut Vec<SseEvent>) {
        let mut line = line;
        if !self.started {
            self.started = true;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(time_ms, out);
            return;
        }
        if line[0] == b':' {
            return; // a comment
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        let block = &mut self.block;
        match field {
            b"event" => block.event = value.into_owned(),
            b"data" => {
                if block.has_data {
                    block.data.push('\n');
                }
                block.data.push_str(&value);
                block.has_data = true;
            }
            b"id" if !value.contains('\0') => block.id = Some(value.into_owned()),
            b"retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                block.retry = value.parse().ok();
            }
            _ => {} // unknown fields are ignored
        }
    }

    /// The blank line: emit the block as an event if it had data.
    fn dispatch(&mut self, time_ms: f64, out: &mut Vec<SseEvent>) {
        let block = std::mem::take(&mut self.block);
        if !block.has_data {
            return;
        }
        let event = if block.event.is_empty() {
            "message".to_owned()
        } else {
            block.event
        };
        out.push(SseEvent {
            time: time_ms,
            event,
            data: block.data,
            id: block.id,
            retry: block.retry,
        });
    }
}

/// Parses a whole stream held as text (times are 0).
pub fn parse_all(text: &str) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    parser.feed(text.as_bytes(), 0.0, &mut out);
    parser.finish(0.0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream as the Messages API sends it, with a multibyte character.
    const STREAM: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01FAKE\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n",
        "\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n",
        "\n",
        "event: ping\n",
        "data: {\"type\": \"ping\"}\n",
        "\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi — café ☕ 👋\"}}\n",
        "\n",
        "event: content_block_stop\n",
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n",
        "\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n",
        "\n",
        "event: message_stop\n",
        "data: {\"type\":\"message_stop\"}\n",
        "\n",
    );

    fn types(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.event.as_str()).collect()
    }

    #[test]
    fn anthropic_stream_parses() {
        let events = parse_all(STREAM);
        assert_eq!(
            types(&events),
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(events[2].data, "{\"type\": \"ping\"}");
        assert!(events[3].data.contains("café ☕ 👋"));
    }

    #[test]
    fn split_at_every_byte_equals_unsplit() {
        let whole = parse_all(STREAM);
        let bytes = STREAM.as_bytes();
        for cut in 0..=bytes.len() {
            let mut parser = SseParser::new();
            let mut out = Vec::new();
            parser.feed(&bytes[..cut], 0.0, &mut out);
            parser.feed(&bytes[cut..], 0.0, &mut out);
            parser.finish(0.0, &mut out);
            assert_eq!(out, whole, "split at byte {cut}");
        }
    }

    #[test]
    fn byte_by_byte_with_crlf_and_cr_equals_unsplit() {
        let whole = parse_all(STREAM);
        for ending in ["\r\n", "\r"] {
            let text = STREAM.replace('\n', ending);
            let mut parser = SseParser::new();
            let mut out = Vec::new();
            for b in text.as_bytes() {
                parser.feed(std::slice::from_ref(b), 0.0, &mut out);
            }
            parser.finish(0.0, &mut out);
            assert_eq!(out, whole, "line ending {ending:?}");
        }
    }

    #[test]
    fn crlf_split_between_cr_and_lf_is_one_line_ending() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        parser.feed(b"data: a\r", 1.0, &mut out);
        parser.feed(b"\ndata: b\r\n\r", 2.0, &mut out);
        assert_eq!(out.len(), 1, "a lone \\r ends the blank line");
        parser.feed(b"\ndata: c\n\n", 3.0, &mut out);
        assert_eq!(
            out.len(),
            2,
            "the \\n after that \\r is no second blank line"
        );
        assert_eq!((out[0].data.as_str(), out[0].time), ("a\nb", 2.0));
        assert_eq!(out[1].data, "c");
    }

    #[test]
    fn multibyte_char_split_across_chunks() {
        let text = "data: 👋é\n\n".as_bytes();
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        parser.feed(&text[..8], 1.0, &mut out);
        parser.feed(&text[8..], 2.0, &mut out);
        assert_eq!(out[0].data, "👋é");
        assert!(!out[0].data.contains('\u{FFFD}'));
    }

    #[test]
    fn events_are_stamped_with_the_completing_chunk_time() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        parser.feed(b"event: a\ndata: 1\n\nevent: b\nda", 10.0, &mut out);
        parser.feed(b"ta: 2\n", 20.0, &mut out);
        parser.feed(b"\n", 30.5, &mut out);
        assert_eq!(types(&out), ["a", "b"]);
        assert_eq!((out[0].time, out[1].time), (10.0, 30.5));
    }

    #[test]
    fn finish_emits_an_event_missing_its_blank_line() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        parser.feed(b"event: message_stop\ndata: {}", 5.0, &mut out);
        assert!(out.is_empty());
        parser.finish(6.0, &mut out);
        assert_eq!(types(&out), ["message_stop"]);
        assert_eq!((out[0].data.as_str(), out[0].time), ("{}", 6.0));
    }

    #[test]
    fn field_rules() {
        let events = parse_all(concat!(
            ": a comment\n",
            "data:no space\n",
            "data:  two spaces\n",
            "id: 7\n",
            "retry: 3000\n",
            "\n",
            "event: only-type\n",
            "retry: 12x\n",
            "\n",
            "data\n",
            "\n",
            "event:\n",
            "data:\n",
            "retry: 5x\n",
            "\n",
        ));
        assert_eq!(events.len(), 3, "the block without data is not dispatched");
        assert_eq!(events[0].event, "message");
        assert_eq!(events[0].data, "no space\n two spaces");
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[0].retry, Some(3000));
        assert_eq!(
            (events[1].event.as_str(), events[1].data.as_str()),
            ("message", "")
        );
        assert_eq!(events[2].data, "");
        assert_eq!(events[2].retry, None, "retry takes digits only");
    }

    #[test]
    fn leading_bom_is_skipped() {
        let events = parse_all("\u{FEFF}event: x\ndata: y\n\n");
        assert_eq!(types(&events), ["x"]);
    }
}
