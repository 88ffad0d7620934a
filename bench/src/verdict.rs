//! The verdict: the targets (bench/README.md) against this run's figures, PASS/MISS.
//! The throughput and latency targets are set for reverse mode; they are
//! also applied to regular mode over CONNECT + TLS, against direct TLS and
//! mitmdump in the same mode.

use crate::phases::{Findings, Memory};
use crate::setups::Setup;
use crate::stats;
use crate::table::{Check, Row};

/// The targets against this run's figures.
pub fn checks(rows: &[Row], f: &Findings) -> Vec<Check> {
    let get = |name: &str| {
        rows.iter()
            .find(|r| r.setup == name)
            .cloned()
            .unwrap_or_default()
    };
    let (d, r, m) = (
        get(Setup::Direct.name()),
        get(Setup::RecordReverse.name()),
        get(Setup::MitmReverse.name()),
    );
    let mut out = Vec::new();
    let mut add = |measure: &str, target: &str, measured: String, pass: Option<bool>| {
        out.push(Check {
            measure: measure.into(),
            target: target.into(),
            measured,
            pass,
        });
    };
    let share = share_of_direct(&r, &d);
    let vs_mitm = r.rps.zip(m.rps).map(|(r, m)| r / m);
    add(
        "throughput, reverse .har.zst, 16 conn, 1 KiB",
        ">= 30% of direct, >= 40x mitmdump -w",
        format!(
            "{} of direct ({}; rounds {}), {} mitmdump",
            pct(share),
            pairs(&r),
            per_round(&r, &d),
            times(vs_mitm)
        ),
        share.map(|s| s >= 30.0 && vs_mitm.is_none_or(|v| v >= 40.0)),
    );
    let (dt, rt, mt) = (
        get(Setup::DirectTls.name()),
        get(Setup::RecordTls.name()),
        get(Setup::MitmTls.name()),
    );
    let share_tls = share_of_direct(&rt, &dt);
    let vs_mitm_tls = rt.rps.zip(mt.rps).map(|(r, m)| r / m);
    add(
        "throughput, regular CONNECT+TLS .har.zst, 16 conn, 1 KiB",
        ">= 30% of direct TLS, >= 40x mitmdump -w (same mode)",
        format!(
            "{} of direct TLS ({}; rounds {}), {} mitmdump",
            pct(share_tls),
            pairs(&rt),
            per_round(&rt, &dt),
            times(vs_mitm_tls)
        ),
        share_tls.map(|s| s >= 30.0 && vs_mitm_tls.is_none_or(|v| v >= 40.0)),
    );
    let lost_zst = f.record_mem.as_ref().and_then(|m| m.lost);
    let lost_plain = f.record_mem_plain.as_ref().and_then(|m| m.lost);
    let regular = get(Setup::RecordRegular.name());
    let lost_rounds = [r.lost, regular.lost, rt.lost];
    let show = |l: Option<u64>| l.map_or("-".into(), |l| l.to_string());
    add(
        "every exchange archived (record)",
        "0 lost (never lose an exchange)",
        format!(
            "rounds: {} lost (reverse), {} (regular), {} (CONNECT+TLS); memory phases: {} (.har.zst), {} (.har)",
            show(r.lost),
            show(regular.lost),
            show(rt.lost),
            show(lost_zst),
            show(lost_plain)
        ),
        r.lost.map(|_| {
            let all = lost_rounds.iter().chain([&lost_zst, &lost_plain]);
            all.flatten().sum::<u64>() == 0
        }),
    );
    let p50 = r.p50_ms.zip(d.p50_ms).map(|(r, d)| r - d);
    let p99 = r.p99_ms.zip(d.p99_ms).map(|(r, d)| r - d);
    add(
        "added latency, 1 conn",
        "p50 <= 0.2 ms, p99 <= 0.5 ms",
        format!("p50 +{} ms, p99 +{} ms", ms(p50), ms(p99)),
        p50.zip(p99).map(|(a, b)| a <= 0.2 && b <= 0.5),
    );
    let p50 = rt.p50_ms.zip(dt.p50_ms).map(|(r, d)| r - d);
    let p99 = rt.p99_ms.zip(dt.p99_ms).map(|(r, d)| r - d);
    add(
        "added latency, regular CONNECT+TLS, 1 conn",
        "p50 <= 0.2 ms, p99 <= 0.5 ms over direct TLS",
        format!("p50 +{} ms, p99 +{} ms", ms(p50), ms(p99)),
        p50.zip(p99).map(|(a, b)| a <= 0.2 && b <= 0.5),
    );
    let sse = r.sse_p50_ms.zip(d.sse_p50_ms).map(|(r, d)| r - d);
    let sse99 = r.sse_p99_ms.zip(d.sse_p99_ms).map(|(r, d)| r - d);
    add(
        "SSE first event after upstream sent it",
        "<= 0.2 ms over direct",
        format!("p50 +{} ms, p99 +{} ms", ms(sse), ms(sse99)),
        sse.map(|s| s <= 0.2),
    );
    for (measure, mem) in [
        ("memory (record)", &f.record_mem),
        (
            "memory (record, plain .har: no zstd window)",
            &f.record_mem_plain,
        ),
    ] {
        let (measured, pass) = memory(mem.as_ref());
        add(
            measure,
            "RSS <= 40 MiB under 10k x 300 KiB (median of 2nd half), flat; back down after 1k SSE",
            measured,
            pass,
        );
    }
    add(
        "archive size, 100-turn session",
        ".har.zst <= 3% of .har",
        f.archive_ratio
            .map_or("not measured".into(), |r| format!("{r:.2}%")),
        f.archive_ratio.map(|r| r <= 3.0),
    );
    let reading = match f.reading.as_slice() {
        [big, small, ..] => Some((big.mb_per_s, big.max_rss_mib, small.max_rss_mib)),
        _ => None,
    };
    add(
        "reading, analyze usage >= 1 GB",
        ">= 500 MB/s; peak RSS independent of size",
        reading.map_or("not measured".into(), |(s, a, b)| {
            format!("{s:.0} MB/s; peak RSS {a:.1} MiB vs {b:.1} MiB at 1/4 size")
        }),
        reading.map(|(s, a, b)| s >= 500.0 && a <= b * 1.5 + 8.0),
    );
    out
}

/// A row's throughput as a share of direct (%): the median over its
/// back-to-back pairs when it has them, else the ratio of the two rows'
/// medians. On this machine, whose speed changes within seconds, the
/// rounds' ratios range over ten points while the pairs' mostly stay
/// within about two (bench/README.md, "a machine with two speeds").
fn share_of_direct(row: &Row, direct: &Row) -> Option<f64> {
    stats::median(row.pair_shares.iter().copied())
        .or_else(|| row.rps.zip(direct.rps).map(|(r, d)| r / d * 100.0))
}

/// "median of 12 back-to-back pairs, 25.8-27.3%", or why there is none.
fn pairs(row: &Row) -> String {
    let lowest = row.pair_shares.iter().copied().reduce(f64::min);
    let highest = row.pair_shares.iter().copied().reduce(f64::max);
    match lowest.zip(highest) {
        Some((lo, hi)) => format!(
            "median of {} back-to-back pairs, {lo:.1}-{hi:.1}%",
            row.pair_shares.len()
        ),
        None => "no pairs: the ratio of the medians".into(),
    }
}

/// Each round's share of its own base, `31.5 / 27.5 / 26.5%`: the loads
/// of a round run half a minute apart, so these spread with the machine's
/// speed; shown beside the pairs' median that the verdict takes.
fn per_round(row: &Row, base: &Row) -> String {
    let shares: Vec<String> = row
        .rps_rounds
        .iter()
        .zip(&base.rps_rounds)
        .map(|(r, d)| format!("{:.1}", r / d * 100.0))
        .collect();
    if shares.is_empty() {
        return "-".into();
    }
    format!("{}%", shares.join(" / "))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}%"))
}
fn times(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}x"))
}
fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

/// The memory target against one memory phase.
fn memory(mem: Option<&Memory>) -> (String, Option<bool>) {
    let Some(mem) = mem else {
        return ("not measured".into(), None);
    };
    let measured = format!(
        "median {:.1} MiB in the second half (first half {:.1}, highest {:.1}); SSE peak {:.1}, after {:.1}; streams {}",
        mem.rss_end,
        mem.rss_half,
        mem.rss_max,
        mem.sse_peak,
        mem.sse_after,
        if mem.streams_ok { "ok" } else { "FAILED" }
    );
    let pass = mem.requests >= 10_000
        && mem.rss_end <= 40.0
        && mem.rss_end <= mem.rss_half * 1.2 + 2.0
        && mem.streams_ok
        && mem.sse_after <= mem.rss_end.max(mem.sse_peak * 0.5) + 5.0;
    (measured, Some(pass))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_round_is_a_share_of_its_own_base() {
        let row = |rps: &[f64]| Row {
            rps_rounds: rps.to_vec(),
            ..Row::default()
        };
        assert_eq!(
            per_round(&row(&[20_234.0, 24_039.0]), &row(&[73_443.0, 76_276.0])),
            "27.6 / 31.5%"
        );
        assert_eq!(per_round(&row(&[]), &row(&[1.0])), "-");
    }

    #[test]
    fn the_verdict_takes_the_pairs_median_over_the_medians_ratio() {
        let direct = Row {
            rps: Some(100_000.0),
            ..Row::default()
        };
        let mut record = Row {
            rps: Some(34_000.0),
            pair_shares: vec![27.0, 26.0, 29.0, 26.5],
            ..Row::default()
        };
        assert_eq!(share_of_direct(&record, &direct), Some(26.75));
        assert_eq!(pairs(&record), "median of 4 back-to-back pairs, 26.0-29.0%");
        record.pair_shares.push(f64::NAN);
        record.pair_shares.push(25.0);
        assert_eq!(share_of_direct(&record, &direct), Some(26.5));
        record.pair_shares.clear();
        assert_eq!(share_of_direct(&record, &direct), Some(34.0));
        assert_eq!(pairs(&record), "no pairs: the ratio of the medians");
    }
}
