//! The writer thread against disks that fill up or jam, and its two
//! outputs (HAR and flow file) fed from the one queue.
use super::*;
use crate::entry::{Recorded, ResponseHead};
use bytes::Bytes;
use cctap_archive::{
    AnyWriteError, AnyWriter, ArchiveReader, FlowReader, FlowWriteError, Format, Kind,
};
use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

fn head() -> LogHead {
    LogHead::new("cctap record", "test")
}

/// Accepts `budget` bytes, then fails as a full disk does.
struct FullDisk {
    budget: usize,
    written: Arc<Mutex<Vec<u8>>>,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.budget {
            return Err(std::io::Error::from_raw_os_error(28));
        }
        self.budget -= buf.len();
        self.written.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A disk that never fills; the test reads what landed on it.
fn disk() -> (FullDisk, Arc<Mutex<Vec<u8>>>) {
    let written = Arc::new(Mutex::new(Vec::new()));
    let disk = FullDisk {
        budget: usize::MAX,
        written: written.clone(),
    };
    (disk, written)
}

/// A disk that stalls every write while jammed.
#[derive(Clone, Default)]
struct Jam(Arc<(Mutex<bool>, Condvar)>);

impl Jam {
    fn set(&self, jammed: bool) {
        *self.0 .0.lock().unwrap() = jammed;
        self.0 .1.notify_all();
    }
}

impl Write for Jam {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (lock, cvar) = &*self.0;
        let _open = cvar
            .wait_while(lock.lock().unwrap(), |jammed| *jammed)
            .unwrap();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.write(&[]).map(|_| ())
    }
}

fn entry() -> Finished {
    exchange(0)
}

/// A finished exchange with a 4 KiB request body: absolute URL, a real
/// start, an answer; its entry is built on the writer thread.
fn exchange(n: usize) -> Finished {
    exchange_to(format!("https://api.example.test/v1/messages?n={n}"))
}

fn exchange_to(url: String) -> Finished {
    let mut rec = Recorded::new(
        "POST".into(),
        "HTTP/1.1",
        url,
        vec![("content-type".into(), "application/json".into())],
        None,
    );
    rec.request_body
        .push(Instant::now(), &Bytes::from(vec![b'x'; 4096]));
    rec.request_done = Some(Instant::now());
    rec.response = Some(ResponseHead {
        status: 200,
        reason: "OK".into(),
        headers: Vec::new(),
        head_size: None,
    });
    rec.response_at = Some(Instant::now());
    rec.response_done = Some(Instant::now());
    Finished::new(Box::new(rec), tracing::Span::none())
}

fn har_output(disk: impl Write + Send + 'static) -> Outputs {
    let w = AnyWriter::from_sink("t.har", Box::new(disk), Kind::Har(Format::Har), &head());
    Outputs::default()
        .with("-o", Path::new("t.har"), w)
        .unwrap()
}

/// `outputs` plus a flow file written to `disk`.
fn and_flows(outputs: Outputs, disk: impl Write + Send + 'static) -> Outputs {
    let w = AnyWriter::from_sink("t.flows", Box::new(disk), Kind::Flows, &head());
    outputs.with("-w", Path::new("t.flows"), w).unwrap()
}

fn urls_in_har(bytes: &[u8]) -> Vec<String> {
    let reader =
        ArchiveReader::from_reader("t.har", Box::new(Cursor::new(bytes.to_vec()))).unwrap();
    reader.map(|e| e.unwrap().har.request.url).collect()
}

fn urls_in_flows(bytes: &[u8]) -> Vec<String> {
    let mut reader =
        FlowReader::from_reader("t.flows", Box::new(Cursor::new(bytes.to_vec()))).unwrap();
    let urls = reader
        .by_ref()
        .map(|e| e.unwrap().har.request.url)
        .collect();
    assert!(reader.cut_off().is_none());
    urls
}

#[test]
fn a_full_disk_is_reported_and_counted_and_never_blocks() {
    let stats = Arc::new(Stats::default());
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink_bytes = written.clone();
    let (sink, thread) = start_with(
        move || {
            let disk = FullDisk {
                budget: 1024,
                written: sink_bytes,
            };
            Ok(har_output(disk))
        },
        stats.clone(),
        8 * entry().weight(),
    )
    .unwrap();
    for _ in 0..3 {
        sink.submit(entry(), true);
    }
    let closed = thread.finish();
    assert!(
        closed[0].error.is_some(),
        "the write error is returned at the end"
    );
    assert_eq!(stats.not_archived.load(Relaxed), 3);
    assert!(
        String::from_utf8_lossy(&written.lock().unwrap()).starts_with("{"),
        "the head was written"
    );
}

/// A writer whose queue holds three [`entry`]s, its disk jammed.
fn jammed_with_room_for_three() -> (Arc<Stats>, Jam, ArchiveSink, ArchiveThread) {
    let stats = Arc::new(Stats::default());
    let jam = Jam::default();
    let disk = jam.clone();
    let queue = 3 * entry().weight();
    let (sink, thread) = start_with(move || Ok(har_output(disk)), stats.clone(), queue).unwrap();
    jam.set(true);
    (stats, jam, sink, thread)
}

#[test]
fn a_full_queue_drops_and_counts_the_entries_of_exchanges_that_were_not_let_in() {
    let (stats, jam, sink, thread) = jammed_with_room_for_three();
    let started = std::time::Instant::now();
    for _ in 0..12 {
        sink.submit(entry(), false);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "submit never waits"
    );
    // Three entries' bytes, counted until written: the one in the jammed
    // writer's hands and two queued.
    let lost = stats.not_archived.load(Relaxed);
    assert_eq!(lost, 9, "not archived");
    jam.set(false);
    let closed = thread.finish();
    assert!(closed[0].error.is_none(), "{closed:?}");
    assert_eq!(
        stats.not_archived.load(Relaxed),
        lost,
        "what was queued got written"
    );
}

#[test]
fn entries_of_exchanges_let_in_are_kept_past_the_budget_up_to_its_overdraft() {
    let (stats, jam, sink, thread) = jammed_with_room_for_three();
    let kept = 3 * budget::OVERDRAFT;
    for _ in 0..kept + 2 {
        sink.submit(entry(), true);
    }
    assert_eq!(
        stats.not_archived.load(Relaxed),
        2,
        "only past the overdraft"
    );
    jam.set(false);
    let closed = thread.finish();
    assert_eq!(closed[0].written, kept, "{closed:?}");
    assert_eq!(stats.not_archived.load(Relaxed), 2);
}

#[test]
fn both_outputs_get_every_entry_in_the_same_order() {
    let stats = Arc::new(Stats::default());
    let (har_disk, har_bytes) = disk();
    let (flow_disk, flow_bytes) = disk();
    let (sink, thread) = start_with(
        move || Ok(and_flows(har_output(har_disk), flow_disk)),
        stats.clone(),
        8 * entry().weight(),
    )
    .unwrap();
    for n in [2, 0, 1] {
        sink.submit(exchange(n), true);
    }
    let closed = thread.finish();
    assert_eq!(closed.len(), 2);
    for c in &closed {
        assert!(c.error.is_none(), "{c:?}");
        assert_eq!(c.written, 3, "{c:?}");
    }
    assert_eq!((closed[0].what, closed[1].what), ("exchanges", "flows"));
    let har = urls_in_har(&har_bytes.lock().unwrap());
    assert_eq!(har, urls_in_flows(&flow_bytes.lock().unwrap()));
    assert!(
        har[0].ends_with("n=2") && har[2].ends_with("n=1"),
        "{har:?}"
    );
    assert_eq!(stats.not_archived.load(Relaxed), 0);
}

#[test]
fn a_full_disk_under_the_flow_file_leaves_the_har_going() {
    let stats = Arc::new(Stats::default());
    let (har_disk, har_bytes) = disk();
    let flow_bytes = Arc::new(Mutex::new(Vec::new()));
    let full = FullDisk {
        budget: 6000,
        written: flow_bytes.clone(),
    };
    let (sink, thread) = start_with(
        move || Ok(and_flows(har_output(har_disk), full)),
        stats.clone(),
        8 * entry().weight(),
    )
    .unwrap();
    for n in 0..4 {
        sink.submit(exchange(n), true);
    }
    let closed = thread.finish();
    assert!(closed[0].error.is_none(), "the HAR is whole: {closed:?}");
    assert_eq!(closed[0].written, 4);
    let flows = &closed[1];
    assert!(
        matches!(
            flows.error,
            Some(OutputError {
                flag: "-w",
                source: AnyWriteError::Flows(FlowWriteError::Io { .. })
            })
        ),
        "{flows:?}"
    );
    assert_eq!(urls_in_har(&har_bytes.lock().unwrap()).len(), 4);
    let kept = urls_in_flows(&flow_bytes.lock().unwrap());
    assert_eq!(
        kept.len(),
        flows.written,
        "what was written before the disk filled loads"
    );
    assert!(flows.written < 4);
    assert_eq!(
        stats.not_archived.load(Relaxed),
        (4 - flows.written) as u64,
        "each exchange missing from the flow file is counted once"
    );
}

#[test]
fn an_entry_that_cannot_be_a_flow_is_skipped_there_only() {
    let stats = Arc::new(Stats::default());
    let (har_disk, har_bytes) = disk();
    let (flow_disk, flow_bytes) = disk();
    let (sink, thread) = start_with(
        move || Ok(and_flows(har_output(har_disk), flow_disk)),
        stats.clone(),
        8 * entry().weight(),
    )
    .unwrap();
    let odd = exchange_to("/v1/messages".into());
    for e in [exchange(0), odd, exchange(2)] {
        sink.submit(e, true);
    }
    let closed = thread.finish();
    assert!(closed.iter().all(|c| c.error.is_none()), "{closed:?}");
    assert_eq!((closed[0].written, closed[1].written), (3, 2));
    assert_eq!(urls_in_har(&har_bytes.lock().unwrap()).len(), 3);
    let flows = urls_in_flows(&flow_bytes.lock().unwrap());
    assert!(
        flows[1].ends_with("n=2"),
        "the next flow is written: {flows:?}"
    );
    assert_eq!(stats.not_archived.load(Relaxed), 1);
}

#[test]
fn flows_alone_write_no_har_and_a_plus_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.flows");
    let targets = |append| Targets {
        har: None,
        flows: Some(FlowTarget {
            path: path.clone(),
            append,
        }),
    };
    for (append, n) in [(false, 0), (true, 1), (true, 2)] {
        let stats = Arc::new(Stats::default());
        let (sink, thread) = start(&targets(append), head(), stats).unwrap();
        sink.submit(exchange(n), true);
        let closed = thread.finish();
        assert_eq!(closed.len(), 1);
        assert!(closed[0].error.is_none(), "{closed:?}");
    }
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(urls_in_flows(&bytes).len(), 3, "+FILE appended twice");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["s.flows"], "no HAR was created");
    // Without +, the file starts over.
    let (sink, thread) = start(&targets(false), head(), Arc::new(Stats::default())).unwrap();
    sink.submit(exchange(3), true);
    thread.finish();
    assert_eq!(urls_in_flows(&std::fs::read(&path).unwrap()).len(), 1);
}

#[test]
fn an_output_that_cannot_be_created_is_an_error_naming_its_flag() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/x");
    let flows = Targets {
        har: None,
        flows: Some(FlowTarget {
            path: missing.clone(),
            append: false,
        }),
    };
    let Err(e) = start(&flows, head(), Arc::new(Stats::default())) else {
        panic!("created a flow file in a missing directory");
    };
    assert_eq!(e.flag, "-w");
    assert!(e.to_string().contains("no/such/dir"), "{e}");
    let har = Targets {
        har: Some(missing),
        flows: None,
    };
    let Err(e) = start(&har, head(), Arc::new(Stats::default())) else {
        panic!("created a HAR in a missing directory");
    };
    assert_eq!(e.flag, "-o");
}

#[test]
fn targets_describe_themselves() {
    let both = Targets {
        har: Some("a.har.zst".into()),
        flows: Some(FlowTarget {
            path: "-".into(),
            append: false,
        }),
    };
    assert_eq!(both.describe(), "a.har.zst + - (mitmproxy flows)");
    assert!(both.to_stdout());
    let har = Targets {
        har: Some("a.har".into()),
        flows: None,
    };
    assert!(!har.to_stdout());
}

#[test]
fn the_writer_goes_on_after_an_idle_pause() {
    let stats = Arc::new(Stats::default());
    let (har_disk, har_bytes) = disk();
    let (sink, thread) = start_with(
        move || Ok(har_output(har_disk)),
        stats.clone(),
        8 * entry().weight(),
    )
    .unwrap();
    sink.submit(exchange(1), true);
    // Past the idle time, so the writer has given memory back once.
    std::thread::sleep(trim::IDLE * 2);
    sink.submit(exchange(2), true);
    let closed = thread.finish();
    assert_eq!(closed[0].written, 2, "{closed:?}");
    assert_eq!(urls_in_har(&har_bytes.lock().unwrap()).len(), 2);
    assert_eq!(stats.not_archived.load(Relaxed), 0);
}

/// A disk that counts its flushes and stalls while jammed.
#[derive(Clone, Default)]
struct CountingDisk {
    jam: Jam,
    flushes: Arc<std::sync::atomic::AtomicUsize>,
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl Write for CountingDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.jam.write(buf)?;
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.jam.flush()?;
        self.flushes.fetch_add(1, Relaxed);
        Ok(())
    }
}

impl CountingDisk {
    fn flushes(&self) -> usize {
        self.flushes.load(Relaxed)
    }
    /// Waits (bounded) until `f` holds.
    fn until(&self, what: &str, f: impl Fn(&CountingDisk) -> bool) {
        for _ in 0..500 {
            if f(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("timed out waiting for {what}");
    }
}

#[test]
fn an_entry_alone_is_flushed_at_once_and_entries_that_wait_share_a_flush() {
    let stats = Arc::new(Stats::default());
    let disk = CountingDisk::default();
    let on_disk = disk.clone();
    let (sink, thread) = start_with(
        move || Ok(har_output(disk)),
        stats.clone(),
        64 * exchange(0).weight(),
    )
    .unwrap();
    let after_head = on_disk.flushes();
    sink.submit(exchange(0), true);
    on_disk.until("the lone entry's flush", |d| d.flushes() > after_head);
    assert_eq!(
        urls_in_har_prefix(&on_disk).len(),
        1,
        "flushed alone, at once"
    );

    // The disk stalls; 20 entries finish meanwhile and wait together.
    on_disk.jam.set(true);
    sink.submit(exchange(1), true);
    std::thread::sleep(Duration::from_millis(50));
    for n in 2..22 {
        sink.submit(exchange(n), true);
    }
    let before = on_disk.flushes();
    on_disk.jam.set(false);
    on_disk.until("every entry on disk", |d| urls_in_har_prefix(d).len() == 22);
    let flushes = on_disk.flushes() - before;
    assert!(
        flushes <= 3,
        "22 entries, {flushes} flushes: they share them"
    );
    let closed = thread.finish();
    assert_eq!(closed[0].written, 22);
    assert_eq!(stats.not_archived.load(Relaxed), 0);
}

/// The entries flushed so far (the file has no tail yet).
fn urls_in_har_prefix(disk: &CountingDisk) -> Vec<String> {
    let bytes = disk.bytes.lock().unwrap().clone();
    let mut reader = ArchiveReader::from_reader("t.har", Box::new(Cursor::new(bytes))).unwrap();
    reader
        .by_ref()
        .filter_map(Result::ok)
        .map(|e| e.har.request.url)
        .collect()
}

#[tokio::test]
async fn new_exchanges_wait_for_room_while_the_disk_is_slow_and_none_is_lost() {
    let stats = Arc::new(Stats::default());
    let jam = Jam::default();
    let disk = jam.clone();
    let weight = exchange(0).weight();
    let (sink, thread) =
        start_with(move || Ok(har_output(disk)), stats.clone(), 4 * weight).unwrap();
    // The disk stalls (after the head): the writer holds one entry, stuck
    // on the disk, and three more fill the queue past half.
    jam.set(true);
    for n in 0..4 {
        sink.submit(exchange(n), true);
    }
    let waiting = tokio::spawn({
        let sink = sink.clone();
        async move { sink.admit().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "a new exchange waits for room");
    assert_eq!(stats.waiting.load(Relaxed), 1);
    assert!(
        stats.line().contains("1 waiting for the disk"),
        "{}",
        stats.line()
    );
    jam.set(false);
    let admitted = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("room came, the exchange goes on")
        .unwrap();
    assert!(admitted, "it was let in with room");
    assert_eq!(stats.waiting.load(Relaxed), 0);
    assert_eq!(stats.waited.load(Relaxed), 1);
    sink.submit(exchange(4), admitted);
    let closed = tokio::task::spawn_blocking(move || thread.finish())
        .await
        .unwrap();
    assert_eq!(closed[0].written, 5);
    assert_eq!(stats.not_archived.load(Relaxed), 0, "nothing lost");
}

#[tokio::test]
async fn patience_runs_out_on_a_stuck_disk_and_the_loss_is_counted() {
    let stats = Arc::new(Stats::default());
    let jam = Jam::default();
    let disk = jam.clone();
    let weight = exchange(0).weight();
    let (mut sink, thread) =
        start_with(move || Ok(har_output(disk)), stats.clone(), 2 * weight).unwrap();
    sink.patience = Duration::from_millis(300);
    jam.set(true);
    // One in the stuck writer's hands, one queued: the queue is full.
    for n in 0..2 {
        sink.submit(exchange(n), true);
    }
    let started = std::time::Instant::now();
    let admitted = tokio::time::timeout(Duration::from_secs(5), sink.admit())
        .await
        .expect("it goes on after its patience");
    assert!(!admitted, "it went on without room");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it waited its patience first"
    );
    assert_eq!(stats.waiting.load(Relaxed), 0);
    assert_eq!(stats.not_archived.load(Relaxed), 0, "nothing lost yet");
    // Its entry does not fit either: counted, not silently dropped.
    sink.submit(exchange(2), admitted);
    assert_eq!(stats.not_archived.load(Relaxed), 1, "the loss is counted");
    jam.set(false);
    let closed = tokio::task::spawn_blocking(move || thread.finish())
        .await
        .unwrap();
    assert_eq!(closed[0].written, 2);
}

#[tokio::test]
async fn once_the_writer_has_failed_nothing_waits() {
    let stats = Arc::new(Stats::default());
    let (sink, thread) = start_with(
        move || {
            let disk = FullDisk {
                budget: 1024,
                written: Arc::new(Mutex::new(Vec::new())),
            };
            Ok(har_output(disk))
        },
        stats.clone(),
        8 * entry().weight(),
    )
    .unwrap();
    sink.submit(entry(), true);
    for _ in 0..500 {
        if sink.budget.failed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(sink.budget.failed(), "the writer said it failed");
    // However full the queue looks, a new exchange does not wait.
    assert!(sink.budget.take(usize::MAX / 4, false));
    tokio::time::timeout(Duration::from_millis(500), sink.admit())
        .await
        .expect("no waiting after a failure");
    sink.budget.give_back(usize::MAX / 4);
    for _ in 0..3 {
        sink.submit(entry(), true);
    }
    let closed = tokio::task::spawn_blocking(move || thread.finish())
        .await
        .unwrap();
    assert!(closed[0].error.is_some());
    assert_eq!(stats.not_archived.load(Relaxed), 4, "every loss counted");
}

/// A disk that works, stalls, or fails (ENOSPC) on every write and flush,
/// as the test says.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<GateState>, Condvar)>);

#[derive(Clone, Copy, Default, PartialEq)]
enum GateState {
    #[default]
    Open,
    Jammed,
    Full,
}

impl Gate {
    fn set(&self, state: GateState) {
        *self.0 .0.lock().unwrap() = state;
        self.0 .1.notify_all();
    }
    fn pass(&self) -> std::io::Result<()> {
        let (lock, cvar) = &*self.0;
        let state = cvar
            .wait_while(lock.lock().unwrap(), |s| *s == GateState::Jammed)
            .unwrap();
        match *state {
            GateState::Full => Err(std::io::Error::from_raw_os_error(28)),
            _ => Ok(()),
        }
    }
}

/// A [`Gate`] in front of bytes the test reads back.
#[derive(Clone, Default)]
struct GatedDisk {
    gate: Gate,
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl Write for GatedDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.gate.pass()?;
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.gate.pass()
    }
}

/// Waits (bounded) until `n` entries were handed to the writer and flushed
/// or lost, as the budget sees it: nothing queued or unflushed.
fn until_idle(sink: &ArchiveSink) {
    for _ in 0..500 {
        if sink.budget.has_room() && sink.budget.take(usize::MAX / 2, false) {
            // Took it all: nothing else was held. Give it back at once.
            sink.budget.give_back(usize::MAX / 2);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the writer did not catch up");
}

#[test]
fn a_batch_lost_with_its_output_is_counted_once_per_entry_and_not_as_written() {
    let stats = Arc::new(Stats::default());
    let har = GatedDisk::default();
    let flows = GatedDisk::default();
    let (har_disk, flow_disk) = (har.clone(), flows.clone());
    let (sink, thread) = start_with(
        move || Ok(and_flows(har_output(har_disk), flow_disk)),
        stats.clone(),
        64 * exchange(0).weight(),
    )
    .unwrap();
    // Entry 0 reaches both files; the flow file's disk then stalls on its
    // flush while entries 1-4 queue up behind it.
    flows.gate.set(GateState::Jammed);
    sink.submit(exchange(0), true);
    std::thread::sleep(Duration::from_millis(100));
    for n in 1..5 {
        sink.submit(exchange(n), true);
    }
    // Meanwhile the HAR's disk fills: 1-4 go there as one batch, whose
    // flush fails.
    har.gate.set(GateState::Full);
    flows.gate.set(GateState::Open);
    until_idle(&sink);
    assert_eq!(
        stats.not_archived.load(Relaxed),
        4,
        "the HAR lost the batch 1-4, each counted once"
    );
    // Now the flow file's disk fills too: entry 5 is missing from both
    // outputs, and counted once.
    flows.gate.set(GateState::Full);
    sink.submit(exchange(5), true);
    until_idle(&sink);
    assert!(sink.budget.failed(), "every output failed: nothing waits");
    let closed = thread.finish();
    assert_eq!(stats.not_archived.load(Relaxed), 5, "once per entry");
    assert_eq!(
        (closed[0].written, closed[1].written),
        (1, 5),
        "what was not flushed is not counted as written: {closed:?}"
    );
    assert!(closed.iter().all(|c| c.error.is_some()), "{closed:?}");
    assert_eq!(
        urls_in_har_cut(&har.bytes.lock().unwrap()),
        ["https://api.example.test/v1/messages?n=0"]
    );
    assert_eq!(
        urls_in_flows(&flows.bytes.lock().unwrap()).len(),
        5,
        "the flow file kept 0-4"
    );
}

/// The entries of a HAR cut off before its tail.
fn urls_in_har_cut(bytes: &[u8]) -> Vec<String> {
    let mut reader =
        ArchiveReader::from_reader("t.har", Box::new(Cursor::new(bytes.to_vec()))).unwrap();
    let urls = reader
        .by_ref()
        .filter_map(Result::ok)
        .map(|e| e.har.request.url)
        .collect();
    assert!(reader.cut_off().is_some(), "cut off, not whole");
    urls
}
