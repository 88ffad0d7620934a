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
use std::path::{Path, PathBuf};
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
    let (tx, rx) = sync_channel(QUEUE);
    let (ready_tx, ready_rx) = sync_channel(1);
    let path_buf = path.to_owned();
    let thread_stats = stats.clone();
    let handle = std::thread::Builder::new()
        .name("archive-writer".into())
        .spawn(move || write_loop(path_buf, head, rx, ready_tx, thread_stats))
        .map_err(|source| WriteError::Io {
            path: path.display().to_string(),
            source,
        })?;
    // The file is created on the writer thread; wait to learn if it worked.
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            return match handle.join() {
                Ok(Err(e)) => Err(e),
                _ => Err(WriteError::Io {
                    path: path.display().to_string(),
                    source: std::io::Error::other("the archive writer stopped"),
                }),
            }
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
    path: PathBuf,
    head: LogHead,
    rx: Receiver<Msg>,
    ready: SyncSender<Result<(), WriteError>>,
    stats: Arc<Stats>,
) -> Result<(), WriteError> {
    let mut writer = match ArchiveWriter::create(&path, &head) {
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
                            "record: ERROR: {e}\nrecord: traffic keeps flowing, but nothing more is archived \
                             (free some space and restart record)"
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
