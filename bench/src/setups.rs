//! The things measured side by side: no proxy, `record`, and mitmdump, each
//! started fresh per round on a free loopback port, recording to a file.
//! The CONNECT+TLS setups sit in front of the TLS upstream and hand their
//! clients the CA to trust (record's and mitmdump's, from their confdirs).

use crate::procs::{free_port, Proc};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where the binaries are.
#[derive(Clone, Debug)]
pub struct Tools {
    /// `target/release` (record, analyze, bench_upstream, sse_probe, session_gen).
    pub bin_dir: PathBuf,
    /// mitmdump 11.0.2 (from the bench venv); `None` skips its rows.
    pub mitmdump: Option<PathBuf>,
}

impl Tools {
    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    Direct,
    /// `bench_proxy`: a reverse proxy built like record, recording nothing.
    BareProxy,
    /// `record -m reverse:UP -o X.har.zst`.
    RecordReverse,
    /// `record -m reverse:UP -o X.har`: in the memory phase only, to show
    /// record's memory without zstd's window.
    RecordReversePlain,
    /// `record -m regular -o X.har.zst`, absolute-form HTTP requests.
    RecordRegular,
    /// `mitmdump --mode reverse:UP -w X.flows`.
    MitmReverse,
    /// `mitmdump --mode regular -w X.flows`, absolute-form HTTP requests.
    MitmRegular,
    /// `tls_load` straight to the TLS upstream: the base of the TLS rows.
    DirectTls,
    /// `record -m regular --ssl-insecure -o X.har.zst`, CONNECT + TLS.
    RecordTls,
    /// `mitmdump --mode regular --ssl-insecure -w X.flows`, CONNECT + TLS.
    MitmTls,
}

impl Setup {
    pub fn name(self) -> &'static str {
        match self {
            Setup::Direct => "direct",
            Setup::BareProxy => "bare hyper proxy (records nothing)",
            Setup::RecordReverse => "record reverse -o .har.zst",
            Setup::RecordReversePlain => "record reverse -o .har",
            Setup::RecordRegular => "record regular -o .har.zst",
            Setup::MitmReverse => "mitmdump reverse -w",
            Setup::MitmRegular => "mitmdump regular -w",
            Setup::DirectTls => "direct TLS",
            Setup::RecordTls => "record regular (CONNECT+TLS)",
            Setup::MitmTls => "mitmdump regular (CONNECT+TLS) -w",
        }
    }

    /// A forward proxy: clients send absolute-form request targets.
    pub fn is_forward(self) -> bool {
        matches!(self, Setup::MitmRegular | Setup::RecordRegular)
    }

    /// Driven by `tls_load` against the TLS upstream (through CONNECT when
    /// proxied), not by wrk.
    pub fn is_tls(self) -> bool {
        matches!(self, Setup::DirectTls | Setup::RecordTls | Setup::MitmTls)
    }

    /// `record` in one of its modes.
    pub fn is_record(self) -> bool {
        matches!(
            self,
            Setup::RecordReverse
                | Setup::RecordReversePlain
                | Setup::RecordRegular
                | Setup::RecordTls
        )
    }

    /// The rows with a throughput target: besides their own load, each
    /// round runs them in back-to-back pairs with their direct base
    /// (`Bench::pairs`).
    pub fn is_paired(self) -> bool {
        matches!(self, Setup::RecordReverse | Setup::RecordTls)
    }

    /// The rows this one's ratios are taken against: (direct, mitmdump).
    pub fn bases(self) -> (Setup, Setup) {
        if self.is_tls() {
            (Setup::DirectTls, Setup::MitmTls)
        } else {
            (Setup::Direct, Setup::MitmReverse)
        }
    }
}

/// A running proxy and the file it records into.
pub struct Proxy {
    pub proc: Proc,
    pub port: u16,
    pub archive: PathBuf,
    /// The CA certificate (PEM) a CONNECT+TLS client must trust.
    pub ca: Option<PathBuf>,
}

/// Starts the proxy of `setup` in front of 127.0.0.1:`up`; `None` for direct.
pub fn start(setup: Setup, tools: &Tools, up: u16, dir: &Path) -> anyhow::Result<Option<Proxy>> {
    let port = free_port()?;
    let upstream = format!("http://127.0.0.1:{up}");
    let (mut cmd, archive) = match setup {
        Setup::Direct | Setup::DirectTls => return Ok(None),
        Setup::BareProxy => {
            let mut cmd = Command::new(tools.bin("bench_proxy"));
            cmd.args(["--upstream", &format!("127.0.0.1:{up}")]);
            cmd.args(["-p", &port.to_string()]);
            (cmd, dir.join("nothing-recorded"))
        }
        Setup::RecordReverse
        | Setup::RecordReversePlain
        | Setup::RecordRegular
        | Setup::RecordTls => {
            let reverse = matches!(setup, Setup::RecordReverse | Setup::RecordReversePlain);
            let archive = match setup {
                Setup::RecordReversePlain => dir.join("record.har"),
                _ => dir.join("record.har.zst"),
            };
            let mode = if reverse {
                format!("reverse:{upstream}")
            } else {
                "regular".to_owned()
            };
            let mut cmd = Command::new(tools.bin("record"));
            cmd.arg("-m").arg(mode).arg("-o").arg(&archive);
            cmd.args(["-q", "-p", &port.to_string()]);
            // Regular mode keeps its CA here, not in the user's ~/.cctap.
            if !reverse {
                cmd.arg("--confdir").arg(dir.join("record-conf"));
            }
            // The TLS upstream's certificate is self-signed.
            if setup == Setup::RecordTls {
                cmd.arg("--ssl-insecure");
            }
            (cmd, archive)
        }
        Setup::MitmReverse | Setup::MitmRegular | Setup::MitmTls => {
            let Some(mitmdump) = &tools.mitmdump else {
                anyhow::bail!("mitmdump is not installed");
            };
            let archive = dir.join("mitmdump.flows");
            let mode = match setup {
                Setup::MitmReverse => format!("reverse:{upstream}"),
                _ => "regular".to_owned(),
            };
            let mut cmd = Command::new(mitmdump);
            cmd.args([
                "--mode",
                &mode,
                "-q",
                "--listen-host",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ]);
            cmd.arg("-w").arg(&archive);
            if setup == Setup::MitmTls {
                cmd.arg("--ssl-insecure");
            }
            cmd.arg("--set")
                .arg(format!("confdir={}", dir.join("mitmproxy-conf").display()));
            (cmd, archive)
        }
    };
    let mut proc = Proc::spawn(
        setup.name(),
        &mut cmd,
        &dir.join(format!("{}.log", proc_name(setup))),
    )?;
    proc.wait_port(port, Duration::from_secs(20))?;
    let ca = match setup {
        Setup::RecordTls => Some(dir.join("record-conf").join("cctap-ca-cert.pem")),
        Setup::MitmTls => Some(dir.join("mitmproxy-conf").join("mitmproxy-ca-cert.pem")),
        _ => None,
    };
    if let Some(ca) = &ca {
        wait_file(ca, Duration::from_secs(10))?;
    }
    Ok(Some(Proxy {
        proc,
        port,
        archive,
        ca,
    }))
}

fn proc_name(setup: Setup) -> &'static str {
    if setup.is_record() {
        "record"
    } else if setup == Setup::BareProxy {
        "bench_proxy"
    } else {
        "mitmdump"
    }
}

/// Waits for a proxy to have written its CA certificate.
fn wait_file(path: &Path, limit: Duration) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!(
        "the proxy listens but wrote no CA certificate at {} within {limit:?}",
        path.display()
    )
}
