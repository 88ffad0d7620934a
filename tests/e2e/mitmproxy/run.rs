//! Running the real mitmdump: found through `MITMDUMP`, offline, with a
//! private confdir, bounded in time; and what it loaded, as JSON.
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One mitmdump run (start-up is ~1 s; a hang fails the test instead).
pub const MITMDUMP_LIMIT: Duration = Duration::from_secs(60);

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The mitmdump to test against, or `None` with a printed notice.
pub fn mitmdump(test: &str) -> Option<PathBuf> {
    match std::env::var_os("MITMDUMP") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            // The full suite (tests/run) installs mitmproxy and sets this:
            // there a missing mitmdump is a failure, not a skip.
            assert!(
                std::env::var_os("CCTAP_REQUIRE_PEERS").is_none(),
                "{test}: MITMDUMP is unset but CCTAP_REQUIRE_PEERS asks for the real mitmproxy"
            );
            eprintln!(
                "NOTICE: {test} skipped: MITMDUMP is unset \
                 (run `source .ci/mitmproxy.sh target/mitmproxy` to test against mitmproxy 11.0.2)"
            );
            None
        }
    }
}

/// Runs mitmdump with `args` offline (`-n`, a private confdir), bounded in
/// time; returns how it exited and what it printed.
pub fn mitmdump_output(bin: &Path, scratch: &Path, args: &[&str]) -> (ExitStatus, String) {
    let confdir = format!("confdir={}", scratch.join("conf").display());
    let mut child = Command::new(bin)
        .args(["-q", "-n", "--set", &confdir])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mitmdump");
    let deadline = Instant::now() + MITMDUMP_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for mitmdump") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mitmdump {args:?}: no exit within {MITMDUMP_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().expect("mitmdump output");
    let printed = format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (status, printed)
}

/// Like [`mitmdump_output`]; panics with the output if mitmdump fails.
pub fn run_mitmdump(bin: &Path, scratch: &Path, args: &[&str]) {
    let (status, printed) = mitmdump_output(bin, scratch, args);
    assert!(
        status.success(),
        "mitmdump {args:?} exited {status}\n{printed}"
    );
}

/// Reads `flows` with mitmdump and a hook evaluating the Python expression
/// `per_flow` (on `flow`, `hashlib` imported) for each response; the values
/// joined by `sep`, and what mitmdump printed. mitmdump must exit 0.
pub fn per_response(
    bin: &Path,
    scratch: &Path,
    flows: &Path,
    per_flow: &str,
    sep: &str,
) -> (String, String) {
    let script = scratch.join("per_response.py");
    let out = scratch.join("per_response.txt");
    std::fs::write(
        &script,
        format!(
            "import hashlib\nout = []\n\
             def response(flow):\n    out.append(str({per_flow}))\n\
             def done():\n    open({:?}, 'w').write({sep:?}.join(out))\n",
            path_str(&out)
        ),
    )
    .unwrap();
    let args = ["-r", path_str(flows), "-s", path_str(&script)];
    let (status, printed) = mitmdump_output(bin, scratch, &args);
    assert!(status.success(), "mitmdump -nr exited {status}\n{printed}");
    let values = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("the hook wrote nothing ({e})\n{printed}"));
    (values, printed)
}

/// The flows mitmdump loads from `input` (dump_flows.py's JSON), and how
/// it exited.
pub fn load_in_mitmproxy(
    bin: &Path,
    scratch: &Path,
    input: &Path,
) -> (Vec<Value>, ExitStatus, String) {
    let out = scratch.join(format!("{}.dump.json", file_name(input)));
    let script = repo().join("fixtures/mitmproxy/dump_flows.py");
    let set = format!("dump_flows={}", out.display());
    let args = [
        "-r",
        path_str(input),
        "-s",
        path_str(&script),
        "--set",
        &set,
    ];
    let (status, printed) = mitmdump_output(bin, scratch, &args);
    let text = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("dump_flows.py wrote no JSON ({e})\n{printed}"));
    match serde_json::from_str(&text).expect("dump JSON") {
        Value::Array(flows) => (flows, status, printed),
        other => panic!("dump is not a list: {other}"),
    }
}

/// The flows mitmdump loads from `input`; it must exit 0.
pub fn loaded_by_mitmproxy(bin: &Path, scratch: &Path, input: &Path) -> Vec<Value> {
    let (flows, status, printed) = load_in_mitmproxy(bin, scratch, input);
    assert!(
        status.success(),
        "mitmdump -r {} exited {status}\n{printed}",
        input.display()
    );
    flows
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

pub fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
