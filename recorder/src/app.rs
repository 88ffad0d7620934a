//! One run of `record`: start everything, wait, shut down in order.
//!
//! Order matters for the archive: the listener is bound before the file is
//! created (a busy port leaves no empty archive behind); at the end, traffic
//! stops first, in-flight exchanges get a grace period, and only then does
//! the writer write the tail.

use crate::alarm::Alarms;
use crate::cli::{Config, Mode, UsageError};
use crate::exchange::Pipeline;
use crate::front;
use crate::front::forward::Forward;
use crate::front::limits::{self, FrontLimits};
use crate::front::shutdown::{Phase, Shutdown};
use crate::output::{self, ArchiveThread, Closed};
use crate::route::{BaseUrl, FrontDoor};
use crate::status::{LiveLine, Stats};
use crate::tls::{self, CaSource, ChildTrust, LeafMinter};
use crate::upstream::Pool;
use crate::wrap::child_env::{self, Var};
use crate::wrap::{self, Signals};
use anyhow::Context;
use cctap_archive::model::LogHead;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How long in-flight exchanges may finish after a stop was asked for.
const GRACE: Duration = Duration::from_secs(3);

/// Runs until the wrapped command exits or a signal arrives.
pub async fn run(config: Config) -> anyhow::Result<ExitCode> {
    let mut signals = Signals::install().context("cannot install signal handlers")?;
    let wraps = !config.command.is_empty();
    if wraps {
        wrap::locate(&config.command)?;
    }
    let stats = Arc::new(Stats::default());
    let fd_limit = limits::raise_fd_limit();

    // Both timeouts ring per-connection alarms (not tokio's timer wheel).
    let alarms = Alarms::start();
    let front = Front::open(&config, &stats, &alarms)?;
    let tcp = bind(&config).await?;
    let addr = tcp
        .local_addr()
        .context("cannot read the listening address")?;
    if let Mode::Reverse(base) = &config.mode {
        refuse_loop(base, addr)?;
    }

    let head = LogHead::new("cctap record", env!("CARGO_PKG_VERSION"));
    // The error already names the file and the cause.
    let (sink, writer) = output::start(&config.targets, head, stats.clone())
        .map_err(|e| anyhow::anyhow!("{e}; choose another file with {}", e.flag))?;
    if !config.redact {
        stats.say(&format!(
            "record: WARNING: --no-redact: API keys, tokens and cookies are written verbatim to {}.\n\
             record: WARNING: that archive now holds live secrets; do not share it.",
            config.targets.describe()
        ));
    }
    let pipeline = Pipeline::new(
        front.pool.clone(),
        sink,
        config.redact,
        stats.clone(),
        alarms,
    )
    .upstream_timeout(config.upstream_timeout)
    .max_body_size(config.max_body_size)
    .front_limits(FrontLimits {
        client_timeout: config.client_timeout,
        max_connections: config
            .max_connections
            .unwrap_or_else(|| limits::derived_cap(fd_limit)),
    });

    let proxy_url = format!("http://{}", client_authority(addr));
    let env = front.child_env(&config, &proxy_url);
    announce(&config, addr, &front, &env, &stats);
    let live = (!wraps && Stats::wants_live_line(config.quiet)).then(|| stats.spawn_live_line());

    // Stop when the wrapped command ends, or at the first signal; a further
    // signal cuts the grace period short.
    let stop = async {
        let code = if wraps {
            let to_stdout = config.targets.to_stdout();
            match wrap::run(&config.command, &env, to_stdout, &mut signals).await {
                Ok(status) => Some(wrap::exit_code(status)),
                Err(e) => {
                    stats.say(&format!("record: error: {e}"));
                    Some(1)
                }
            }
        } else {
            signals.recv().await;
            None
        };
        (code, async move {
            signals.recv().await;
        })
    };
    let serving = Serving {
        tcp,
        door: front.door.clone(),
        pipeline,
        writer,
        stats: stats.clone(),
        live,
    };
    let (code, closed) = serve(serving, stop).await;
    summarize(&config, &stats, &closed);
    drop(front);
    // The reader of `-o -` went away (`record -o - | head`): not a failure.
    let failed = closed
        .iter()
        .filter_map(|c| c.error.as_ref())
        .any(|e| !e.is_broken_pipe());
    Ok(match code {
        Some(code) => ExitCode::from(code),
        None if failed => ExitCode::from(1),
        None => ExitCode::SUCCESS,
    })
}

/// Binds the listening socket, with a hint when the port is taken.
async fn bind(config: &Config) -> anyhow::Result<TcpListener> {
    TcpListener::bind((config.listen_host.as_str(), config.listen_port))
        .await
        .map_err(|e| {
            let fix = match e.kind() {
                std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied => {
                    "pick another port with -p (-p 0 picks a free one)"
                }
                _ => {
                    "--listen-host takes an address of this machine or a name that resolves \
                     to one, without scheme or port: 127.0.0.1 (the default), ::1, 0.0.0.0 \
                     (every interface), localhost; the port goes in -p"
                }
            };
            anyhow::anyhow!(
                "cannot listen on {}:{}: {e}; {fix}",
                config.listen_host,
                config.listen_port
            )
        })
}

/// What [`serve`] runs: a bound listener, how requests come in, the
/// pipeline, and the writer thread behind it.
pub struct Serving {
    pub tcp: TcpListener,
    pub door: FrontDoor,
    pub pipeline: Pipeline,
    pub writer: ArchiveThread,
    pub stats: Arc<Stats>,
    /// The live status line, stopped before the archive closes.
    pub live: Option<LiveLine>,
}

/// Serves until `stop` resolves to a value and a "hurry" future, then shuts
/// down in order: stop accepting and let in-flight exchanges finish (until
/// [`GRACE`] is over or "hurry" resolves), cut off what is still running
/// (`_error: "cut off at shutdown"`), give their entries a moment to reach
/// the writer, and only then close the outputs (the HAR's tail). Returns
/// the value and how each output ended.
pub async fn serve<T, H>(s: Serving, stop: impl Future<Output = (T, H)>) -> (T, Vec<Closed>)
where
    H: Future<Output = ()>,
{
    let pipeline = Arc::new(s.pipeline);
    let shutdown = Shutdown::new(pipeline.cut_off.clone());
    let mut serving = tokio::spawn(front::run(s.tcp, s.door, pipeline, shutdown.watcher()));
    let (value, hurry) = stop.await;

    tracing::debug!("shutdown: draining");
    shutdown.set(Phase::Draining);
    let drained = tokio::select! {
        r = tokio::time::timeout(GRACE, &mut serving) => r.is_ok(),
        _ = hurry => false,
    };
    if !drained {
        tracing::debug!("shutdown: grace period over, cutting off");
        shutdown.set(Phase::CutOff);
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut serving).await;
    }
    wait_for_exchanges(&s.stats, Duration::from_secs(1)).await;
    if let Some(live) = s.live {
        live.stop();
    }
    tracing::debug!("shutdown: closing the archive");
    let closed = s.writer.finish();
    tracing::debug!("shutdown: archive closed");
    // Spill files are anonymous and gone already; their directory too now.
    cctap_archive::spill::remove_private_dir();
    (value, closed)
}

/// How clients come in, and what forward mode set up for them.
struct Front {
    door: FrontDoor,
    /// Upstream connections; `None` offline.
    pool: Option<Arc<Pool>>,
    /// Forward mode: the CA certificate file to name, and the child's trust
    /// files in a directory removed when `Front` drops (at exit).
    forward: Option<ForwardTrust>,
}

impl Front {
    fn open(config: &Config, stats: &Stats, alarms: &Alarms) -> anyhow::Result<Front> {
        let tls_config = || {
            crate::upstream::tls::client_config(config.upstream_ca.as_deref(), config.ssl_insecure)
                .map_err(UsageError::UpstreamTrust)
        };
        let (door, pool, forward) = match &config.mode {
            Mode::Offline => (FrontDoor::Offline, None, None),
            Mode::Reverse(base) => {
                // Loading the system's roots costs ~10 ms of start-up; an
                // http:// upstream needs none (a given CA file is still read,
                // so a bad one is reported).
                let needs_tls = base.origin.tls || config.upstream_ca.is_some();
                let pool = Pool::new(needs_tls.then(tls_config).transpose()?, alarms.clone());
                (FrontDoor::Reverse(base.clone()), Some(Arc::new(pool)), None)
            }
            Mode::Forward(via) => {
                let pool = Pool::new(Some(tls_config()?), alarms.clone()).through(via.clone());
                let (fwd, trust) = open_forward(config, via.clone(), stats)?;
                let door = FrontDoor::Forward(Arc::new(fwd));
                (door, Some(Arc::new(pool)), Some(trust))
            }
        };
        Ok(Front {
            door,
            pool,
            forward,
        })
    }

    /// What a wrapped command (or the user's other terminal) needs.
    fn child_env(&self, config: &Config, proxy_url: &str) -> Vec<Var> {
        let var = |k: &str| std::env::var(k).ok();
        match &self.forward {
            Some((_, trust, _)) => child_env::forward_env(proxy_url, trust, &config.hosts, var),
            None => child_env::base_url_env(proxy_url, config.mode == Mode::Offline, var),
        }
    }
}

/// The CA certificate file to name, and the child's trust files (in a
/// directory removed when this drops, for a wrapped command).
type ForwardTrust = (String, ChildTrust, Option<tempfile::TempDir>);

/// Opens (or creates) the CA, and writes the child's trust files.
fn open_forward(
    config: &Config,
    via: Option<crate::route::Origin>,
    stats: &Stats,
) -> anyhow::Result<(Forward, ForwardTrust)> {
    let source = CaSource::from_options(config.confdir.clone(), config.ca_file.clone())?;
    let (ca, created) = tls::open(&source)?;
    let ca_file = match &source {
        CaSource::Confdir(dir) => tls::paths(dir).cert_pem,
        CaSource::File(file) => file.clone(),
    };
    if created && !config.quiet {
        stats.say(&format!(
            "record: created a new CA: {} (record ca export prints it for trust stores)",
            ca_file.display()
        ));
    }
    let minter = LeafMinter::new(Arc::new(ca))?;
    let (dir, temp) = trust_dir(config, &source)?;
    let existing = std::env::var_os("NODE_EXTRA_CA_CERTS");
    let trust = ChildTrust::write(minter.ca(), &dir, existing.as_deref())?;
    let fwd = Forward {
        minter: Arc::new(minter),
        hosts: config.hosts.clone(),
        via,
    };
    Ok((fwd, (ca_file.display().to_string(), trust, temp)))
}

/// Where the trust files go: a wrapped command gets a directory removed at
/// exit; lines pasted into another shell must outlive this run, so they
/// name files beside the CA (the confdir, `~/.cctap` by default).
fn trust_dir(
    config: &Config,
    source: &CaSource,
) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    if config.command.is_empty() {
        let stable = match source {
            CaSource::Confdir(dir) => Some(dir.clone()),
            CaSource::File(_) => tls::default_confdir().ok(),
        };
        if let Some(dir) = stable {
            return Ok((dir, None));
        }
    }
    let temp = tempfile::Builder::new()
        .prefix("cctap-trust-")
        .tempdir()
        .context("cannot create a temporary directory for the CA trust files")?;
    Ok((temp.path().to_owned(), Some(temp)))
}

/// An upstream that is this very proxy would loop forever.
fn refuse_loop(base: &BaseUrl, addr: SocketAddr) -> Result<(), UsageError> {
    let host = base.origin.host.as_str();
    let local = host == "localhost"
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip == addr.ip());
    if local && base.origin.port == addr.port() && !base.origin.tls {
        return Err(UsageError::UpstreamIsSelf(base.clone()));
    }
    Ok(())
}

/// Where a client on this machine reaches the proxy.
fn client_authority(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => format!("127.0.0.1:{}", addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => format!("[::1]:{}", addr.port()),
        _ => addr.to_string(),
    }
}

fn announce(config: &Config, addr: SocketAddr, front: &Front, env: &[Var], stats: &Stats) {
    if let (Mode::Forward(None), Some(theirs)) = (&config.mode, users_proxy()) {
        // Shown even with -q: the user's proxy is silently not used otherwise.
        stats.say(&format!(
            "record: note: record itself does not go through your proxy {theirs}; \
             to chain through it, use -m upstream:{theirs}"
        ));
    }
    if config.quiet {
        return;
    }
    let upstream = match (&config.mode, &front.forward) {
        (Mode::Reverse(base), _) => format!("forwarding to {base}"),
        (Mode::Offline, _) => "offline: canned replies, nothing contacted".to_owned(),
        (Mode::Forward(via), Some((ca, _, _))) => {
            let through = via
                .as_ref()
                .map_or(String::new(), |v| format!(" through {v}"));
            format!("forward proxy{through}, CA {ca}")
        }
        (Mode::Forward(_), None) => "forward proxy".to_owned(),
    };
    let archive = config.targets.describe();
    if config.command.is_empty() {
        stats.say(&format!("record: listening on http://{addr}, {upstream}"));
        stats.say(&format!("record: archive: {archive}"));
        stats.say("record: point your client at the proxy (Ctrl-C stops and closes the archive):");
        let shown: Vec<Var> = if config.mode.is_forward() {
            env.to_vec()
        } else {
            // The user's own NO_PROXY fix-ups are for a wrapped command only;
            // offline mode's fake key and quiet flag go to the paste line.
            env.iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("NO_PROXY"))
                .cloned()
                .collect()
        };
        for line in child_env::paste_lines(&shown) {
            stats.say(&line);
        }
    } else {
        stats.say(&format!(
            "record: proxy on http://{}, {upstream}, archive: {archive}",
            client_authority(addr)
        ));
    }
}

/// The HTTP(S) proxy in `record`'s own environment, if any.
fn users_proxy() -> Option<String> {
    ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
}

/// Gives exchanges still held by upstream connections a moment to finish.
async fn wait_for_exchanges(stats: &Stats, limit: Duration) {
    let until = Instant::now() + limit;
    while stats.in_flight.get() > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn summarize(config: &Config, stats: &Stats, closed: &[Closed]) {
    let lost = stats.not_archived.load(Relaxed);
    for e in closed.iter().filter_map(|c| c.error.as_ref()) {
        stats.say(&format!("record: error: {e}"));
    }
    if lost > 0 {
        let plural = if lost == 1 { "" } else { "s" };
        let missing = match (closed.len(), lost) {
            (1, _) => "could not be archived",
            (_, 1) => "is missing from at least one output",
            _ => "are missing from at least one output",
        };
        stats.say(&format!(
            "record: error: {lost} exchange{plural} {missing} (see above)"
        ));
    }
    let waited = stats.waited.load(Relaxed);
    if waited > 0 {
        let plural = if waited == 1 { "" } else { "s" };
        stats.say(&format!(
            "record: note: {waited} request{plural} waited for the archive's disk before going out \
             (it was slower than the traffic)"
        ));
    }
    if config.quiet {
        return;
    }
    let timed_out = stats.clients_timed_out.load(Relaxed);
    if timed_out > 0 {
        let limit = config.client_timeout.unwrap_or_default().as_secs_f64();
        stats.say(&format!(
            "record: closed {timed_out} client connection{} that sent no whole request head within {limit} s (slow or idle; --client-timeout)",
            if timed_out == 1 { "" } else { "s" }
        ));
    }
    let refused = stats.clients_refused.load(Relaxed);
    if refused > 0 {
        stats.say(&format!(
            "record: refused {refused} client connection{} with 503 at the connection cap (--max-connections)",
            if refused == 1 { "" } else { "s" }
        ));
    }
    for c in closed.iter().filter(|c| c.error.is_none()) {
        let what = match (c.written, c.what) {
            (1, "flows") => "flow",
            (1, _) => "exchange",
            (_, what) => what,
        };
        stats.say(&format!("record: wrote {} {what} to {}", c.written, c.name));
    }
}
