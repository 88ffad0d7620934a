//! The archive side of the channel: one writer on its own thread.
//!
//! Exchanges hand finished, redacted entries to an [`ArchiveSink`], which
//! never waits: when the queue's byte budget ([`budget`]) is spent the entry
//! is counted as not archived and said so on stderr. The writer thread owns the outputs (the
//! HAR archive, the mitmproxy flow file, or both: [`outputs`]) and does all
//! serialisation, compression and I/O; each entry goes to every output. A
//! write error (full disk) is reported loudly once; from then on entries
//! are counted, traffic flows on.
//!
//! Handing an entry to a parked writer costs a futex wake and two context
//! switches; at thousands of exchanges a second that was a tenth of
//! record's CPU. So once the queue runs dry after a write, the writer naps
//! for [`NAP`] before it parks: exchanges that end meanwhile queue without
//! waking it, and the next wake finds a batch.

mod budget;
mod outputs;
#[cfg(test)]
mod tests;
mod trim;

pub use outputs::{Closed, FlowTarget, OutputError, Outputs, Targets};

use crate::status::Stats;
use budget::{weight, Budget, QUEUE_BYTES};
use cctap_archive::model::LogHead;
use cctap_archive::{AnyWriteError, Entry};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{
    channel, sync_channel, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError,
};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the writer waits for more entries after a write before it
/// parks (see the module doc). Short next to a crash's cost: an entry
/// waits at most this much longer to reach the disk.
const NAP: Duration = Duration::from_millis(1);

enum Msg {
    /// An entry and the bytes of budget it holds.
    Entry(Box<Entry>, usize),
    Finish,
}

/// Where exchanges send their entries; cheap to clone.
#[derive(Clone)]
pub struct ArchiveSink {
    /// Unbounded as a channel: [`Budget`] is the bound.
    tx: Sender<Msg>,
    budget: Arc<Budget>,
    stats: Arc<Stats>,
    warned: Arc<AtomicBool>,
}

impl ArchiveSink {
    /// Queues an entry without waiting; counts it if it cannot be kept.
    pub fn submit(&self, entry: Entry) {
        let bytes = weight(&entry);
        if !self.budget.take(bytes) {
            self.stats.not_archived.fetch_add(1, Relaxed);
            if !self.warned.swap(true, Relaxed) {
                self.stats.say(&format!(
                    "record: warning: the archive writer is falling behind; exchanges that do not fit \
                     its queue ({} MiB) are not archived (counted in the status line)",
                    self.budget.limit() >> 20
                ));
            }
            return;
        }
        if self.tx.send(Msg::Entry(Box::new(entry), bytes)).is_err() {
            // The writer thread is gone; it has said why.
            self.budget.give_back(bytes);
            self.stats.not_archived.fetch_add(1, Relaxed);
        }
    }
}

/// The writer thread; [`ArchiveThread::finish`] closes the outputs.
pub struct ArchiveThread {
    tx: Sender<Msg>,
    handle: JoinHandle<Vec<Closed>>,
}

/// Creates the outputs (the HAR's head written) and starts the writer
/// thread.
pub fn start(
    targets: &Targets,
    head: LogHead,
    stats: Arc<Stats>,
) -> Result<(ArchiveSink, ArchiveThread), OutputError> {
    let targets = targets.clone();
    start_with(move || Outputs::create(&targets, &head), stats, QUEUE_BYTES)
}

/// Starts the writer thread on whatever `open` makes; waits until it has
/// made it, so a file that cannot be created is an error here. The queue
/// holds at most `queue_bytes` of entries (see [`budget`]).
fn start_with(
    open: impl FnOnce() -> Result<Outputs, OutputError> + Send + 'static,
    stats: Arc<Stats>,
    queue_bytes: usize,
) -> Result<(ArchiveSink, ArchiveThread), OutputError> {
    let (tx, rx) = channel();
    let (ready_tx, ready_rx) = sync_channel(1);
    let budget = Arc::new(Budget::new(queue_bytes));
    let thread_stats = stats.clone();
    let thread_budget = budget.clone();
    let handle = std::thread::Builder::new()
        .name("archive-writer".into())
        .spawn(move || write_loop(open, rx, ready_tx, thread_stats, &thread_budget))
        .map_err(thread_error)?;
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            let _ = handle.join();
            return Err(thread_error(std::io::Error::other(
                "the archive writer stopped",
            )));
        }
    }
    let sink = ArchiveSink {
        tx: tx.clone(),
        budget,
        stats,
        warned: Arc::new(AtomicBool::new(false)),
    };
    Ok((sink, ArchiveThread { tx, handle }))
}

fn thread_error(source: std::io::Error) -> OutputError {
    OutputError {
        flag: "-o",
        source: AnyWriteError::Place {
            action: "run the writer for",
            path: "the archive".into(),
            source,
        },
    }
}

impl ArchiveThread {
    /// Writes what is queued, then closes every output (the HAR's tail),
    /// and waits for the thread; says how each output ended.
    pub fn finish(self) -> Vec<Closed> {
        // After every queued entry: the tail must come last.
        let _ = self.tx.send(Msg::Finish);
        drop(self.tx);
        self.handle.join().unwrap_or_else(|_| {
            vec![Closed {
                name: "(archive writer thread)".into(),
                what: "exchanges",
                written: 0,
                error: Some(thread_error(std::io::Error::other(
                    "the archive writer panicked",
                ))),
            }]
        })
    }
}

fn write_loop(
    open: impl FnOnce() -> Result<Outputs, OutputError>,
    rx: Receiver<Msg>,
    ready: SyncSender<Result<(), OutputError>>,
    stats: Arc<Stats>,
    budget: &Budget,
) -> Vec<Closed> {
    let mut outputs = match open() {
        Ok(outputs) => {
            let _ = ready.send(Ok(()));
            outputs
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return Vec::new();
        }
    };
    // Entries written since memory was last given back.
    let mut since_trim = 0usize;
    let mut just_wrote = false;
    loop {
        let next = if just_wrote {
            next_after_write(&rx)
        } else {
            rx.recv_timeout(trim::IDLE)
        };
        just_wrote = false;
        match next {
            Ok(Msg::Entry(entry, bytes)) => {
                outputs.append(&entry, &stats);
                // Freed before the budget says so.
                drop(entry);
                budget.give_back(bytes);
                since_trim += 1;
                just_wrote = true;
            }
            Err(RecvTimeoutError::Timeout) if since_trim > 0 => {
                trim::release_free_memory();
                since_trim = 0;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Msg::Finish) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    outputs.finish()
}

/// The next message after a write: what is queued, else whatever comes
/// after a [`NAP`], else (parked) whatever comes within [`trim::IDLE`].
fn next_after_write(rx: &Receiver<Msg>) -> Result<Msg, RecvTimeoutError> {
    match rx.try_recv() {
        Ok(msg) => Ok(msg),
        Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
        Err(TryRecvError::Empty) => {
            std::thread::sleep(NAP);
            rx.recv_timeout(trim::IDLE)
        }
    }
}
