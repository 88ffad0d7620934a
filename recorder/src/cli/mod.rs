//! Command-line flags, and the [`Config`] they resolve to.
//!
//! House rules (from xh): every `short` is explicit, `long` is implicit,
//! `value_name` is upper case, every flag has a one-line doc and long ones a
//! `long_help` with values and defaults. Flags are named as in mitmdump.
//! Everything that can be wrong with the flags is found here, before anything
//! starts, so that `main` can exit 2 with one line.

mod mode;

use crate::front::forward::{HostFilter, PatternError};
use crate::output::{FlowTarget, Targets};
use crate::route::{BaseUrl, BaseUrlError, Origin};
use crate::upstream::tls::TrustError;
use clap::Parser;
use mode::parse_mode;
pub use mode::ModeArg;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  Record everything a Claude Code session sends, to every host (forward mode,
  the default: record sets HTTPS_PROXY and makes the command trust its CA):
      record -o session.har.zst -- claude -p \"say hi\"

  Record only what goes to the base URL ($ANTHROPIC_BASE_URL, else
  https://api.anthropic.com), no CA involved (reverse mode):
      record -m reverse -o session.har.zst -- claude -p \"say hi\"

  Record with no account and no spend: canned replies, nothing contacted
  (a fake ANTHROPIC_API_KEY and CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 are
  set for the command unless you set them):
      record -m offline -o offline.har -- claude -p \"say hi\"

  Run as a proxy for another terminal (prints the lines to paste there):
      record -p 8080                                      (forward mode)
      record -m reverse:https://api.z.ai/api/anthropic -p 8080

  Forward mode behind a corporate proxy; leave some hosts alone:
      record -m upstream:http://proxy.corp:3128 --ignore-hosts 'sentry\\.io' -- claude

  The CA (created in ~/.cctap on first use, mitmproxy's layout):
      record ca init | record ca path | record ca export > cctap-ca.pem
      record --ca ~/.mitmproxy/mitmproxy-ca.pem -- claude    (mitmproxy's CA)

  Write a mitmproxy flow file (as mitmdump -w; no HAR unless -o is given too),
  then open it in mitmproxy:
      record -w s.flows -- claude -p hi
      mitmproxy -r s.flows
  Both at once, the same exchanges in each:
      record -o s.har.zst -w s.flows -- claude -p hi

  Look at what was recorded:
      zstd -dc session.har.zst | jq '.log.entries[0].request.url'

Exit status:
  0  clean shutdown (SIGINT, SIGTERM)
     with a COMMAND: the command's own exit status (128+N if killed by signal N)
  1  runtime error (cannot listen, cannot create the archive or the CA,
     cannot start COMMAND)
  2  bad usage

Logging: RUST_LOG=record=debug (or info, trace) prints a line per connection
and exchange on stderr. Bodies and credentials are never logged.";

/// Records what an AI coding client sends to its model API, as a HAR archive.
#[derive(Debug, Parser)]
#[command(
    name = "record",
    version,
    after_help = EXAMPLES,
    long_about = "Records what an AI coding client (Claude Code and friends) sends to its model API \
as a HAR 1.2 archive (and/or a mitmproxy flow file, -w), streamed to disk as it happens, with \
credentials redacted.\n\n\
record is an HTTP proxy: clients send their requests through it (forward mode, HTTPS_PROXY) or \
to it instead of the API (reverse mode, ANTHROPIC_BASE_URL); it forwards every request unchanged and every response as it arrives, and writes a copy of each exchange to \
the archive. Wrap a command with `record [OPTIONS] -- COMMAND` and it is set up for you.\n\n\
`record ca init | path | export` manages the local CA that forward mode intercepts TLS with."
)]
pub struct Cli {
    /// Proxy mode: regular, upstream:URL, reverse[:URL] or offline.
    #[arg(
        short = 'm',
        long,
        value_name = "MODE",
        default_value = "regular",
        value_parser = parse_mode,
        long_help = "How clients reach the proxy and where their requests go.\n\n\
  regular      (default) a forward proxy, as mitmdump's default: clients set HTTPS_PROXY=\
http://127.0.0.1:PORT; CONNECT tunnels are intercepted with a leaf certificate from the local CA \
(--confdir, --ca), so every host the client talks to is recorded. A wrapped COMMAND gets the \
proxy variables and trusts the CA.\n\
  upstream:URL the same, but the proxy sends everything through the HTTP proxy at URL \
(upstream:http://proxy.corp:3128).\n\
  reverse:URL  clients use the proxy as their base URL; requests go to URL with its path \
prefix joined (reverse:https://api.anthropic.com, reverse:https://api.z.ai/api/anthropic, \
reverse:http://127.0.0.1:9000). The archive records the real upstream URL. No CA needed.\n\
  reverse      the same, with URL taken from $ANTHROPIC_BASE_URL, else https://api.anthropic.com.\n\
  offline      answer every Messages API call locally with a short canned reply (SSE when the \
request streams, JSON otherwise, count_tokens too) and contact nothing. A wrapped COMMAND \
without ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN gets a fake ANTHROPIC_API_KEY, and \
CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 unless it is set."
    )]
    pub mode: ModeArg,

    /// Archive to write: .har.zst, .har, .har.gz, or - for stdout.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        long_help = "Archive to write. The format follows the name: .har.zst (zstd, flushed after \
every entry), .har.gz, anything else plain .har JSON; - writes to standard output.\n\n\
[default: cctap-<UTC timestamp>.har.zst in the current directory, unless -w is given]"
    )]
    pub output: Option<PathBuf>,

    /// Also (or only) write a mitmproxy flow file: FILE, +FILE appends, - is stdout.
    #[arg(
        short = 'w',
        long = "save-stream-file",
        value_name = "FILE",
        long_help = "Write the exchanges as a mitmproxy native flow file, as mitmdump -w does: \
`mitmproxy -r FILE` and `mitmdump -nr FILE` load it (flow format 21, mitmproxy 11). Redacted \
like the archive. Each flow is written and flushed when its exchange ends; the file has no head \
or tail, so one cut off by a crash or kill -9 still loads. +FILE appends to FILE (as mitmdump); \
- writes to standard output.\n\n\
With -w and no -o, only the flow file is written (no HAR), as with mitmdump. Give -o too to get \
both, the same exchanges in each (not both to -)."
    )]
    pub save_stream_file: Option<PathBuf>,

    /// Port to listen on; 0 picks a free one [default: 8080, 0 with a COMMAND].
    #[arg(short = 'p', long, value_name = "PORT")]
    pub listen_port: Option<u16>,

    /// Address to listen on.
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    pub listen_host: String,

    /// Extra CA certificates (PEM) to trust when verifying upstream servers.
    #[arg(
        long,
        value_name = "FILE",
        long_help = "A PEM file of CA certificates to trust when verifying upstream TLS servers, \
in addition to the system's roots (e.g. a test upstream's own CA)."
    )]
    pub upstream_ca: Option<PathBuf>,

    /// Don't verify upstream TLS certificates.
    #[arg(long, conflicts_with = "upstream_ca")]
    pub ssl_insecure: bool,

    /// Give up on an upstream that stays silent this long, in seconds (0: never).
    #[arg(
        long,
        value_name = "SECS",
        default_value = "600",
        value_parser = parse_seconds,
        // So that -1 gets the message below, not "unexpected argument".
        allow_negative_numbers = true,
        long_help = "How long an upstream may stay silent, in seconds; fractions are allowed \
(0.5). Two silences are bounded, both measured from the upstream's last sign of life, never \
from the start of the exchange:\n  \
before the response head  counted from when the request was sent whole; on expiry the client \
gets 504 Gateway Timeout.\n  \
inside a response body    the gap between two pieces of it (an SSE stream that stops); on \
expiry the stream to the client is cut, as when an upstream resets it.\n\
Either way the archive entry keeps what arrived and says why in _error. A long stream that keeps \
sending events is never cut. 0 waits for ever (the client's own timeout still applies). The \
default matches the Anthropic SDKs' request timeout (X-Stainless-Timeout: 600). Timeouts are \
checked every eighth of the shorter of this and --client-timeout (at most every second), so one \
fires up to that much late, never early."
    )]
    pub upstream_timeout: Duration,

    /// Keep at most SIZE bytes of each body in the archive (e.g. 1m, 512k).
    #[arg(
        long,
        value_name = "SIZE",
        value_parser = parse_size,
        long_help = "Keep at most SIZE bytes of each request and response body in the archive (suffixes k, m, g: 512k, 16m). The client still gets every byte; the archived body is cut and marked \"_truncated\": true (a compressed body cut short is kept as sent, with _undecoded saying so). Like mitmproxy's stream_large_bodies, for downloads you do not need to keep. Without it nothing is dropped: bodies past 4 MiB go through a spill file, not memory."
    )]
    pub max_body_size: Option<u64>,

    /// Close client connections with no whole request head for SECS.
    #[arg(
        long,
        value_name = "SECS",
        default_value = "30",
        value_parser = parse_seconds,
        long_help = "How long a client connection may go without sending a whole request head, in \
seconds: counted from connecting (a client trickling its head byte by byte, \"slowloris\", is \
closed then) and from the end of each response (an idle keep-alive connection is closed then; \
clients reconnect as they do after any server close). In forward mode the same bound applies to \
the CONNECT head. Closed connections are counted in the status line and the summary. 0: never. \
Checked every eighth of the shorter timeout (at most every second): a close comes up to that \
much late, never early."
    )]
    pub client_timeout: Duration,

    /// Serve at most N client connections at once [default: from ulimit -n].
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u64).range(1..),
        long_help = "Serve at most N client connections at once; past that, a new connection \
gets 503 Service Unavailable (Retry-After: 1) at once and is closed, with one warning and then a \
count, instead of the proxy running out of file descriptors and going silent. By default record \
raises its open-file limit to the hard limit at start and derives N from it (half of it, less a \
reserve: each client connection may hold an upstream connection too)."
    )]
    pub max_connections: Option<u64>,

    /// Where the CA lives (forward mode) [default: ~/.cctap].
    #[arg(
        long,
        value_name = "DIR",
        long_help = "Directory of the CA that forward mode signs leaf certificates with, in \
mitmproxy's layout (cctap-ca.pem with key and certificate, cctap-ca-cert.pem, cctap-ca-cert.cer; \
a confdir holding only mitmproxy-ca.pem is used as is). Created 0700 with a new CA (key file \
0600) when missing. [default: ~/.cctap]"
    )]
    pub confdir: Option<PathBuf>,

    /// Use this CA: one PEM with key and certificate (e.g. ~/.mitmproxy/mitmproxy-ca.pem).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,

    /// Tunnel matching hosts untouched and unrecorded (regex on host:port; repeatable).
    #[arg(
        long,
        value_name = "REGEX",
        conflicts_with = "allow_hosts",
        long_help = "Forward mode: CONNECT tunnels to hosts matching this regular expression \
(searched in host:port, e.g. 'sentry\\.io' or '^example\\.test:443$') are passed through as raw \
bytes, without TLS interception, and not recorded. Repeatable. As mitmdump's --ignore-hosts."
    )]
    pub ignore_hosts: Vec<String>,

    /// Intercept only matching hosts (regex on host:port; repeatable).
    #[arg(
        long,
        value_name = "REGEX",
        long_help = "Forward mode: intercept and record only CONNECT tunnels to hosts matching \
this regular expression (searched in host:port); all others pass through untouched. Repeatable. \
As mitmdump's --allow-hosts."
    )]
    pub allow_hosts: Vec<String>,

    /// Keep credentials verbatim in the archive (it will hold secrets).
    #[arg(
        long,
        long_help = "Keep API keys, tokens and cookies verbatim in the archive. By default every \
credential is replaced by redacted:<kind>:<fingerprint>. With this flag the archive holds live \
secrets: don't share it."
    )]
    pub no_redact: bool,

    /// No status output (errors are still printed).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Command to run through the proxy.
    #[arg(
        last = true,
        value_name = "COMMAND",
        long_help = "A command to run through the proxy (on a free port unless -p is given). \
Forward mode sets HTTPS_PROXY, HTTP_PROXY, https_proxy and http_proxy, removes intercepted hosts \
from NO_PROXY/no_proxy, and makes it trust the CA (NODE_EXTRA_CA_CERTS, combined with yours if \
set; SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE: the system roots plus the CA, in a \
temporary directory removed at exit). Reverse and offline modes set ANTHROPIC_BASE_URL. record \
stops when the command exits and exits with its status."
    )]
    pub command: Vec<OsString>,
}

/// What `record` does, fully resolved.
#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    /// The HAR archive and the flow file (`-o`, `-w`).
    pub targets: Targets,
    pub listen_host: String,
    pub listen_port: u16,
    pub upstream_ca: Option<PathBuf>,
    pub ssl_insecure: bool,
    /// `--upstream-timeout`: how long an upstream may stay silent; `None`
    /// for ever.
    pub upstream_timeout: Option<Duration>,
    /// `--max-body-size`: bytes of each body kept for the archive.
    pub max_body_size: Option<u64>,
    /// `--client-timeout`: `None` never closes a quiet client.
    pub client_timeout: Option<Duration>,
    /// `--max-connections`; `None`: derived from the open-file limit.
    pub max_connections: Option<usize>,
    /// `--confdir`, `--ca`: where forward mode's CA comes from.
    pub confdir: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// Which CONNECT tunnels forward mode intercepts.
    pub hosts: HostFilter,
    pub redact: bool,
    pub quiet: bool,
    /// Program and arguments to wrap; empty when none.
    pub command: Vec<OsString>,
}

/// Where requests go.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// Forward proxy; `Some` chains through that HTTP proxy.
    Forward(Option<Origin>),
    Reverse(BaseUrl),
    Offline,
}

impl Mode {
    pub fn is_forward(&self) -> bool {
        matches!(self, Mode::Forward(_))
    }
}

/// A usage error found after parsing (exit 2): each says what to change.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("ANTHROPIC_BASE_URL: {0}; fix it or pass the upstream with -m reverse:URL")]
    BaseUrlEnv(#[source] BaseUrlError),
    #[error(transparent)]
    HostPattern(#[from] PatternError),
    #[error("-o - and -w - would both write to standard output; send one of them to a file")]
    BothOnStdout,
    #[error("-o and -w name the same file; give each its own")]
    SameFile,
    #[error("-w +: name the flow file to append to (-w +FILE)")]
    AppendWithoutName,
    #[error(transparent)]
    UpstreamTrust(#[from] TrustError),
    #[error(
        "the upstream {0} is record itself (does ANTHROPIC_BASE_URL already point at the proxy?); \
         give the real API with -m reverse:URL"
    )]
    UpstreamIsSelf(BaseUrl),
}

impl Cli {
    /// Resolves defaults: the upstream from `ANTHROPIC_BASE_URL`, the port,
    /// the archive name.
    pub fn into_config(
        self,
        env_base_url: Option<String>,
        now: time::OffsetDateTime,
    ) -> Result<Config, UsageError> {
        let mode = match self.mode {
            ModeArg::Regular => Mode::Forward(None),
            ModeArg::Upstream(proxy) => Mode::Forward(Some(proxy)),
            ModeArg::Offline => Mode::Offline,
            ModeArg::Reverse(Some(url)) => Mode::Reverse(url),
            ModeArg::Reverse(None) => Mode::Reverse(default_upstream(env_base_url)?),
        };
        let wraps = !self.command.is_empty();
        let hosts = HostFilter::new(&self.ignore_hosts, &self.allow_hosts)?;
        Ok(Config {
            mode,
            targets: targets(self.output, self.save_stream_file, now)?,
            listen_host: self.listen_host,
            listen_port: self.listen_port.unwrap_or(if wraps { 0 } else { 8080 }),
            upstream_ca: self.upstream_ca,
            ssl_insecure: self.ssl_insecure,
            upstream_timeout: (!self.upstream_timeout.is_zero()).then_some(self.upstream_timeout),
            max_body_size: self.max_body_size,
            client_timeout: (!self.client_timeout.is_zero()).then_some(self.client_timeout),
            max_connections: self
                .max_connections
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            confdir: self.confdir,
            ca_file: self.ca,
            hosts,
            redact: !self.no_redact,
            quiet: self.quiet,
            command: self.command,
        })
    }
}

/// A `--upstream-timeout` that is not a duration.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("'{0}' is not a number of seconds: give e.g. 600 or 0.5 (0: no limit)")]
pub struct SecondsError(String);

/// A `--max-body-size` that is not a size.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("'{0}' is not a size: give e.g. 1048576, 512k, 16m or 1g")]
pub struct SizeError(String);

/// `--max-body-size`: bytes, with an optional k/m/g suffix (binary).
fn parse_size(text: &str) -> Result<u64, SizeError> {
    let bad = || SizeError(text.to_owned());
    let t = text.trim().to_ascii_lowercase();
    let t = t
        .strip_suffix("ib")
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(&t);
    let (digits, shift) = match t.as_bytes().last() {
        Some(b'k') => (&t[..t.len() - 1], 10),
        Some(b'm') => (&t[..t.len() - 1], 20),
        Some(b'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).ok_or_else(bad)
}

/// `--upstream-timeout`: seconds, fractions allowed (`600`, `0.5`).
fn parse_seconds(text: &str) -> Result<Duration, SecondsError> {
    let bad = || SecondsError(text.to_owned());
    let secs: f64 = text.trim().parse().map_err(|_| bad())?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(bad());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// The user's own `ANTHROPIC_BASE_URL`, else the Anthropic API.
fn default_upstream(env_base_url: Option<String>) -> Result<BaseUrl, UsageError> {
    match env_base_url.filter(|s| !s.trim().is_empty()) {
        None => Ok(BaseUrl::anthropic()),
        Some(s) => s.trim().parse().map_err(UsageError::BaseUrlEnv),
    }
}

/// `-o` and `-w`: the default HAR only when neither is given (mitmdump's
/// `-w` writes nothing else); two outputs may not share a file.
fn targets(
    har: Option<PathBuf>,
    flows: Option<PathBuf>,
    now: time::OffsetDateTime,
) -> Result<Targets, UsageError> {
    let flows = flows.map(flow_target).transpose()?;
    let har = match (har, &flows) {
        (None, None) => Some(default_output(now)),
        (har, _) => har,
    };
    if let (Some(har), Some(flows)) = (&har, &flows) {
        if *har == flows.path {
            return Err(if har.as_os_str() == "-" {
                UsageError::BothOnStdout
            } else {
                UsageError::SameFile
            });
        }
    }
    Ok(Targets { har, flows })
}

/// `-w +FILE` appends, as in mitmdump.
fn flow_target(path: PathBuf) -> Result<FlowTarget, UsageError> {
    let text = path.to_string_lossy();
    match text.strip_prefix('+') {
        Some("") => Err(UsageError::AppendWithoutName),
        Some(rest) => Ok(FlowTarget {
            path: PathBuf::from(rest),
            append: true,
        }),
        None => Ok(FlowTarget {
            path,
            append: false,
        }),
    }
}

/// Whether `path` is a name [`default_output`] makes.
pub fn is_default_output(path: &Path) -> bool {
    let name = path.to_string_lossy();
    let Some(stamp) = name
        .strip_prefix("cctap-")
        .and_then(|n| n.strip_suffix("Z.har.zst"))
    else {
        return false;
    };
    stamp.len() == 15
        && stamp.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            _ => b.is_ascii_digit(),
        })
}

/// `cctap-20261125T124500Z.har.zst`.
fn default_output(now: time::OffsetDateTime) -> PathBuf {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(fmt)
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    PathBuf::from(format!("cctap-{stamp}.har.zst"))
}

#[cfg(test)]
mod tests;
