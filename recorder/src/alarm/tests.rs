use super::*;
use std::sync::atomic::AtomicUsize;
use std::task::Wake;

/// Counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn woken(count: &Arc<Count>) -> usize {
    count.0.load(Ordering::SeqCst)
}

fn poll(ring: &mut Ring, count: &Arc<Count>) -> Poll<()> {
    let waker = Waker::from(count.clone());
    Pin::new(ring).poll(&mut Context::from_waker(&waker))
}

const MS: Duration = Duration::from_millis(1);

/// Alarms swept by hand, one connection's alarm, and the time to count from.
fn one_alarm() -> (Alarms, Arc<Alarm>, Instant) {
    let alarms = Alarms::unswept();
    let alarm = alarms.alarm();
    (alarms, alarm, Instant::now())
}

#[test]
fn a_ring_completes_once_the_sweep_finds_its_deadline_passed() {
    let (alarms, alarm, t0) = one_alarm();
    let count = Arc::new(Count::default());
    let mut ring = alarm.ring_at(t0 + 100 * MS);
    assert!(poll(&mut ring, &count).is_pending());
    alarms.sweep(t0 + 99 * MS);
    assert_eq!(woken(&count), 0, "not before its deadline");
    assert!(poll(&mut ring, &count).is_pending());
    alarms.sweep(t0 + 100 * MS);
    assert_eq!(woken(&count), 1);
    assert!(poll(&mut ring, &count).is_ready());
    alarms.sweep(t0 + 200 * MS);
    assert_eq!(woken(&count), 1, "fired once");
}

#[test]
fn a_ring_never_polled_or_dropped_wakes_nobody() {
    let (alarms, alarm, t0) = one_alarm();
    let count = Arc::new(Count::default());
    let unpolled = alarm.ring_at(t0 + MS);
    alarms.sweep(t0 + 10 * MS);
    drop(unpolled);
    let mut ring = alarm.ring_at(t0 + 20 * MS);
    assert!(poll(&mut ring, &count).is_pending());
    drop(ring);
    assert_eq!(alarm.state.load(Ordering::SeqCst), 0, "disarmed");
    alarms.sweep(t0 + 30 * MS);
    assert_eq!(woken(&count), 0);
}

#[test]
fn an_old_ring_dropped_late_leaves_the_new_one_armed() {
    // A connection's next request arms the alarm while the previous
    // request's ring is still held.
    let (alarms, alarm, t0) = one_alarm();
    let (old_count, new_count) = (Arc::new(Count::default()), Arc::new(Count::default()));
    let mut old = alarm.ring_at(t0 + 10 * MS);
    assert!(poll(&mut old, &old_count).is_pending());
    let mut new = alarm.ring_at(t0 + 50 * MS);
    assert!(poll(&mut new, &new_count).is_pending());
    drop(old);
    alarms.sweep(t0 + 20 * MS);
    assert_eq!(
        woken(&new_count),
        0,
        "the old deadline is not the new one's"
    );
    alarms.sweep(t0 + 50 * MS);
    assert_eq!(woken(&new_count), 1);
    assert!(poll(&mut new, &new_count).is_ready());
    assert_eq!(woken(&old_count), 0);
}

#[test]
fn a_reset_ring_waits_for_its_new_deadline() {
    let (alarms, alarm, t0) = one_alarm();
    let count = Arc::new(Count::default());
    let mut ring = alarm.ring_at(t0 + 10 * MS);
    assert!(poll(&mut ring, &count).is_pending());
    ring.reset(t0 + 40 * MS);
    assert!(ring.is_at(t0 + 40 * MS) && !ring.is_at(t0 + 10 * MS));
    alarms.sweep(t0 + 20 * MS);
    assert_eq!(woken(&count), 0, "not armed again before its next poll");
    assert!(poll(&mut ring, &count).is_pending());
    alarms.sweep(t0 + 30 * MS);
    assert_eq!(woken(&count), 0);
    alarms.sweep(t0 + 40 * MS);
    assert_eq!(woken(&count), 1);
    assert!(poll(&mut ring, &count).is_ready());
}

#[test]
fn alarms_of_closed_connections_are_forgotten() {
    let alarms = Alarms::unswept();
    let kept = alarms.alarm();
    for _ in 0..10 {
        drop(alarms.alarm());
    }
    assert_eq!(alarms.shared.alarms.lock().unwrap().len(), 11);
    alarms.sweep(Instant::now());
    assert_eq!(alarms.shared.alarms.lock().unwrap().len(), 1);
    drop(kept);
}

#[test]
fn the_period_is_an_eighth_of_the_shortest_limit_within_bounds() {
    let alarms = Alarms::unswept();
    assert_eq!(alarms.period(), Duration::from_secs(1));
    alarms.fit(None);
    alarms.fit(Some(Duration::from_secs(600)));
    assert_eq!(alarms.period(), Duration::from_secs(1), "at most a second");
    alarms.fit(Some(Duration::from_secs(1)));
    assert_eq!(alarms.period(), 125 * MS);
    alarms.fit(Some(Duration::from_secs(30)));
    assert_eq!(alarms.period(), 125 * MS, "the shortest limit wins");
    alarms.fit(Some(10 * MS));
    assert_eq!(alarms.period(), 5 * MS, "at least 5 ms");
}

#[tokio::test]
async fn the_sweeper_rings_within_a_period_of_the_deadline() {
    let alarms = Alarms::start();
    alarms.fit(Some(Duration::from_millis(160)));
    let alarm = alarms.alarm();
    let t0 = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), alarm.ring_at(t0 + 160 * MS))
        .await
        .expect("the sweeper rings it");
    let took = t0.elapsed();
    // 20 ms periods; the upper bound leaves room for a busy machine.
    assert!(
        took >= 160 * MS && took < 160 * MS + Duration::from_secs(1),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_sweeper_stops_with_the_last_handle() {
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = tasks();
    let alarms = Alarms::start();
    alarms.fit(Some(10 * MS));
    assert_eq!(tasks(), before + 1, "the sweeper runs");
    let registry = Arc::downgrade(&alarms.shared);
    drop(alarms);
    assert!(registry.upgrade().is_none(), "the task holds no handle");
    // It sleeps its period (up to the 1 s it started with), then ends.
    let until = Instant::now() + Duration::from_secs(5);
    while tasks() > before && Instant::now() < until {
        tokio::time::sleep(10 * MS).await;
    }
    assert_eq!(tasks(), before, "the sweeper ended");
}
