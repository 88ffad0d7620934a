//! The archive side of the channel: one writer on its own thread.
//!
//! Exchanges hand finished, redacted entries to an [`ArchiveSink`], which
//! never waits: when the bounded queue is full the entry is counted as not
//! archived and said so on stderr. The writer thread owns the file and does
//! all serialisation, compression and I/O. A write error (full disk) is
//! reported loudly once; from then on entries are counted, traffic flows on.

use crate::status::Stats;
use cctap_archive::model::LogHead;
use cctap_archive::{ArchiveWriter, Entry, WriteError};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Entries that may wait for the writer. Each is tens of kilobytes for a
/// Claude Code call, so this bounds the queue to some tens of megabytes.
const QUEUE: usize = 512;

enum Msg {
    Entry(Box<Entry>),
    Finish,
}

/// Where exchanges send their entries; cheap to clone.
#[derive(Clone)]
pub struct ArchiveSink {
    tx: SyncSender<Msg>,
    stats: Arc<Stats>,
    warned: Arc<AtomicBool>,
}

impl ArchiveSink {
    /// Queues an entry without waiting; counts it if it cannot be kept.
    pub fn submit(&self, entry: Entry) {
        match self.tx.try_send(Msg::Entry(Box::new(entry))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.not_archived.fetch_add(1, Relaxed);
                if !self.warned.swap(true, Relaxed) {
                    self.stats.say(
                        "record: warning: the archive writer is falling behind; exchanges that do not fit \
                         its queue are not archived (counted in the status line)",
                    );
                }
            }
            // The writer thread is gone; it has said why.
            Err(TrySendError::Disconnected(_)) => {
                self.stats.not_archived.fetch_add(1, Relaxed);
            }
        }
    }
}

/// The writer thread; [`ArchiveThread::finish`] writes the tail.
pub struct ArchiveThread {
    tx: SyncSender<Msg>,
    handle: JoinHandle<Result<(), WriteError>>,
}

/// Creates the archive (head written) and starts its writer thread.
pub fn start(
    path: &Path,
    head: LogHead,
    stats: Arc<Stats>,
) -> Result<(ArchiveSink, ArchiveThread), WriteError> {
    let path = path.to_owned();
    start_with(move || ArchiveWriter::create(&path, &head), stats, QUEUE)
}

/// Starts the writer thread on whatever `open` makes; waits until it has
/// made it, so a file that cannot be created is an error here.
fn start_with(
    open: impl FnOnce() -> Result<ArchiveWriter, WriteError> + Send + 'static,
    stats: Arc<Stats>,
    queue: usize,
) -> Result<(ArchiveSink, ArchiveThread), WriteError> {
    let (tx, rx) = sync_channel(queue);
    let (ready_tx, ready_rx) = sync_channel(1);
    let thread_stats = stats.clone();
    let handle = std::thread::Builder::new()
        .name("archive-writer".into())
        .spawn(move || write_loop(open, rx, ready_tx, thread_stats))
        .map_err(|source| WriteError::Io {
            path: "(archive writer thread)".into(),
            source,
        })?;
    let stopped = || WriteError::Io {
        path: "(archive writer thread)".into(),
        source: std::io::Error::other("the archive writer stopped"),
    };
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return Err(handle
                .join()
                .ok()
                .and_then(Result::err)
                .unwrap_or_else(stopped))
        }
    }
    let sink = ArchiveSink {
        tx: tx.clone(),
        stats,
        warned: Arc::new(AtomicBool::new(false)),
    };
    Ok((sink, ArchiveThread { tx, handle }))
}

impl ArchiveThread {
    /// Writes what is queued, then the tail, and waits for the thread.
    pub fn finish(self) -> Result<(), WriteError> {
        // A blocking send: the writer is draining, and the tail must come last.
        let _ = self.tx.send(Msg::Finish);
        drop(self.tx);
        self.handle.join().unwrap_or_else(|_| {
            Err(WriteError::Io {
                path: String::new(),
                source: std::io::Error::other("the archive writer panicked"),
            })
        })
    }
}

fn write_loop(
    open: impl FnOnce() -> Result<ArchiveWriter, WriteError>,
    rx: Receiver<Msg>,
    ready: SyncSender<Result<(), WriteError>>,
    stats: Arc<Stats>,
) -> Result<(), WriteError> {
    let mut writer = match open() {
        Ok(w) => {
            let _ = ready.send(Ok(()));
            Some(w)
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return Ok(());
        }
    };
    let mut failed: Option<WriteError> = None;
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Entry(entry) => match writer.as_mut() {
                Some(w) => {
                    let _span = tracing::trace_span!("append").entered();
                    if let Err(e) = w.append(&entry) {
                        stats.not_archived.fetch_add(1, Relaxed);
                        stats.say(&format!(
                            "record: ERROR: {e}\nrecord: traffic keeps flowing, but nothing more is archived ({})",
                            remedy(&e)
                        ));
                        writer = None;
                        failed = Some(e);
                    }
                }
                None => {
                    stats.not_archived.fetch_add(1, Relaxed);
                }
            },
            Msg::Finish => break,
        }
    }
    match (writer, failed) {
        (Some(w), _) => w.finish(),
        (None, Some(e)) => Err(e),
        (None, None) => Ok(()),
    }
}

/// What the user can do about a write error.
fn remedy(e: &WriteError) -> &'static str {
    match e {
        WriteError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe => {
            "the archive's reader went away"
        }
        WriteError::Io { .. } => "free some space or fix the file, then restart record",
        _ => "this is a bug in record; please report it",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cctap_archive::Format;
    use std::io::Write;
    use std::sync::{Condvar, Mutex};

    fn head() -> LogHead {
        LogHead::new("cctap record", "test")
    }

    /// Accepts `budget` bytes, then fails as a full disk does.
    struct FullDisk {
        budget: usize,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.budget {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            self.budget -= buf.len();
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A disk that stalls every write while jammed.
    #[derive(Clone, Default)]
    struct Jam(Arc<(Mutex<bool>, Condvar)>);

    impl Jam {
        fn set(&self, jammed: bool) {
            *self.0 .0.lock().unwrap() = jammed;
            self.0 .1.notify_all();
        }
    }

    impl Write for Jam {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (lock, cvar) = &*self.0;
            let _open = cvar
                .wait_while(lock.lock().unwrap(), |jammed| *jammed)
                .unwrap();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.write(&[]).map(|_| ())
        }
    }

    fn entry() -> Entry {
        let mut e = Entry::default();
        e.har.request.post_data = Some(cctap_archive::model::PostData {
            mime_type: "application/json".into(),
            text: Some("x".repeat(4096)),
            ..Default::default()
        });
        e
    }

    #[test]
    fn a_full_disk_is_reported_and_counted_and_never_blocks() {
        let stats = Arc::new(Stats::default());
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink_bytes = written.clone();
        let (sink, thread) = start_with(
            move || {
                let disk = FullDisk {
                    budget: 1024,
                    written: sink_bytes,
                };
                ArchiveWriter::new(Box::new(disk), Format::Har, &head())
            },
            stats.clone(),
            8,
        )
        .unwrap();
        for _ in 0..3 {
            sink.submit(entry());
        }
        let result = thread.finish();
        assert!(result.is_err(), "the write error is returned at the end");
        assert_eq!(stats.not_archived.load(Relaxed), 3);
        assert!(
            String::from_utf8_lossy(&written.lock().unwrap()).starts_with("{"),
            "the head was written"
        );
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let stats = Arc::new(Stats::default());
        let jam = Jam::default();
        let disk = jam.clone();
        let (sink, thread) = start_with(
            move || ArchiveWriter::new(Box::new(disk), Format::Har, &head()),
            stats.clone(),
            2,
        )
        .unwrap();
        jam.set(true);
        let started = std::time::Instant::now();
        for _ in 0..12 {
            sink.submit(entry());
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "submit never waits"
        );
        // At most one entry in the writer's hands and two queued.
        let lost = stats.not_archived.load(Relaxed);
        assert!((9..=10).contains(&lost), "{lost} not archived");
        jam.set(false);
        thread.finish().unwrap();
        assert_eq!(
            stats.not_archived.load(Relaxed),
            lost,
            "what was queued got written"
        );
    }
}
