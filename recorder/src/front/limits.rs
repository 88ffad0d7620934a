//! What keeps the front available whatever clients do: the
//! open-file limit raised at start, a cap on client connections derived
//! from it, a client timeout (slowloris, idle keep-alive), and warnings that
//! are said once and then counted instead of flooding the log.
use crate::status::Stats;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// How long a client may take to send a whole request head, from
/// connecting or from its previous response (`--client-timeout`).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// File descriptors kept back from the connection cap: the listener, the
/// archive, spill files, the CA, logs.
const RESERVED_FDS: u64 = 64;

/// The soft open-file limit record started with, when it raised it; the
/// wrapped command gets it back (`wrap/mod.rs`), as if record were not there.
pub static STARTING_FD_LIMIT: AtomicU64 = AtomicU64::new(0);

/// How the front treats clients.
#[derive(Clone, Copy, Debug)]
pub struct FrontLimits {
    /// A connection with no complete request head for this long (slow,
    /// or idle between requests) is closed; `None`: never.
    pub client_timeout: Option<Duration>,
    /// Client connections served at once; past it, new ones get `503`.
    pub max_connections: usize,
}

impl Default for FrontLimits {
    fn default() -> FrontLimits {
        FrontLimits {
            client_timeout: Some(CLIENT_TIMEOUT),
            max_connections: derived_cap(open_file_limit()),
        }
    }
}

/// Raises the soft limit on open files to the hard one: a desktop's
/// default 1024 is a few hundred idle clients for a proxy. Returns the
/// limit now in force.
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let soft = lim.rlim_cur;
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                STARTING_FD_LIMIT.store(soft, Relaxed);
                tracing::debug!(from = soft, to = lim.rlim_max, "raised the open-file limit");
                return lim.rlim_max;
            }
        }
        lim.rlim_cur
    }
}

/// The soft open-file limit in force.
fn open_file_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct given.
    match unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } {
        0 => lim.rlim_cur,
        _ => 1024,
    }
}

/// Client connections that fit in `fd_limit` open files: each may hold an
/// upstream connection too, and some are kept back ([`RESERVED_FDS`]).
pub fn derived_cap(fd_limit: u64) -> usize {
    let cap = fd_limit.saturating_sub(RESERVED_FDS) / 2;
    usize::try_from(cap.clamp(8, 1 << 20)).unwrap_or(1 << 20)
}

/// A trouble said once with a remedy, then counted, the count said again
/// at most once a minute (accept failures, connections over the cap).
#[derive(Default)]
pub struct SaidOnce {
    count: u64,
    said_at: Option<Instant>,
    said_count: u64,
}

impl SaidOnce {
    /// Counts one; says `what` (with the counts) when due.
    pub fn note(&mut self, stats: &Stats, what: impl FnOnce() -> String) {
        self.count += 1;
        let due = self
            .said_at
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if !due {
            return;
        }
        let since = match self.said_at {
            Some(_) => format!(", {} since the last warning", self.count - self.said_count),
            None => String::new(),
        };
        stats.say(&format!(
            "record: warning: {} ({} so far{since})",
            what(),
            self.count
        ));
        self.said_at = Some(Instant::now());
        self.said_count = self.count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_upstream_connections() {
        assert_eq!(derived_cap(1024), 480);
        assert_eq!(derived_cap(10), 8, "never below a handful");
        assert_eq!(derived_cap(u64::MAX), 1 << 20);
    }

    #[test]
    fn a_trouble_is_said_once_then_counted() {
        let stats = Stats::default();
        let mut said = SaidOnce::default();
        let mut times = 0;
        for _ in 0..1000 {
            said.note(&stats, || {
                times += 1;
                "cannot accept".into()
            });
        }
        assert_eq!((times, said.count), (1, 1000));
    }
}
