//! Processes the benchmark starts: the upstream, the proxies, the load
//! generators. Each is killed when its handle is dropped, so nothing outlives
//! the run; CPU time and RSS come from `/proc/PID/stat` and `/proc/PID/status`,
//! and a measured run's peak RSS from `wait4`'s rusage.

use anyhow::{bail, Context};
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A started process, killed (SIGKILL) on drop unless it was stopped.
pub struct Proc {
    pub name: String,
    child: Child,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr sent to `log` (a file path).
    pub fn spawn(name: &str, cmd: &mut Command, log: &std::path::Path) -> anyhow::Result<Proc> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {name} ({cmd:?}): is it built/installed?"))?;
        Ok(Proc {
            name: name.to_owned(),
            child,
        })
    }

    /// Starts `cmd` and waits for the line `listening on http://127.0.0.1:PORT`
    /// on its stdout; returns the port.
    pub fn spawn_listening(name: &str, cmd: &mut Command) -> anyhow::Result<(Proc, u16)> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {name}: is it built?"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut proc = Proc {
            name: name.to_owned(),
            child,
        };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .with_context(|| {
                format!("{name} printed {line:?}, not `listening on http://127.0.0.1:PORT`")
            })?;
        proc.wait_port(port, Duration::from_secs(10))?;
        Ok((proc, port))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until 127.0.0.1:port accepts connections, or the process dies.
    pub fn wait_port(&mut self, port: u16, limit: Duration) -> anyhow::Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before listening on port {port}",
                    self.name
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "{} did not listen on port {port} within {limit:?}",
            self.name
        )
    }

    /// User + system CPU seconds so far (`/proc/PID/stat` utime + stime).
    pub fn cpu_s(&self) -> f64 {
        cpu_s(self.pid()).unwrap_or(f64::NAN)
    }

    /// Resident set size now, in MiB (`VmRSS`).
    pub fn rss_mib(&self) -> f64 {
        status_kib(self.pid(), "VmRSS:").map_or(f64::NAN, |k| k as f64 / 1024.0)
    }

    /// Peak resident set size so far, in MiB (`VmHWM`).
    pub fn hwm_mib(&self) -> f64 {
        status_kib(self.pid(), "VmHWM:").map_or(f64::NAN, |k| k as f64 / 1024.0)
    }

    /// SIGINT, then waits up to `limit` for a clean exit (archive tail
    /// written); SIGKILL after that.
    pub fn stop(mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        signal(self.pid(), libc::SIGINT);
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        bail!(
            "{} did not stop within {limit:?} of SIGINT: killed",
            self.name
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a measured run cost: its own peak RSS and CPU, from `wait4`.
#[derive(Debug)]
pub struct Measured {
    pub status: ExitStatus,
    pub stdout: String,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub max_rss_mib: f64,
}

/// Runs `cmd` to its end (killed after `limit`), capturing stdout.
pub fn run_measured(cmd: &mut Command, limit: Duration) -> anyhow::Result<Measured> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let pid = child.id();
    let mut stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let watchdog = std::thread::spawn(move || {
        let step = Duration::from_millis(100);
        let mut waited = Duration::ZERO;
        while waited < limit {
            std::thread::sleep(step);
            waited += step;
            if !alive(pid) {
                return;
            }
        }
        signal(pid, libc::SIGKILL);
    });
    let (raw, usage) = wait4(pid)?;
    let _ = watchdog.join();
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Measured {
        status: ExitStatus::from_raw(raw),
        stdout: reader.join().unwrap_or_default(),
        wall_s: start.elapsed().as_secs_f64(),
        cpu_s: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_mib: usage.ru_maxrss as f64 / 1024.0,
    })
}

/// A free port on 127.0.0.1 (bound and released; fine on a quiet loopback).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `key=value` pairs of the last `RESULT` line a bench tool printed.
pub fn result_field(stdout: &str, key: &str) -> Option<f64> {
    let line = stdout.lines().rev().find(|l| l.starts_with("RESULT "))?;
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

fn wait4(pid: u32) -> anyhow::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid as i32, &mut status, 0, &mut usage) };
    if r < 0 {
        bail!("wait4({pid}) failed: {}", std::io::Error::last_os_error());
    }
    Ok((status, usage))
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: sends a signal to a process we started.
    unsafe { libc::kill(pid as i32, sig) };
}

fn cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
