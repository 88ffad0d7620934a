//! The pictures, drawn here as SVG text: four charts over the turns
//! (tokens by kind, context size, cumulative cost, cache hit ratio) and
//! the waterfall of every call on one time axis.
//!
//! Shapes of one kind are one `<path>` each, so a 1,000-turn session costs
//! a handful of elements, plus one hover column per turn carrying a
//! `<title>` (the browser's own tooltip, no script needed).

use super::collect::{CallRow, Tick};
use crate::report::{dollars, thousands};
use std::fmt::Write;

const W: f64 = 720.0;
const H: f64 = 230.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// Pixel height of one waterfall row.
pub const ROW: f64 = 18.0;

/// One turn's numbers for the charts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TurnPoint {
    pub label: String,
    /// cache read, 5m write, 1h write, input, output.
    pub kinds: [u64; 5],
}

impl TurnPoint {
    pub fn prompt(&self) -> u64 {
        self.kinds[..4].iter().sum()
    }

    /// Share of the prompt read from the cache.
    pub fn hit_ratio(&self) -> Option<f64> {
        let p = self.prompt();
        (p > 0).then(|| self.kinds[0] as f64 / p as f64)
    }
}

/// The classes of the five kinds, bottom to top, and their names.
pub const KINDS: [(&str, &str); 5] = [
    ("k-read", "cache read"),
    ("k-w5", "cache write 5m"),
    ("k-w1", "cache write 1h"),
    ("k-in", "input"),
    ("k-out", "output"),
];

/// 1, 2, 5 × 10^n: a round step giving about five grid lines.
fn nice_step(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    mag * if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    }
}

fn compact(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A chart's frame: y grid and labels, x labels at a few turns.
struct Frame {
    n: usize,
    ymax: f64,
}

impl Frame {
    fn new(n: usize, max: f64) -> Frame {
        let step = nice_step(max);
        Frame {
            n: n.max(1),
            ymax: (max / step).ceil().max(1.0) * step,
        }
    }

    fn band(&self) -> f64 {
        (W - LEFT - RIGHT) / self.n as f64
    }

    fn x(&self, i: usize) -> f64 {
        LEFT + self.band() * i as f64
    }

    fn y(&self, v: f64) -> f64 {
        TOP + (H - TOP - BOTTOM) * (1.0 - v / self.ymax)
    }

    fn open(&self, out: &mut String, id: &str, title: &str, fmt: impl Fn(f64) -> String) {
        let _ = write!(
            out,
            r#"<svg id="{id}" class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{title}">"#
        );
        let step = nice_step(self.ymax);
        let mut v = 0.0;
        while v <= self.ymax + step / 2.0 {
            let y = self.y(v);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="yl" x="{}" y="{:.1}">{}</text>"#,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                fmt(v)
            );
            v += step;
        }
        let every = (self.n / 8).max(1);
        for i in (0..self.n).step_by(every) {
            let _ = write!(
                out,
                r#"<text class="xl" x="{:.1}" y="{}">{}</text>"#,
                self.x(i) + self.band() / 2.0,
                H - BOTTOM + 16.0,
                i + 1
            );
        }
    }

    /// One transparent column per turn with its numbers as a tooltip.
    fn hovers(&self, out: &mut String, titles: impl Iterator<Item = String>) {
        out.push_str(r#"<g class="hover">"#);
        for (i, t) in titles.enumerate() {
            let _ = write!(
                out,
                r#"<rect x="{:.2}" y="{TOP}" width="{:.2}" height="{}"><title>{}</title></rect>"#,
                self.x(i),
                self.band(),
                H - TOP - BOTTOM,
                esc(&t)
            );
        }
        out.push_str("</g></svg>");
    }
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Bars of one path: `M x y h w v h h -w Z` per bar.
fn bar(d: &mut String, x: f64, w: f64, y0: f64, y1: f64) {
    if (y0 - y1).abs() < 0.01 {
        return;
    }
    let _ = write!(d, "M{x:.2} {y1:.2}h{w:.2}V{y0:.2}h{:.2}Z", -w);
}

/// Tokens per turn, stacked by kind.
pub fn tokens_chart(turns: &[TurnPoint]) -> String {
    let max = turns
        .iter()
        .map(|t| t.kinds.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let f = Frame::new(turns.len(), max as f64);
    let mut out = String::new();
    f.open(&mut out, "chart-tokens", "tokens per turn by kind", compact);
    let w = (f.band() * 0.8).max(0.5);
    let mut paths = vec![String::new(); 5];
    for (i, t) in turns.iter().enumerate() {
        let mut base = 0u64;
        for (k, d) in paths.iter_mut().enumerate() {
            let top = base + t.kinds[k];
            bar(
                d,
                f.x(i) + f.band() * 0.1,
                w,
                f.y(base as f64),
                f.y(top as f64),
            );
            base = top;
        }
    }
    for (d, (class, _)) in paths.iter().zip(KINDS) {
        let _ = write!(out, r#"<path class="{class}" d="{d}"/>"#);
    }
    f.hovers(
        &mut out,
        turns.iter().map(|t| {
            let mut s = t.label.clone();
            for (n, (_, name)) in t.kinds.iter().zip(KINDS) {
                let _ = write!(s, "\n{name}: {}", thousands(*n));
            }
            s
        }),
    );
    out
}

/// A line through one value per x, with dots when there are few.
fn line_chart(
    id: &str,
    title: &str,
    values: &[f64],
    titles: impl Iterator<Item = String>,
    fmt: impl Fn(f64) -> String,
) -> String {
    let max = values.iter().copied().fold(0.0, f64::max);
    let f = Frame::new(values.len(), max);
    let mut out = String::new();
    f.open(&mut out, id, title, fmt);
    let mut d = String::new();
    for (i, v) in values.iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        let _ = write!(d, "{cmd}{:.2} {:.2}", f.x(i) + f.band() / 2.0, f.y(*v));
    }
    let _ = write!(out, r#"<path class="line" d="{d}"/>"#);
    if values.len() <= 60 {
        for (i, v) in values.iter().enumerate() {
            let _ = write!(
                out,
                r#"<circle class="dot" cx="{:.2}" cy="{:.2}" r="2.5"/>"#,
                f.x(i) + f.band() / 2.0,
                f.y(*v)
            );
        }
    }
    f.hovers(&mut out, titles);
    out
}

/// Prompt size (input + cache read + cache writes) per turn.
pub fn context_chart(turns: &[TurnPoint]) -> String {
    let values: Vec<f64> = turns.iter().map(|t| t.prompt() as f64).collect();
    line_chart(
        "chart-context",
        "context size per turn",
        &values,
        turns
            .iter()
            .map(|t| format!("{}\ncontext: {} tokens", t.label, thousands(t.prompt()))),
        compact,
    )
}

/// Cost summed over the priced calls, in time order.
pub fn cost_chart(calls: &[&CallRow]) -> String {
    let mut sum = 0.0;
    let values: Vec<f64> = calls
        .iter()
        .map(|c| {
            sum += c.cost.unwrap_or(0.0);
            sum
        })
        .collect();
    line_chart(
        "chart-cost",
        "cumulative cost",
        &values,
        calls.iter().zip(&values).map(|(c, v)| {
            format!(
                "#{} {}\n{} this call, {} so far",
                c.id,
                c.label,
                dollars(c.cost),
                dollars(Some(*v))
            )
        }),
        |v| format!("${}", trim(v)),
    )
}

/// Turns whose cache hit ratio fell below half after a turn above it:
/// the cache was missed (expired, or the prompt changed before the end).
pub fn cache_misses(turns: &[TurnPoint]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut prev: Option<f64> = None;
    for (i, t) in turns.iter().enumerate() {
        let r = t.hit_ratio();
        if let (Some(p), Some(r)) = (prev, r) {
            if p >= 0.5 && r < 0.5 {
                out.push(i);
            }
        }
        if r.is_some() {
            prev = r;
        }
    }
    out
}

/// Cache read share of the prompt per turn; misses drawn apart.
pub fn cache_chart(turns: &[TurnPoint]) -> String {
    let f = Frame::new(turns.len(), 1.0);
    let mut out = String::new();
    f.open(&mut out, "chart-cache", "cache hit ratio per turn", |v| {
        format!("{:.0}%", v * 100.0)
    });
    let misses = cache_misses(turns);
    let (mut hit, mut miss) = (String::new(), String::new());
    let w = (f.band() * 0.8).max(0.5);
    for (i, t) in turns.iter().enumerate() {
        let r = t.hit_ratio().unwrap_or(0.0);
        let d = if misses.contains(&i) {
            &mut miss
        } else {
            &mut hit
        };
        bar(
            d,
            f.x(i) + f.band() * 0.1,
            w,
            f.y(0.0),
            f.y(r).min(f.y(0.0) - 1.0),
        );
    }
    let _ = write!(
        out,
        r#"<path class="hit" d="{hit}"/><path class="miss" d="{miss}"/>"#
    );
    f.hovers(
        &mut out,
        turns.iter().map(|t| match t.hit_ratio() {
            Some(r) => format!(
                "{}\ncache hit {:.1}% ({} of {} prompt tokens read)",
                t.label,
                r * 100.0,
                thousands(t.kinds[0]),
                thousands(t.prompt())
            ),
            None => format!("{}\nno usage", t.label),
        }),
    );
    out
}

/// The waterfall: one row (`<g class="wfrow">`) per call, in start order,
/// on one time axis in milliseconds (the page stretches it to zoom).
/// Gaps where a thread waited for the client's tools are drawn behind.
pub fn waterfall(calls: &[CallRow], ticks: &[Vec<Tick>], span_ms: f64) -> String {
    let span = span_ms.max(0.001);
    let min_w = span / 1500.0;
    let height = calls.len() as f64 * ROW;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg id="waterfall" viewBox="0 0 {span:.3} {height}" preserveAspectRatio="none" height="{height}" data-span="{span:.3}">"#
    );
    let mut last_end: std::collections::HashMap<usize, f64> = Default::default();
    for c in calls {
        let y = c.id as f64 * ROW;
        let x = c.start_ms;
        let failed = if c.failed { " failed" } else { "" };
        let _ = write!(out, r#"<g class="wfrow{failed}" data-id="{}">"#, c.id);
        let _ = write!(
            out,
            r#"<rect class="rowbg" x="0" y="{y}" width="{span:.3}" height="{ROW}"/>"#
        );
        if let Some(t) = c.thread {
            if let Some(&end) = last_end.get(&t) {
                if x > end {
                    let _ = write!(
                        out,
                        r#"<rect class="gap" x="{end:.3}" y="{:.1}" width="{:.3}" height="{:.1}"/>"#,
                        y + 7.0,
                        x - end,
                        ROW - 14.0
                    );
                }
            }
            last_end.insert(t, x + c.end_ms.max(c.duration_ms));
        }
        let end = c.end_ms.max(c.duration_ms).max(min_w);
        let marks = [
            Some(0.0),
            Some(c.sent_ms),
            c.first_byte_ms,
            c.ttft_ms,
            Some(end),
        ];
        let classes = ["s-send", "s-wait", "s-ttft", "s-stream"];
        let mut from = 0.0;
        for (k, class) in classes.iter().enumerate() {
            let Some(to) = marks[k + 1] else { continue };
            let to = to.min(end);
            if to > from {
                let _ = write!(
                    out,
                    r#"<rect class="{class}" x="{:.3}" y="{:.1}" width="{:.3}" height="{:.1}"/>"#,
                    x + from,
                    y + 3.0,
                    (to - from).max(min_w),
                    ROW - 6.0
                );
                from = to;
            }
        }
        if let Some(ev) = ticks.get(c.id).filter(|t| !t.is_empty()) {
            let mut d = String::new();
            for t in ev {
                let _ = write!(d, "M{:.3} {:.0}v{:.0}", x + t.0, y + 1.0, ROW - 2.0);
            }
            let _ = write!(out, r#"<path class="ticks" d="{d}"/>"#);
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(read: u64, input: u64) -> TurnPoint {
        TurnPoint {
            label: "t".into(),
            kinds: [read, 0, 0, input, 10],
        }
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(100.0), 20.0);
        assert_eq!(nice_step(0.9), 0.2);
        assert_eq!(nice_step(37_000.0), 10_000.0);
        assert_eq!(compact(12_500.0), "12.5k");
        assert_eq!(compact(2_000_000.0), "2M");
    }

    #[test]
    fn a_cache_miss_mid_session_is_found() {
        let turns = [
            turn(0, 1000),
            turn(900, 100),
            turn(950, 50),
            turn(10, 990),
            turn(990, 10),
        ];
        assert_eq!(
            cache_misses(&turns),
            [3],
            "turn 1 is a cold start, not a miss"
        );
        let svg = cache_chart(&turns);
        assert_eq!(svg.matches("<title>").count(), 5);
        assert!(svg.contains(r#"<path class="miss" d="M"#), "{svg}");
    }

    #[test]
    fn stacked_bars_are_one_path_per_kind() {
        let svg = tokens_chart(&[turn(100, 5), turn(200, 5)]);
        assert_eq!(svg.matches("<path").count(), 5);
        assert!(svg.contains("cache read: 200"));
    }
}
