//! Runs the real `record` binary as a child process for a test.
//!
//! [`Recorder::start`] spawns it with `-p 0`, reads its stderr until the line
//! `listening on http://HOST:PORT`, and returns the address. Stopping sends
//! SIGINT (the clean shutdown that writes the archive's tail) and waits with
//! a limit; [`Recorder::kill9`] simulates a crash. Dropping a recorder that
//! was not stopped interrupts it the same way, so no test leaks a process.

use crate::binaries::{self, MissingBinary};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long `record` may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(15);

/// How long `record` may take to exit after SIGINT.
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// What went wrong running `record`.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error(transparent)]
    Missing(#[from] MissingBinary),
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error(
        "record did not print `listening on http://…` within {limit:?}; its stderr:\n{stderr}"
    )]
    NoListenLine { limit: Duration, stderr: String },
    #[error("record exited before listening ({status}); its stderr:\n{stderr}")]
    ExitedEarly { status: ExitStatus, stderr: String },
    #[error("record did not exit within {limit:?} of SIGINT (killed); its stderr:\n{stderr}")]
    NoExit { limit: Duration, stderr: String },
    #[error("cannot signal record: {0}")]
    Signal(std::io::Error),
}

/// A running `record`.
pub struct Recorder {
    child: Option<Child>,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    /// The thread reading stderr; it ends when record's stderr closes.
    collector: Option<std::thread::JoinHandle<()>>,
    output: PathBuf,
}

impl Recorder {
    /// `record -m reverse:UPSTREAM -o OUTPUT -p 0 EXTRA…`.
    pub fn reverse(
        upstream: &str,
        output: &Path,
        extra: &[&str],
    ) -> Result<Recorder, RecorderError> {
        let mode = format!("reverse:{upstream}");
        Recorder::start(&mode, output, extra)
    }

    /// `record -m offline -o OUTPUT -p 0 EXTRA…`.
    pub fn offline(output: &Path, extra: &[&str]) -> Result<Recorder, RecorderError> {
        Recorder::start("offline", output, extra)
    }

    /// `record -m MODE -o OUTPUT -p 0 EXTRA…`, once it listens.
    pub fn start(mode: &str, output: &Path, extra: &[&str]) -> Result<Recorder, RecorderError> {
        Recorder::spawn(mode, output, extra, None, Stdio::null())
    }

    /// Like [`Recorder::start`], with the open-file limit (soft and hard)
    /// set to `nofile` first, as `ulimit -n` would.
    pub fn start_with_fd_limit(
        mode: &str,
        output: &Path,
        extra: &[&str],
        nofile: u64,
    ) -> Result<Recorder, RecorderError> {
        Recorder::spawn(mode, output, extra, Some(nofile), Stdio::null())
    }

    /// `record -m MODE -o - -p 0 EXTRA…` (the archive on standard output),
    /// once it listens, and the read end of its standard output.
    pub fn start_to_pipe(
        mode: &str,
        extra: &[&str],
    ) -> Result<(Recorder, ChildStdout), RecorderError> {
        let mut recorder = Recorder::spawn(mode, Path::new("-"), extra, None, Stdio::piped())?;
        let stdout = recorder.child.as_mut().and_then(|c| c.stdout.take());
        Ok((recorder, stdout.expect("stdout was piped")))
    }

    fn spawn(
        mode: &str,
        output: &Path,
        extra: &[&str],
        nofile: Option<u64>,
        stdout: Stdio,
    ) -> Result<Recorder, RecorderError> {
        let program = binaries::record()?;
        let mut command = match nofile {
            None => Command::new(&program),
            Some(n) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(&program);
                sh
            }
        };
        let mut child = command
            .args(["-m", mode, "-o"])
            .arg(output)
            .args(["-p", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .env_remove("ANTHROPIC_BASE_URL")
            .spawn()
            .map_err(|source| RecorderError::Spawn {
                program: program.display().to_string(),
                source,
            })?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let collector = child.stderr.take().map(|pipe| {
            let stderr = stderr.clone();
            std::thread::spawn(move || collect_stderr(pipe, stderr, tx))
        });
        let mut recorder = Recorder {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
            collector,
            output: output.to_owned(),
        };
        recorder.addr = recorder.wait_listening(rx)?;
        Ok(recorder)
    }

    fn wait_listening(
        &mut self,
        lines: mpsc::Receiver<SocketAddr>,
    ) -> Result<SocketAddr, RecorderError> {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            match lines.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => return Ok(addr),
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(RecorderError::NoListenLine {
                        limit: START_LIMIT,
                        stderr: self.stderr(),
                    })
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let child = self.child.as_mut();
                    let status = child.and_then(|c| c.wait().ok()).unwrap_or_default();
                    return Err(RecorderError::ExitedEarly {
                        status,
                        stderr: self.stderr(),
                    });
                }
            }
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`: the base URL a client uses.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The archive it writes.
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Everything it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// SIGINT, then wait (at most 15 s) for it to exit.
    pub async fn stop(self) -> Result<ExitStatus, RecorderError> {
        self.stop_with("-INT").await
    }

    /// Like [`Recorder::stop`], and everything it printed on stderr (its
    /// summary included).
    pub async fn stop_with_stderr(mut self) -> Result<(ExitStatus, String), RecorderError> {
        let collector = self.collector.take();
        let stderr = self.stderr.clone();
        let status = self.stop().await?;
        if let Some(collector) = collector {
            // Ends at end of file, which came with the exit.
            let _ = tokio::task::spawn_blocking(move || collector.join()).await;
        }
        let text = stderr.lock().map(|s| s.clone()).unwrap_or_default();
        Ok((status, text))
    }

    /// Sends `signal` (`-INT`, `-TERM`), then waits (at most 15 s).
    pub async fn stop_with(mut self, signal: &str) -> Result<ExitStatus, RecorderError> {
        let Some(mut child) = self.child.take() else {
            return Err(RecorderError::Signal(std::io::Error::other(
                "already stopped",
            )));
        };
        send_signal(child.id(), signal).map_err(RecorderError::Signal)?;
        let deadline = Instant::now() + STOP_LIMIT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(RecorderError::NoExit {
            limit: STOP_LIMIT,
            stderr: self.stderr(),
        })
    }

    /// SIGKILL: a crash, with no chance to write the archive's tail.
    pub fn kill9(mut self) -> Result<ExitStatus, RecorderError> {
        let mut child = self
            .child
            .take()
            .ok_or_else(|| RecorderError::Signal(std::io::Error::other("already stopped")))?;
        child.kill().map_err(RecorderError::Signal)?;
        child.wait().map_err(RecorderError::Signal)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = send_signal(child.id(), "-INT");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Sends a signal with `kill(1)`: no unsafe code, no extra crate.
pub fn send_signal(pid: u32, signal: &str) -> std::io::Result<()> {
    let status = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "kill {signal} {pid} failed: {status}"
        )))
    }
}

/// Reads stderr lines, keeps them, and reports the listening address once.
fn collect_stderr(
    pipe: std::process::ChildStderr,
    keep: Arc<Mutex<String>>,
    found: mpsc::Sender<SocketAddr>,
) {
    let mut reported = false;
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        if !reported {
            if let Some(addr) = listening_addr(&line) {
                reported = found.send(addr).is_ok();
            }
        }
        if let Ok(mut all) = keep.lock() {
            all.push_str(&line);
            all.push('\n');
        }
    }
}

/// The address in a `… listening on http://HOST:PORT …` line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    let hostport: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '/' && *c != ',' && *c != ')')
        .collect();
    let hostport = hostport.replace("localhost", "127.0.0.1");
    hostport.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_the_listening_line() {
        let addr =
            listening_addr("record: listening on http://127.0.0.1:41234 (reverse → http://x)");
        assert_eq!(addr, Some(SocketAddr::from(([127, 0, 0, 1], 41234))));
        assert_eq!(
            listening_addr("listening on http://127.0.0.1:80/"),
            Some(SocketAddr::from(([127, 0, 0, 1], 80)))
        );
        assert_eq!(listening_addr("starting"), None);
    }
}
