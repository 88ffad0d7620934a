//! Tunnels to ignored hosts: raw bytes both ways, nothing recorded.
//!
//! The server is dialled before the client gets its `200`, so a refused port
//! is a `502` to the CONNECT with the reason, as a proxy that cannot reach
//! the host answers.

use super::proxy_head::{answer_bad_gateway, answer_established};
use crate::front::shutdown::{Phase, Watcher};
use crate::route::Origin;
use crate::upstream;
use crate::upstream::proxy::connect_authority;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Connects to `origin` (through `via`) and copies bytes until either side
/// closes or shutdown cuts off.
pub async fn run(
    mut client: TcpStream,
    already: Bytes,
    origin: Origin,
    via: Option<&Origin>,
    mut shutdown: Watcher,
) {
    let target = connect_authority(&origin);
    let mut server = match upstream::dial(&origin, via).await {
        Ok(server) => server,
        Err(err) => {
            tracing::warn!("ignored host {target}: {err}; answered 502 to the CONNECT");
            let _ = answer_bad_gateway(&mut client, &err.to_string()).await;
            return;
        }
    };
    let _ = server.set_nodelay(true);
    if answer_established(&mut client).await.is_err() || server.write_all(&already).await.is_err() {
        return;
    }
    tracing::debug!("passing {target} through untouched");
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut client, &mut server) => match copied {
            Ok((up, down)) => tracing::debug!(up, down, "tunnel closed"),
            Err(err) => tracing::debug!(%err, "tunnel ended"),
        },
        _ = shutdown.reached(Phase::CutOff) => tracing::debug!("tunnel cut off at shutdown"),
    }
}
