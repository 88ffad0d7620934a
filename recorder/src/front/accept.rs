//! Accepting: one task per TCP connection, handed to its door, until
//! shutdown starts draining; then the accept loop waits for every
//! connection task to end. Past the connection cap a new connection gets
//! `503` at once and is closed; failed accepts (out of file descriptors)
//! are backed off, said once, then counted ([`super::limits`]).

use super::forward;
use super::limits::SaidOnce;
use super::serve::serve_http1;
use super::shutdown::{Phase, Watcher};
use crate::exchange::Pipeline;
use crate::route::FrontDoor;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
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
    let cap = pipeline.front.max_connections;
    let permits = Arc::new(Semaphore::new(cap));
    let refusals = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let mut accept_errors = SaidOnce::default();
    let mut over_cap = SaidOnce::default();
    loop {
        let accepted = tokio::select! {
            accepted = tcp.accept() => accepted,
            _ = shutdown.reached(Phase::Draining) => break,
        };
        match accepted {
            Ok((sock, peer)) => {
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    pipeline.stats.clients_refused.fetch_add(1, Relaxed);
                    over_cap.note(&pipeline.stats, || {
                        format!(
                            "{cap} client connections open, the cap: new ones get 503 until some close \
                             (raise it with --max-connections, or `ulimit -n`)"
                        )
                    });
                    // A flood is closed without an answer rather than let
                    // the answers use up file descriptors.
                    if let Ok(refusing) = refusals.clone().try_acquire_owned() {
                        tokio::spawn(refuse_over_cap(sock, refusing));
                    }
                    continue;
                };
                next_id += 1;
                let span = tracing::debug_span!("conn", id = next_id, %peer);
                let task = serve(
                    sock,
                    peer,
                    door.clone(),
                    pipeline.clone(),
                    shutdown.clone(),
                    (done_tx.clone(), permit),
                );
                tokio::spawn(task.instrument(span));
            }
            Err(err) => {
                // Out of file descriptors, typically: back off, keep serving.
                accept_errors.note(&pipeline.stats, || {
                    let hint = match err.raw_os_error() {
                        Some(libc::EMFILE | libc::ENFILE) => {
                            " (out of file descriptors: raise `ulimit -n`, or lower --max-connections)"
                        }
                        _ => "",
                    };
                    format!("cannot accept connections: {err}{hint}; retrying")
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(tcp);
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// Serves one accepted TCP connection.
async fn serve(
    sock: TcpStream,
    peer: SocketAddr,
    door: Arc<FrontDoor>,
    pipeline: Arc<Pipeline>,
    shutdown: Watcher,
    _held: (mpsc::Sender<()>, OwnedSemaphorePermit),
) {
    let _ = sock.set_nodelay(true);
    match &*door {
        FrontDoor::Forward(fwd) => {
            forward::serve(sock, peer, fwd.clone(), pipeline, shutdown).await
        }
        _ => serve_http1(sock, peer, door, pipeline, shutdown).await,
    }
}

/// Connections over the cap answered at once; more are closed unanswered.
const REFUSING_AT_ONCE: usize = 32;

/// Answers a connection over the cap with `503` and closes it. What the
/// client sent is read and dropped for a moment (at most 250 ms), so that
/// closing does not reset the connection before the client has read the
/// answer.
async fn refuse_over_cap(mut sock: TcpStream, _refusing: OwnedSemaphorePermit) {
    const BODY: &str = "record: too many client connections open; try again shortly\n";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{BODY}",
        BODY.len()
    );
    let answer_and_drain = async {
        sock.write_all(answer.as_bytes()).await?;
        sock.shutdown().await?;
        let mut sink = [0u8; 4096];
        while sock.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_millis(250), answer_and_drain).await;
}
