//! Accepting: one task per TCP connection, handed to its door, until
//! shutdown starts draining; then the accept loop waits for every
//! connection task to end.

use super::forward;
use super::serve::serve_http1;
use super::shutdown::{Phase, Watcher};
use crate::exchange::Pipeline;
use crate::route::FrontDoor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::Instrument;

/// Accepts until shutdown starts draining, then waits for every
/// connection task to end.
pub async fn run(
    tcp: TcpListener,
    door: FrontDoor,
    pipeline: Arc<Pipeline>,
    mut shutdown: Watcher,
) {
    let door = Arc::new(door);
    // Each connection task holds a sender; when all are gone, all are done.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut next_id = 0u64;
    let mut accept_errors = AcceptErrors::default();
    loop {
        let accepted = tokio::select! {
            accepted = tcp.accept() => accepted,
            _ = shutdown.reached(Phase::Draining) => break,
        };
        match accepted {
            Ok((sock, peer)) => {
                next_id += 1;
                let span = tracing::debug_span!("conn", id = next_id, %peer);
                let task = serve(
                    sock,
                    peer,
                    door.clone(),
                    pipeline.clone(),
                    shutdown.clone(),
                    done_tx.clone(),
                );
                tokio::spawn(task.instrument(span));
            }
            Err(err) => {
                // Out of file descriptors, typically: back off, keep serving.
                accept_errors.note(&err, &pipeline.stats);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(tcp);
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// Failed `accept`s (out of file descriptors, typically): said once, then
/// counted, with the count said again at most once a minute.
#[derive(Default)]
struct AcceptErrors {
    count: u64,
    said_at: Option<std::time::Instant>,
    said_count: u64,
}

impl AcceptErrors {
    fn note(&mut self, err: &std::io::Error, stats: &crate::status::Stats) {
        self.count += 1;
        let due = self
            .said_at
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if !due {
            return;
        }
        let hint = if err.raw_os_error() == Some(libc::EMFILE) {
            " (out of file descriptors: raise `ulimit -n`)"
        } else {
            ""
        };
        stats.say(&format!(
            "record: warning: cannot accept connections: {err}{hint}; {} failed so far ({} since the last warning); retrying",
            self.count,
            self.count - self.said_count
        ));
        self.said_at = Some(std::time::Instant::now());
        self.said_count = self.count;
    }
}

/// Serves one accepted TCP connection.
async fn serve(
    sock: TcpStream,
    peer: SocketAddr,
    door: Arc<FrontDoor>,
    pipeline: Arc<Pipeline>,
    shutdown: Watcher,
    _done: mpsc::Sender<()>,
) {
    let _ = sock.set_nodelay(true);
    match &*door {
        FrontDoor::Forward(fwd) => {
            forward::serve(sock, peer, fwd.clone(), pipeline, shutdown).await
        }
        _ => serve_http1(sock, peer, door, pipeline, shutdown).await,
    }
}
