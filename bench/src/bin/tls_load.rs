//! tls_load: HTTP/1.1 keep-alive load over TLS, through a forward proxy's
//! `CONNECT` tunnel or straight to a TLS server, for the benchmark rows wrk
//! cannot drive (`cctap_bench::tls_load`). Prints a summary and a `RESULT`
//! line (requests, rps, p50_ms, p99_ms, errors by kind); exits 1 when no
//! request succeeded.
//!
//! ```sh
//! tls_load --proxy-port 8080 --target-port 8443 --ca ~/.cctap/cctap-ca-cert.pem -c 16 -d 5
//! ```

use cctap_bench::tls_load::{self, Plan};
use clap::Parser;
use std::path::PathBuf;

/// 1 KiB JSON POSTs over TLS (through CONNECT), timed; loopback only.
#[derive(Debug, Parser)]
struct Args {
    /// Port of the TLS server on 127.0.0.1.
    #[arg(long)]
    target_port: u16,
    /// Forward proxy on 127.0.0.1 to CONNECT through (none: direct TLS).
    #[arg(long)]
    proxy_port: Option<u16>,
    /// PEM file of the certificates to trust (the proxy's CA, or the server's).
    #[arg(long)]
    ca: PathBuf,
    /// Connections, all on one thread.
    #[arg(short = 'c', long, default_value_t = 16)]
    connections: u32,
    /// Seconds to send for.
    #[arg(short = 'd', long, default_value_t = 5)]
    seconds: u32,
    /// Size of each JSON request body.
    #[arg(long, default_value_t = 1024)]
    body_bytes: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = Plan {
        target_port: args.target_port,
        proxy_port: args.proxy_port,
        ca: args.ca,
        connections: args.connections,
        seconds: args.seconds,
        body_bytes: args.body_bytes,
    };
    let (report, succeeded) = tls_load::generate(&plan)?;
    print!("{report}");
    if succeeded == 0 {
        std::process::exit(1);
    }
    Ok(())
}
