//! Incremental `text/event-stream` parser. (API fixed; bodies to be implemented.)
use crate::model::SseEvent;

/// Feeds on chunks as they arrive; emits each event when its blank line arrives.
#[derive(Debug, Default)]
pub struct SseParser {
    _todo: (),
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Parses a chunk that arrived `time_ms` after the entry started; every
    /// event it completes is pushed to `out` stamped with `time_ms`.
    pub fn feed(&mut self, chunk: &[u8], time_ms: f64, out: &mut Vec<SseEvent>) {
        let _ = (chunk, time_ms, out);
        todo!()
    }

    /// End of stream: an event without its final blank line is still emitted.
    pub fn finish(&mut self, time_ms: f64, out: &mut Vec<SseEvent>) {
        let _ = (time_ms, out);
        todo!()
    }
}

/// Parses a whole stream held as text (times are 0).
pub fn parse_all(text: &str) -> Vec<SseEvent> {
    let _ = text;
    todo!()
}
