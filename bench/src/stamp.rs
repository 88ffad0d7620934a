//! What `bench_upstream` writes into each SSE event so that a client can
//! compute how late the event arrived: `"sent_us":<unix µs>` in the data.
//! Both sides run on one machine and read the same clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// The JSON key that carries the send time in each event's data.
pub const SENT_KEY: &str = "\"sent_us\":";

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The send time stamped in one event's text, if any.
pub fn sent_us(event: &str) -> Option<u64> {
    let at = event.find(SENT_KEY)? + SENT_KEY.len();
    let digits: &str = &event[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_stamp() {
        let ev = "event: ping\ndata: {\"type\":\"ping\",\"sent_us\":1700000000123456}\n\n";
        assert_eq!(super::sent_us(ev), Some(1_700_000_000_123_456));
        assert_eq!(super::sent_us("data: {}"), None);
    }
}
