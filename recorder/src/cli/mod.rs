//! Command-line flags, and the [`Config`] they resolve to.
//!
//! House rules (from xh): every `short` is explicit, `long` is implicit,
//! `value_name` is upper case, every flag has a one-line doc and long ones a
//! `long_help` with values and defaults. Flags are named as in mitmdump.
//! Everything that can be wrong with the flags is found here, before anything
//! starts, so that `main` can exit 2 with one line.

use crate::route::BaseUrl;
use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  Record a Claude Code session (the default upstream is $ANTHROPIC_BASE_URL,
  else https://api.anthropic.com):
      record -o session.har.zst -- claude -p \"say hi\"

  Record with no account and no spend: canned replies, nothing contacted:
      record -m offline -o offline.har -- claude -p \"say hi\"

  Run as a proxy for another terminal, in front of Z.ai:
      record -m reverse:https://api.z.ai/api/anthropic -p 8080
      export ANTHROPIC_BASE_URL=http://127.0.0.1:8080     (in the other terminal)

  Look at what was recorded:
      zstd -dc session.har.zst | jq '.log.entries[0].request.url'

Exit status:
  0  clean shutdown (SIGINT, SIGTERM)
     with a COMMAND: the command's own exit status (128+N if killed by signal N)
  1  runtime error (cannot listen, cannot create the archive, cannot start COMMAND)
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
as a HAR 1.2 archive, streamed to disk as it happens, with credentials redacted.\n\n\
record is an HTTP proxy: clients talk to it instead of the API (ANTHROPIC_BASE_URL), it forwards \
every request unchanged and every response as it arrives, and writes a copy of each exchange to \
the archive. Wrap a command with `record [OPTIONS] -- COMMAND` and it is set up for you."
)]
pub struct Cli {
    /// Proxy mode: reverse[:URL] or offline.
    #[arg(
        short = 'm',
        long,
        value_name = "MODE",
        default_value = "reverse",
        value_parser = parse_mode,
        long_help = "How clients reach the proxy and where their requests go.\n\n\
  reverse:URL  clients use the proxy as their base URL; requests go to URL with its path \
prefix joined (reverse:https://api.anthropic.com, reverse:https://api.z.ai/api/anthropic, \
reverse:http://127.0.0.1:9000). The archive records the real upstream URL.\n\
  reverse      the same, with URL taken from $ANTHROPIC_BASE_URL, else https://api.anthropic.com.\n\
  offline      answer every Messages API call locally with a short canned reply (SSE when the \
request streams, JSON otherwise, count_tokens too) and contact nothing."
    )]
    pub mode: ModeArg,

    /// Archive to write: .har.zst, .har, .har.gz, or - for stdout.
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        long_help = "Archive to write. The format follows the name: .har.zst (zstd, flushed after \
every entry), .har.gz, anything else plain .har JSON; - writes to standard output.\n\n\
[default: cctap-<UTC timestamp>.har.zst in the current directory]"
    )]
    pub output: Option<PathBuf>,

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

    /// Command to run with ANTHROPIC_BASE_URL pointing at the proxy.
    #[arg(
        last = true,
        value_name = "COMMAND",
        long_help = "A command to run with ANTHROPIC_BASE_URL pointing at the proxy (on a free \
port unless -p is given). record stops when it exits and exits with its status."
    )]
    pub command: Vec<OsString>,
}

/// The `--mode` flag as given.
#[derive(Clone, Debug, PartialEq)]
pub enum ModeArg {
    /// `reverse` (URL from the environment) or `reverse:URL`.
    Reverse(Option<BaseUrl>),
    Offline,
}

fn parse_mode(s: &str) -> Result<ModeArg, String> {
    match s.split_once(':') {
        None if s == "reverse" => Ok(ModeArg::Reverse(None)),
        None if s == "offline" => Ok(ModeArg::Offline),
        Some(("reverse", url)) => url
            .parse()
            .map(|u| ModeArg::Reverse(Some(u)))
            .map_err(|e| format!("{e}")),
        _ if s == "regular" || s.starts_with("upstream:") => Err(format!(
            "'{s}': forward mode is not available yet; use -m reverse:URL or -m offline"
        )),
        _ => Err(format!(
            "'{s}' is not a mode; use reverse:URL, reverse or offline"
        )),
    }
}

/// What `record` does, fully resolved.
#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub output: PathBuf,
    pub listen_host: String,
    pub listen_port: u16,
    pub upstream_ca: Option<PathBuf>,
    pub ssl_insecure: bool,
    pub redact: bool,
    pub quiet: bool,
    /// Program and arguments to wrap; empty when none.
    pub command: Vec<OsString>,
}

/// Where requests go.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    Reverse(BaseUrl),
    Offline,
}

/// A usage error found after parsing (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Cli {
    /// Resolves defaults: the upstream from `ANTHROPIC_BASE_URL`, the port,
    /// the archive name.
    pub fn into_config(
        self,
        env_base_url: Option<String>,
        now: time::OffsetDateTime,
    ) -> Result<Config, UsageError> {
        let mode = match self.mode {
            ModeArg::Offline => Mode::Offline,
            ModeArg::Reverse(Some(url)) => Mode::Reverse(url),
            ModeArg::Reverse(None) => Mode::Reverse(default_upstream(env_base_url)?),
        };
        let wraps = !self.command.is_empty();
        Ok(Config {
            mode,
            output: self.output.unwrap_or_else(|| default_output(now)),
            listen_host: self.listen_host,
            listen_port: self.listen_port.unwrap_or(if wraps { 0 } else { 8080 }),
            upstream_ca: self.upstream_ca,
            ssl_insecure: self.ssl_insecure,
            redact: !self.no_redact,
            quiet: self.quiet,
            command: self.command,
        })
    }
}

/// The user's own `ANTHROPIC_BASE_URL`, else the Anthropic API.
fn default_upstream(env_base_url: Option<String>) -> Result<BaseUrl, UsageError> {
    match env_base_url.filter(|s| !s.trim().is_empty()) {
        None => Ok(BaseUrl::anthropic()),
        Some(s) => s.trim().parse().map_err(|e| {
            UsageError(format!(
                "ANTHROPIC_BASE_URL: {e}; fix it or pass the upstream with -m reverse:URL"
            ))
        }),
    }
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
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("record").chain(args.iter().copied()))
    }

    fn config(args: &[&str], env: Option<&str>) -> Config {
        let now = time::macros::datetime!(2026-11-25 12:45:00 UTC);
        parse(args)
            .unwrap()
            .into_config(env.map(Into::into), now)
            .unwrap()
    }

    #[test]
    fn defaults() {
        let c = config(&[], None);
        assert_eq!(
            c.mode,
            Mode::Reverse("https://api.anthropic.com".parse().unwrap())
        );
        assert_eq!(c.output, PathBuf::from("cctap-20261125T124500Z.har.zst"));
        assert_eq!(c.listen_port, 8080);
        assert_eq!(c.listen_host, "127.0.0.1");
        assert!(c.redact && !c.quiet && c.command.is_empty());
    }

    #[test]
    fn a_command_picks_a_free_port_and_the_users_base_url() {
        let c = config(
            &["-q", "--", "claude", "-p", "hi"],
            Some("https://api.z.ai/api/anthropic"),
        );
        assert_eq!(c.listen_port, 0);
        assert_eq!(c.command, ["claude", "-p", "hi"]);
        assert_eq!(
            c.mode,
            Mode::Reverse("https://api.z.ai/api/anthropic".parse().unwrap())
        );
        assert!(c.quiet);
        assert_eq!(config(&["-p", "9", "--", "x"], None).listen_port, 9);
    }

    #[test]
    fn modes() {
        let c = config(
            &["-m", "reverse:http://127.0.0.1:9000", "-o", "-"],
            Some("https://ignored"),
        );
        assert_eq!(
            c.mode,
            Mode::Reverse("http://127.0.0.1:9000".parse().unwrap())
        );
        assert_eq!(config(&["--mode", "offline"], None).mode, Mode::Offline);
        for bad in [
            "regular",
            "upstream:http://x",
            "socks5",
            "reverse:ftp://x",
            "reverse:",
        ] {
            let e = parse(&["-m", bad]).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn bad_flags_exit_2() {
        for args in [
            &["--nope"][..],
            &["-p", "99999"],
            &["--ssl-insecure", "--upstream-ca", "x.pem"],
            &["-o"],
        ] {
            assert_eq!(parse(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let err = parse(&[])
            .unwrap()
            .into_config(Some("not a url".into()), now)
            .unwrap_err();
        assert!(err.0.contains("ANTHROPIC_BASE_URL"), "{err}");
    }

    #[test]
    fn help_teaches() {
        let help = parse(&["--help"]).unwrap_err().to_string();
        assert!(
            help.contains("Examples:") && help.contains("Exit status:"),
            "{help}"
        );
    }
}
