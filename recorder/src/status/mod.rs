//! Counters for the whole run, and the one live status line on stderr.
//!
//! Exchanges add to the counters once, when they end (atomics, no lock;
//! the per-exchange ones are [`Tally`]s, a slot per thread).
//! The line is redrawn a few times a second, only when stderr is a terminal
//! and `-q` was not given; [`Stats::say`] prints a message above it.

mod tally;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
pub use tally::Tally;

/// What the run has seen so far.
#[derive(Debug, Default)]
pub struct Stats {
    pub exchanges: Tally,
    pub errors: Tally,
    pub bytes_up: Tally,
    pub bytes_down: Tally,
    pub tokens_in: AtomicU64,
    pub tokens_out: AtomicU64,
    /// Entries that could not be archived (queue full or writer failed).
    pub not_archived: AtomicU64,
    /// Exchanges begun and not yet handed to the archive.
    pub in_flight: Tally,
    /// Client connections closed for sending no request head in time
    /// (slowloris, or idle past `--client-timeout`).
    pub clients_timed_out: AtomicU64,
    /// Client connections refused at the connection cap.
    pub clients_refused: AtomicU64,
    /// New exchanges waiting for room in the writer's queue now (the disk
    /// is slower than the traffic).
    pub waiting: AtomicU64,
    /// New exchanges that had to wait for room, in all.
    pub waited: AtomicU64,
}

/// Whether the live line is on screen. One per process, like stderr, so
/// that log lines (see [`LogWriter`]) can clear it too.
static LIVE: AtomicBool = AtomicBool::new(false);
/// Set when something printed over the live line, so it is drawn again.
static WIPED: AtomicBool = AtomicBool::new(false);

/// Whether the live status line is on screen; work done only for it (the
/// token counts) is skipped when it is not.
pub fn live_line_shown() -> bool {
    LIVE.load(Relaxed)
}

impl Stats {
    /// Whether a live line should be drawn: stderr is a terminal, not quiet.
    pub fn wants_live_line(quiet: bool) -> bool {
        !quiet
            && std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    }

    /// Prints a line on stderr, clearing the status line first.
    pub fn say(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if LIVE.load(Relaxed) {
            let _ = write!(err, "\r\x1b[2K");
            WIPED.store(true, Relaxed);
        }
        let _ = writeln!(err, "{text}");
    }

    /// The status line's text.
    pub fn line(&self) -> String {
        let n = |c: &AtomicU64| c.load(Relaxed);
        // Each tally read once: a sum taken twice may differ between reads.
        let (exchanges, in_flight, errors) = (
            self.exchanges.get(),
            self.in_flight.get(),
            self.errors.get(),
        );
        let mut s = format!(
            "record: {} exchange{} · ↑ {} ↓ {} · tokens in {} out {}",
            exchanges,
            if exchanges == 1 { "" } else { "s" },
            human_bytes(self.bytes_up.get()),
            human_bytes(self.bytes_down.get()),
            n(&self.tokens_in),
            n(&self.tokens_out),
        );
        if in_flight > 0 {
            s += &format!(" · {in_flight} in flight");
        }
        if n(&self.waiting) > 0 {
            s += &format!(" · {} waiting for the disk", n(&self.waiting));
        }
        if errors > 0 {
            s += &format!(" · {errors} failed");
        }
        if n(&self.clients_timed_out) > 0 {
            s += &format!(" · {} slow/idle closed", n(&self.clients_timed_out));
        }
        if n(&self.clients_refused) > 0 {
            s += &format!(" · {} refused (cap)", n(&self.clients_refused));
        }
        if n(&self.not_archived) > 0 {
            s += &format!(" · {} NOT ARCHIVED", n(&self.not_archived));
        }
        s
    }

    fn draw(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", self.line());
        let _ = err.flush();
    }

    /// Redraws the line until the returned handle is stopped.
    pub fn spawn_live_line(self: &Arc<Self>) -> LiveLine {
        LIVE.store(true, Relaxed);
        let stats = self.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut last = String::new();
            loop {
                tick.tick().await;
                let line = stats.line();
                if line != last || WIPED.swap(false, Relaxed) {
                    stats.draw();
                    last = line;
                }
            }
        });
        LiveLine {
            stats: self.clone(),
            task,
        }
    }
}

/// The running status line.
pub struct LiveLine {
    stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl LiveLine {
    /// Draws the final state and leaves it on its own line.
    pub fn stop(self) {
        self.task.abort();
        self.stats.draw();
        eprintln!();
        LIVE.store(false, Relaxed);
    }
}

/// Stderr for log lines: clears the status line before each one. The
/// tracing formatter writes each event with one `write_all`.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        if LIVE.load(Relaxed) {
            err.write_all(b"\r\x1b[2K")?;
            WIPED.store(true, Relaxed);
        }
        err.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_counts_and_problems() {
        let s = Stats::default();
        assert_eq!(
            s.line(),
            "record: 0 exchanges · ↑ 0 B ↓ 0 B · tokens in 0 out 0"
        );
        s.exchanges.add(1);
        s.bytes_down.add(1_234_567);
        s.not_archived.store(2, Relaxed);
        let line = s.line();
        assert!(line.starts_with("record: 1 exchange ·"), "{line}");
        assert!(
            line.contains("↓ 1.2 MB") && line.ends_with("2 NOT ARCHIVED"),
            "{line}"
        );
        s.clients_timed_out.store(200, Relaxed);
        s.clients_refused.store(3, Relaxed);
        let line = s.line();
        assert!(
            line.contains(" · 200 slow/idle closed · 3 refused (cap) · 2 NOT ARCHIVED"),
            "{line}"
        );
        s.waiting.store(3, Relaxed);
        let line = s.line();
        assert!(line.contains(" · 3 waiting for the disk"), "{line}");
    }
}
