//! Coarse alarms for the two timeouts (`--client-timeout`,
//! `--upstream-timeout`): one alarm per connection, all checked by one
//! sweeper task.
//!
//! Each request used to arm two of tokio's timers (hyper's header-read timer
//! and the wait for the upstream's head), each a lock on the timer wheel to
//! insert it and another to take it out when the request went on in time, as
//! nearly all do; with both switched off record served ~4% more requests
//! under 16 connections (bench/README.md, "Throughput: one alarm per
//! connection"). An [`Alarm`] belongs to a connection and is registered once,
//! when the connection opens; arming it for a request is a store and its
//! own waker's lock (no other thread takes it unless the alarm fires),
//! disarming it a compare-and-swap. The [`Alarms`] sweeper looks at every
//! armed alarm once per period (an eighth of the shortest limit, at most a
//! second) and wakes those whose deadline has passed: a timeout fires up to
//! one period late, never early.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The longest the sweeper sleeps: a 30 s client timeout fires within 31 s.
const MAX_PERIOD: Duration = Duration::from_secs(1);
/// The shortest: limits under 40 ms are checked every 5 ms.
const MIN_PERIOD: Duration = Duration::from_millis(5);

/// Set in an alarm's state once the sweeper has found its deadline passed.
const FIRED: u64 = 1 << 63;

/// Every connection's alarm, and how often they are checked. Cloning gives
/// another handle to the same alarms.
#[derive(Clone)]
pub struct Alarms {
    shared: Arc<Registry>,
}

struct Registry {
    /// Deadlines are kept as microseconds since this instant.
    epoch: Instant,
    /// The sweeper's period in microseconds ([`Alarms::fit`]).
    period_us: AtomicU64,
    alarms: Mutex<Vec<Weak<Alarm>>>,
}

impl Alarms {
    /// Starts the sweeper on the current tokio runtime; it stops when the
    /// last handle is dropped.
    pub fn start() -> Alarms {
        let alarms = Alarms::unswept();
        tokio::spawn(sweep_forever(Arc::downgrade(&alarms.shared)));
        alarms
    }

    /// Alarms no task sweeps (tests sweep by hand).
    fn unswept() -> Alarms {
        Alarms {
            shared: Arc::new(Registry {
                epoch: Instant::now(),
                period_us: AtomicU64::new(micros(MAX_PERIOD)),
                alarms: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Makes the sweeper look often enough for `limit` to fire within an
    /// eighth of it (`None`: no limit, nothing to fit).
    pub fn fit(&self, limit: Option<Duration>) {
        if let Some(limit) = limit {
            let period = (limit / 8).clamp(MIN_PERIOD, MAX_PERIOD);
            self.shared
                .period_us
                .fetch_min(micros(period), Ordering::Relaxed);
        }
    }

    /// How often the sweeper looks.
    #[cfg(test)]
    fn period(&self) -> Duration {
        Duration::from_micros(self.shared.period_us.load(Ordering::Relaxed))
    }

    /// A new alarm, for one connection's life.
    pub fn alarm(&self) -> Arc<Alarm> {
        let alarm = Arc::new(Alarm {
            epoch: self.shared.epoch,
            state: AtomicU64::new(0),
            waker: Mutex::new(None),
        });
        if let Ok(mut all) = self.shared.alarms.lock() {
            all.push(Arc::downgrade(&alarm));
        }
        alarm
    }

    /// [`Registry::sweep`], for tests that sweep by hand.
    #[cfg(test)]
    fn sweep(&self, now: Instant) {
        self.shared.sweep(now);
    }
}

impl Registry {
    /// Fires every armed alarm whose deadline is before `now`, and forgets
    /// the alarms whose connection is gone.
    fn sweep(&self, now: Instant) {
        let now = ticks(self.epoch, now);
        let due: Vec<Arc<Alarm>> = match self.alarms.lock() {
            Ok(mut all) => {
                let mut due = Vec::new();
                all.retain(|weak| match weak.upgrade() {
                    Some(alarm) => {
                        if alarm.is_due(now) {
                            due.push(alarm);
                        }
                        true
                    }
                    None => false,
                });
                due
            }
            Err(_) => return,
        };
        // Woken outside the registry's lock: a woken task may open a
        // connection, which registers an alarm.
        for alarm in due {
            alarm.fire(now);
        }
    }
}

async fn sweep_forever(registry: Weak<Registry>) {
    loop {
        let Some(period) = registry
            .upgrade()
            .map(|r| Duration::from_micros(r.period_us.load(Ordering::Relaxed)))
        else {
            return;
        };
        tokio::time::sleep(period).await;
        match registry.upgrade() {
            Some(r) => r.sweep(Instant::now()),
            None => return,
        }
    }
}

/// One connection's alarm: armed by at most one [`Ring`] at a time.
pub struct Alarm {
    epoch: Instant,
    /// 0: not armed; else the deadline in ticks, with [`FIRED`] once it
    /// has passed.
    state: AtomicU64,
    /// Who to wake when it fires.
    waker: Mutex<Option<Waker>>,
}

impl Alarm {
    /// A future that completes once `deadline` has passed (found so by the
    /// sweeper, so up to one period late). Arms this alarm when first
    /// polled; a later ring on the same alarm takes it over.
    pub fn ring_at(self: &Arc<Self>, deadline: Instant) -> Ring {
        Ring {
            alarm: self.clone(),
            at: ticks(self.epoch, deadline),
        }
    }

    fn is_due(&self, now: u64) -> bool {
        let state = self.state.load(Ordering::Acquire);
        state != 0 && state & FIRED == 0 && state <= now
    }

    fn fire(&self, now: u64) {
        let state = self.state.load(Ordering::Acquire);
        if state == 0 || state & FIRED != 0 || state > now {
            return;
        }
        // Only the ring that armed it: a new one may have taken over since.
        if self
            .state
            .compare_exchange(state, state | FIRED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            if let Some(waker) = self.waker.lock().ok().and_then(|mut w| w.take()) {
                waker.wake();
            }
        }
    }
}

/// Microseconds from `epoch` to `at`, at least 1 (0 means "not armed") and
/// below [`FIRED`].
fn ticks(epoch: Instant, at: Instant) -> u64 {
    micros(at.saturating_duration_since(epoch)).clamp(1, FIRED - 1)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Completes when its alarm fires for it; see [`Alarm::ring_at`].
pub struct Ring {
    alarm: Arc<Alarm>,
    /// The deadline, in the alarm's ticks.
    at: u64,
}

impl Ring {
    /// Moves the deadline (re-armed at the next poll).
    pub fn reset(&mut self, deadline: Instant) {
        self.disarm();
        self.at = ticks(self.alarm.epoch, deadline);
    }

    /// Whether this ring's deadline is `deadline` (to the microsecond).
    pub fn is_at(&self, deadline: Instant) -> bool {
        self.at == ticks(self.alarm.epoch, deadline)
    }

    fn disarm(&self) {
        for armed in [self.at, self.at | FIRED] {
            let _ =
                self.alarm
                    .state
                    .compare_exchange(armed, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
    }
}

impl Future for Ring {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let alarm = &this.alarm;
        let state = alarm.state.load(Ordering::Acquire);
        if state == this.at | FIRED {
            return Poll::Ready(());
        }
        // The waker before the deadline: once the sweeper sees the deadline
        // it finds whom to wake.
        if let Ok(mut slot) = alarm.waker.lock() {
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        if state != this.at {
            alarm.state.store(this.at, Ordering::Release);
        }
        Poll::Pending
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// hyper's timer for one served connection (its header-read timeout),
/// ringing that connection's alarm.
#[derive(Clone)]
pub struct ConnTimer(pub Arc<Alarm>);

impl hyper::rt::Timer for ConnTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = Instant::now()
            .checked_add(duration)
            .unwrap_or_else(far_future);
        self.sleep_until(deadline)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(self.0.ring_at(deadline))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        *sleep = self.sleep_until(new_deadline);
    }
}

impl hyper::rt::Sleep for Ring {}

/// A deadline no run reaches.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

#[cfg(test)]
mod tests;
