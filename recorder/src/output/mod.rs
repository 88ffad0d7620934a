//! The archive side of the channel: one writer on its own thread.
//!
//! Exchanges hand what they saw ([`Finished`]) to an [`ArchiveSink`], whose
//! queue is bounded in bytes ([`budget`]). A new exchange first waits for
//! room ([`ArchiveSink::admit`]) while the queue is over half full, so a
//! disk slower than the traffic slows new requests instead of losing their
//! entries; an exchange under way never waits, and hands its entry over
//! without waiting ([`ArchiveSink::submit`]; counted as not archived, and
//! said on stderr, in the rare case it finds no room). The writer thread
//! builds and redacts each entry ([`finished`]) and owns the outputs (the
//! HAR archive, the mitmproxy flow file, or both: [`outputs`]): it does all
//! serialisation, compression and I/O; each entry goes to every output. A
//! write error (full disk) is reported loudly once; from then on nothing
//! waits, entries are counted, traffic flows on.
//!
//! Group commit (FORMAT.md, "Written as it happens"): each entry is written
//! unflushed and the outputs are flushed when the writer finds no further
//! entry waiting (or a batch reaches [`BATCH_BYTES`]): an entry alone is
//! flushed at once; entries that finished together share one flush.
//!
//! Handing an entry to a parked writer costs a futex wake and two context
//! switches; at thousands of exchanges a second that was a tenth of
//! record's CPU. So once the queue runs dry after a write, the writer naps
//! for [`NAP`] before it parks: exchanges that end meanwhile queue without
//! waking it, and the next wake finds a batch.

mod budget;
mod finished;
mod outputs;
#[cfg(test)]
mod tests;
mod trim;

pub use finished::Finished;
pub use outputs::{Closed, FlowTarget, OutputError, Outputs, Targets};

use crate::status::Stats;
use budget::{Budget, QUEUE_BYTES};
use cctap_archive::model::LogHead;
use cctap_archive::AnyWriteError;
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
    /// A finished exchange and the bytes of budget it holds.
    Exchange(Finished, usize),
    Finish,
}

/// How long a new exchange waits for room in the writer's queue before it
/// goes on anyway (its entry is then counted as not archived if it still
/// does not fit). Ten seconds: far beyond any flush of a working disk,
/// short enough that a stuck one does not look like a hung proxy.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Where exchanges send their entries; cheap to clone.
#[derive(Clone)]
pub struct ArchiveSink {
    /// Unbounded as a channel: [`Budget`] is the bound.
    tx: Sender<Msg>,
    budget: Arc<Budget>,
    stats: Arc<Stats>,
    /// Whether "falling behind" and "waiting for the disk" were said.
    warned: Arc<Warned>,
    patience: Duration,
}

/// Things said once per run.
#[derive(Default)]
struct Warned {
    lost: AtomicBool,
    waiting: AtomicBool,
}

impl ArchiveSink {
    /// Called by a new exchange before its request is forwarded: while the
    /// writer's queue is over half full, waits for room (at most
    /// [`PATIENCE`]), so a disk slower than the traffic slows new requests
    /// instead of losing them. Never waits once the writer has failed.
    /// Exchanges already under way are never held back. Whether room was
    /// found: the exchange's entry is then kept even past the budget
    /// ([`ArchiveSink::submit`]).
    pub async fn admit(&self) -> bool {
        if self.budget.has_room() {
            return true;
        }
        if !self.warned.waiting.swap(true, Relaxed) {
            self.stats.say(&format!(
                "record: note: the archive is written slower than the traffic comes; new requests \
                 wait for it (up to {} s each) so that none is lost",
                self.patience.as_secs_f64()
            ));
        }
        self.stats.waiting.fetch_add(1, Relaxed);
        self.stats.waited.fetch_add(1, Relaxed);
        let room = tokio::time::timeout(self.patience, self.budget.room()).await;
        self.stats.waiting.fetch_sub(1, Relaxed);
        if room.is_err() {
            tracing::debug!("gave up waiting for room in the archive queue");
        }
        room.is_ok()
    }

    /// Queues a finished exchange without waiting; counts it if it cannot
    /// be kept. `admitted`: [`ArchiveSink::admit`] found room for it.
    pub fn submit(&self, finished: Finished, admitted: bool) {
        let bytes = finished.weight();
        if !self.budget.take(bytes, admitted) {
            self.stats.not_archived.fetch_add(1, Relaxed);
            if !self.warned.lost.swap(true, Relaxed) {
                self.stats.say(&format!(
                    "record: warning: the archive writer is falling behind; exchanges that do not fit \
                     its queue ({} MiB) are not archived (counted in the status line)",
                    self.budget.limit() >> 20
                ));
            }
            return;
        }
        let msg = Msg::Exchange(finished, bytes);
        if self.tx.send(msg).is_err() {
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
        .spawn(move || write_loop(open, rx, ready_tx, &thread_stats, &thread_budget))
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
        warned: Arc::default(),
        patience: PATIENCE,
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

/// A batch is flushed once it holds this much even if more entries wait:
/// its budget is given back only then, so under sustained load or a slow
/// disk room comes back in steps of this size. 8 MiB steps into a reader
/// of 1 MB/s were 8 s apart, close to the waiting exchanges' patience;
/// 1 MiB is a flush per second there, and costs nothing next to a MiB of
/// writing anywhere else.
const BATCH_BYTES: usize = 1024 * 1024;

fn write_loop(
    open: impl FnOnce() -> Result<Outputs, OutputError>,
    rx: Receiver<Msg>,
    ready: SyncSender<Result<(), OutputError>>,
    stats: &Stats,
    budget: &Budget,
) -> Vec<Closed> {
    let mut outputs = match open() {
        Ok(outputs) => {
            let _ = ready.send(Ok(()));
            outputs
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            budget.fail();
            return Vec::new();
        }
    };
    let mut batch = Batch {
        outputs: &mut outputs,
        stats,
        budget,
        bytes: 0,
    };
    // Entries written since memory was last given back.
    let mut since_trim = 0usize;
    loop {
        let next = match rx.try_recv() {
            Ok(msg) => Ok(msg),
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {
                // Nothing more waits: this batch is done.
                let wrote = batch.commit();
                next_after(&rx, wrote)
            }
        };
        match next {
            Ok(Msg::Exchange(finished, bytes)) => {
                batch.append(finished, bytes);
                since_trim += 1;
            }
            Err(RecvTimeoutError::Timeout) if since_trim > 0 => {
                trim::release_free_memory();
                since_trim = 0;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Ok(Msg::Finish) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    batch.commit();
    outputs.finish()
}

/// The entries written since the last flush, and the budget they hold.
struct Batch<'a> {
    outputs: &'a mut Outputs,
    stats: &'a Stats,
    budget: &'a Budget,
    bytes: usize,
}

impl Batch<'_> {
    fn append(&mut self, finished: Finished, bytes: usize) {
        if self.outputs.all_failed() {
            // Nothing is written any more: not worth building, only counting.
            self.stats.not_archived.fetch_add(1, Relaxed);
        } else if let Some(entry) = finished.into_entry(self.stats) {
            self.outputs.append(&entry, self.stats);
        }
        self.bytes += bytes;
        if self.outputs.all_failed() {
            self.budget.fail();
        }
        if self.bytes >= BATCH_BYTES {
            self.commit();
        }
    }

    /// Flushes every output and gives the batch's budget back; whether
    /// there was anything to flush.
    fn commit(&mut self) -> bool {
        if self.bytes == 0 {
            return false;
        }
        self.outputs.flush(self.stats);
        if self.outputs.all_failed() {
            self.budget.fail();
        }
        self.budget.give_back(std::mem::take(&mut self.bytes));
        true
    }
}

/// The next message once the queue is empty: after a write, whatever comes
/// within a [`NAP`] (queued without a wake-up), else (parked) whatever
/// comes within [`trim::IDLE`].
fn next_after(rx: &Receiver<Msg>, wrote: bool) -> Result<Msg, RecvTimeoutError> {
    if wrote {
        std::thread::sleep(NAP);
    }
    rx.recv_timeout(trim::IDLE)
}
