//! Shutdown in two steps, watched by every connection.
//!
//! [`Phase::Draining`]: stop accepting, let connections finish what they
//! are serving (hyper's graceful shutdown closes idle keep-alive ones).
//! [`Phase::CutOff`]: the grace period is over; connections drop what is
//! still in flight, and those exchanges are archived with
//! `_error: "cut off at shutdown"`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    Draining,
    CutOff,
}

/// The switch, held by the code that decides to stop.
pub struct Shutdown {
    tx: watch::Sender<Phase>,
    /// Mirrors `CutOff` for code that asks rather than waits (exchanges).
    cut_off: Arc<AtomicBool>,
}

impl Shutdown {
    /// A switch; exchanges learn of the cut-off through `cut_off`.
    pub fn new(cut_off: Arc<AtomicBool>) -> Shutdown {
        Shutdown {
            tx: watch::channel(Phase::Running).0,
            cut_off,
        }
    }

    pub fn watcher(&self) -> Watcher {
        Watcher(self.tx.subscribe())
    }

    pub fn set(&self, phase: Phase) {
        if phase == Phase::CutOff {
            self.cut_off.store(true, Ordering::Relaxed);
        }
        self.tx.send_if_modified(|p| {
            let later = phase > *p;
            if later {
                *p = phase;
            }
            later
        });
    }
}

/// What connections hold to learn of shutdown.
#[derive(Clone)]
pub struct Watcher(watch::Receiver<Phase>);

impl Watcher {
    /// Resolves once shutdown has reached `phase` (or the switch is gone).
    pub async fn reached(&mut self, phase: Phase) {
        let _ = self.0.wait_for(|p| *p >= phase).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn watchers_see_each_phase_once_reached() {
        let flag = Arc::new(AtomicBool::new(false));
        let s = Shutdown::new(flag.clone());
        let mut w = s.watcher();
        let early =
            tokio::time::timeout(Duration::from_millis(20), w.reached(Phase::Draining)).await;
        assert!(early.is_err(), "not draining yet");
        s.set(Phase::CutOff);
        tokio::time::timeout(Duration::from_secs(1), w.reached(Phase::Draining))
            .await
            .unwrap();
        assert!(flag.load(Ordering::Relaxed));
        s.set(Phase::Draining);
        tokio::time::timeout(Duration::from_secs(1), w.reached(Phase::CutOff))
            .await
            .unwrap();
    }
}
