//! The result: one row per setup (direct, record, mitmdump …) with ratios to
//! direct and to mitmdump, then the targets with PASS/MISS. Each row
//! names its own bases: the CONNECT+TLS rows compare with direct TLS and
//! mitmdump over CONNECT+TLS, like with like.

/// The medians of one setup over all rounds.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub setup: String,
    /// The rows its ratios are taken against (direct, mitmdump); `None`:
    /// the table's defaults.
    pub bases: Option<(String, String)>,
    /// Requests per second at 16 connections (1 KiB JSON).
    pub rps: Option<f64>,
    /// The same, each round's, in round order (the median above hides
    /// how far the rounds spread).
    pub rps_rounds: Vec<f64>,
    /// Rows with a throughput target: the share of direct (%) of each
    /// back-to-back pair of loads, over all rounds.
    pub pair_shares: Vec<f64>,
    /// Latency at 1 connection, ms.
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// SSE: first event's lag, ms (p50 and p99 over the streams).
    pub sse_p50_ms: Option<f64>,
    pub sse_p99_ms: Option<f64>,
    /// CPU µs per request in the 16-connection run: upstream, proxy, load
    /// generator (wrk, or tls_load for the CONNECT+TLS rows).
    pub cpu_us: [Option<f64>; 3],
    /// Archive (or flow file) bytes per recorded request.
    pub bytes_per_req: Option<f64>,
    /// Exchanges record could not archive, summed over the rounds.
    pub lost: Option<u64>,
    pub note: String,
}

/// A target and how this run fared.
#[derive(Clone, Debug)]
pub struct Check {
    pub measure: String,
    pub target: String,
    pub measured: String,
    /// `None`: not measured in this run.
    pub pass: Option<bool>,
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.filter(|v| v.is_finite())
        .map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn ratio(v: Option<f64>, base: Option<f64>) -> String {
    match (v, base) {
        (Some(v), Some(b)) if b > 0.0 && v.is_finite() => {
            let r = v / b;
            if r >= 10.0 {
                format!("{r:.0}x")
            } else {
                format!("{r:.2}x")
            }
        }
        _ => "-".into(),
    }
}

/// A value with its ratio to direct (d) and to mitmdump (m).
fn cell(v: Option<f64>, d: Option<f64>, m: Option<f64>, digits: usize) -> String {
    if v.is_none() {
        return "-".into();
    }
    format!("{} ({} d, {} m)", num(v, digits), ratio(v, d), ratio(v, m))
}

/// Prints the setups table; `direct` and `mitm` name the reference rows of
/// rows that name none.
pub fn print_rows(rows: &[Row], direct: &str, mitm: &str) {
    let find = |name: &str| {
        rows.iter()
            .find(|r| r.setup == name)
            .cloned()
            .unwrap_or_default()
    };
    let header = [
        "setup",
        "req/s, 16 conn",
        "p50 ms, 1 conn",
        "p99 ms, 1 conn",
        "SSE 1st event lag p50/p99 ms",
        "CPU us/req upstream/proxy/client",
        "bytes/req",
        "note",
    ];
    let mut lines: Vec<[String; 8]> = vec![header.map(str::to_owned)];
    for r in rows {
        let (d, m) = match &r.bases {
            Some((d, m)) => (find(d), find(m)),
            None => (find(direct), find(mitm)),
        };
        lines.push([
            r.setup.clone(),
            cell(r.rps, d.rps, m.rps, 0),
            cell(r.p50_ms, d.p50_ms, m.p50_ms, 3),
            cell(r.p99_ms, d.p99_ms, m.p99_ms, 3),
            format!("{} / {}", num(r.sse_p50_ms, 3), num(r.sse_p99_ms, 3)),
            r.cpu_us.map(|c| num(c, 1)).join(" / "),
            num(r.bytes_per_req, 0),
            r.note.clone(),
        ]);
    }
    print_grid(&lines);
    println!("(x d = ratio to {direct}, x m = ratio to {mitm}; the CONNECT+TLS rows: to direct TLS and to mitmdump over CONNECT+TLS; client = wrk, or tls_load for the TLS rows; medians over the rounds)");
}

/// Prints the targets with PASS/MISS.
pub fn print_checks(checks: &[Check]) {
    let mut lines: Vec<[String; 4]> =
        vec![["measure", "target", "measured", "result"].map(str::to_owned)];
    for c in checks {
        let verdict = match c.pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "not run",
        };
        lines.push([
            c.measure.clone(),
            c.target.clone(),
            c.measured.clone(),
            verdict.to_owned(),
        ]);
    }
    print_grid(&lines);
}

fn print_grid<const N: usize>(lines: &[[String; N]]) {
    let mut widths = [0usize; N];
    for line in lines {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    for (i, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        println!("| {} |", cells.join(" | "));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            println!("|-{}-|", rule.join("-|-"));
        }
    }
}
