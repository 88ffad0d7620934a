//! The things measured side by side: no proxy, `record`, and mitmdump, each
//! started fresh per round on a free loopback port, recording to a file.

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
    /// `record -m reverse:UP -o X.har.zst`.
    RecordReverse,
    /// `record -m regular -o X.har.zst`, absolute-form HTTP requests.
    RecordRegular,
    /// `mitmdump --mode reverse:UP -w X.flows`.
    MitmReverse,
    /// `mitmdump --mode regular -w X.flows`, absolute-form HTTP requests.
    MitmRegular,
}

impl Setup {
    pub fn name(self) -> &'static str {
        match self {
            Setup::Direct => "direct",
            Setup::RecordReverse => "record reverse -o .har.zst",
            Setup::RecordRegular => "record regular -o .har.zst",
            Setup::MitmReverse => "mitmdump reverse -w",
            Setup::MitmRegular => "mitmdump regular -w",
        }
    }

    /// A forward proxy: clients send absolute-form request targets.
    pub fn is_forward(self) -> bool {
        matches!(self, Setup::MitmRegular | Setup::RecordRegular)
    }
}

/// A running proxy and the file it records into.
pub struct Proxy {
    pub proc: Proc,
    pub port: u16,
    pub archive: PathBuf,
}

/// Starts the proxy of `setup` in front of 127.0.0.1:`up`; `None` for direct.
pub fn start(setup: Setup, tools: &Tools, up: u16, dir: &Path) -> anyhow::Result<Option<Proxy>> {
    let port = free_port()?;
    let upstream = format!("http://127.0.0.1:{up}");
    let (mut cmd, archive) = match setup {
        Setup::Direct => return Ok(None),
        Setup::RecordReverse | Setup::RecordRegular => {
            let archive = dir.join("record.har.zst");
            let mode = match setup {
                Setup::RecordReverse => format!("reverse:{upstream}"),
                _ => "regular".to_owned(),
            };
            let mut cmd = Command::new(tools.bin("record"));
            cmd.arg("-m").arg(mode).arg("-o").arg(&archive);
            cmd.args(["-q", "-p", &port.to_string()]);
            // Regular mode keeps its CA here, not in the user's ~/.mitmproxy.
            if setup == Setup::RecordRegular {
                cmd.arg("--confdir").arg(dir.join("record-conf"));
            }
            (cmd, archive)
        }
        Setup::MitmReverse | Setup::MitmRegular => {
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
    Ok(Some(Proxy {
        proc,
        port,
        archive,
    }))
}

fn proc_name(setup: Setup) -> &'static str {
    match setup {
        Setup::RecordReverse | Setup::RecordRegular => "record",
        _ => "mitmdump",
    }
}
