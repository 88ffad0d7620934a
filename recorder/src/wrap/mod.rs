//! Wrapping a command: run it against the proxy, end with it.
//!
//! The child inherits the terminal and gets the environment that sends it
//! through the proxy ([`crate::wrap::child_env`]). A SIGINT or SIGTERM that reaches `record` is passed on to the
//! child (a second one kills it); `record` stops when the child exits and
//! exits with its status.

pub mod child_env;

use crate::wrap::child_env::Var;
use std::ffi::OsString;
use std::os::fd::AsFd;
use std::process::{ExitStatus, Stdio};
use tokio::process::Command;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Why the command could not be run.
#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    #[error("cannot start '{program}': {source} (is it installed and on PATH?)")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("command not found: '{0}' (is it installed and on PATH?); nothing was recorded")]
    NotFound(String),
    #[error("lost track of '{program}': {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

/// SIGINT and SIGTERM, installed once at start so neither kills `record`
/// before it has written the archive's tail.
pub struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    pub fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    /// The next signal's number.
    pub async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => libc::SIGINT,
            _ = self.term.recv() => libc::SIGTERM,
        }
    }
}

/// Finds the command's program as `execvp` would (on `PATH` unless the name
/// has a `/`), so a typo is reported before any archive is created.
pub fn locate(command: &[OsString]) -> Result<(), WrapError> {
    use std::os::unix::fs::PermissionsExt;
    let program = command.first().cloned().unwrap_or_default();
    let runnable = |path: &std::path::Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let path = std::path::Path::new(&program);
    let found = if program.as_encoded_bytes().contains(&b'/') {
        runnable(path)
    } else {
        let dirs = std::env::var_os("PATH").unwrap_or_default();
        !program.is_empty() && std::env::split_paths(&dirs).any(|dir| runnable(&dir.join(path)))
    };
    match found {
        true => Ok(()),
        false => Err(WrapError::NotFound(program.to_string_lossy().into_owned())),
    }
}

/// Runs the command to its end; returns its exit status.
/// With `stdout_to_stderr` (the archive goes to standard output) the
/// child's output goes to stderr, so it cannot corrupt the archive.
pub async fn run(
    command: &[OsString],
    env: &[Var],
    stdout_to_stderr: bool,
    signals: &mut Signals,
) -> Result<ExitStatus, WrapError> {
    let program = command
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut cmd = Command::new(command.first().map_or_else(OsString::new, Clone::clone));
    cmd.args(command.iter().skip(1)).kill_on_drop(true);
    // record ignores SIGXFSZ (see main.rs); an ignored signal survives exec,
    // so give the command the default back.
    // Nor does it keep record's raised open-file limit (front/limits.rs).
    let fd_limit =
        crate::front::limits::STARTING_FD_LIMIT.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: signal(2), getrlimit(2) and setrlimit(2) are async-signal-safe,
    // as pre_exec requires.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if fd_limit > 0 && libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur = fd_limit;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
            Ok(())
        });
    }
    for (key, value) in env {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    if stdout_to_stderr {
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            cmd.stdout(Stdio::from(fd));
        }
    }
    let mut child = cmd.spawn().map_err(|source| WrapError::Spawn {
        program: program.clone(),
        source,
    })?;
    let mut signalled = false;
    loop {
        tokio::select! {
            status = child.wait() => {
                return status.map_err(|source| WrapError::Wait { program, source });
            }
            sig = signals.recv() => {
                if signalled {
                    tracing::info!("second signal: killing the command");
                    let _ = child.start_kill();
                } else if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                    // A terminal's Ctrl-C reaches the child too; a `kill` aimed
                    // at record alone must also stop it.
                    // SAFETY: kill(2) with a pid we spawned and a valid signal.
                    unsafe { libc::kill(pid, sig) };
                }
                signalled = true;
            }
        }
    }
}

/// The exit code `record` passes on: the child's, or 128+N for signal N.
pub fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_the_command_with_the_base_url_and_returns_its_status() {
        let mut signals = Signals::install().unwrap();
        let cmd: Vec<OsString> = [
            "sh",
            "-c",
            r#"test "$ANTHROPIC_BASE_URL" = http://127.0.0.1:1 && exit 7"#,
        ]
        .iter()
        .map(Into::into)
        .collect();
        let env = [(
            "ANTHROPIC_BASE_URL".to_owned(),
            Some("http://127.0.0.1:1".into()),
        )];
        let status = run(&cmd, &env, false, &mut signals).await.unwrap();
        assert_eq!(exit_code(status), 7);
        let killed = run(
            &[
                "sh".into(),
                "-c".into(),
                "echo to-stderr; kill -9 $$".into(),
            ],
            &[],
            true,
            &mut signals,
        )
        .await
        .unwrap();
        assert_eq!(exit_code(killed), 128 + 9);
    }

    #[test]
    fn programs_are_found_as_execvp_finds_them() {
        assert!(locate(&["sh".into()]).is_ok());
        assert!(locate(&["/bin/sh".into(), "-c".into()]).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let not_runnable = dir.path().join("script.sh");
        std::fs::write(&not_runnable, "echo hi").unwrap();
        let not_runnable = not_runnable.display().to_string();
        for missing in ["cctap-no-such-program", "/no/such/cmd", &not_runnable, ""] {
            let err = locate(&[missing.into()]).unwrap_err();
            assert!(
                err.to_string().contains("command not found"),
                "{missing}: {err}"
            );
        }
    }

    #[tokio::test]
    async fn a_missing_program_says_so() {
        let mut signals = Signals::install().unwrap();
        let err = run(&["cctap-no-such-program".into()], &[], false, &mut signals)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot start 'cctap-no-such-program'"),
            "{err}"
        );
    }
}
