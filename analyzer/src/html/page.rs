//! The page: the [`Model`] turned into the template's context, rendered by
//! minijinja (auto-escaping HTML) from `assets/report.html`, with the
//! stylesheet and script inline and allowed by their SHA-256 in the
//! Content-Security-Policy — nothing else may load or run.

use super::collect::{total_tokens, CallRow, Model};
use super::sidebyside::CompareView;
use super::svg::{self, TurnPoint};
use crate::leaks::scan::Severity;
use crate::prices::{self, Prices};
use crate::report::{bytes, dollars, thousands};
use minijinja::{context, Environment};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!("assets/report.html");
pub const CSS: &str = include_str!("assets/report.css");
pub const JS: &str = include_str!("assets/report.js");

/// The policy: inline style and script by hash only; no fetch, image,
/// font, frame or form target anywhere.
pub fn csp() -> String {
    let hash = |s: &str| cctap_archive::base64::encode(&Sha256::digest(s.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; img-src data:; base-uri 'none'; form-action 'none'",
        hash(CSS),
        hash(JS)
    )
}

/// JSON safe inside `<script type="application/json">`: no `<` at all,
/// so no `</script>` or `<!--` can end or bend the block.
pub fn inert_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}

/// A duration for reading: `812.4 ms`, `12.35 s`, `3.2 min`.
fn ms(v: Option<f64>) -> String {
    match v {
        Some(v) if (0.0..1000.0).contains(&v) => format!("{v:.1} ms"),
        Some(v) if (0.0..120_000.0).contains(&v) => format!("{:.2} s", v / 1000.0),
        Some(v) if v >= 0.0 => format!("{:.1} min", v / 60_000.0),
        _ => "–".into(),
    }
}

/// Time to first token to the tenth of a millisecond, however long
/// (`2,345.6 ms`), so it reads as exactly as `analyze show` gives it.
fn ttft(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 0.0 => {
            let tenths = (v * 10.0).round() as u64;
            format!("{}.{} ms", thousands(tenths / 10), tenths % 10)
        }
        _ => "–".into(),
    }
}

/// The turns the charts are drawn over: main-loop turns, or every call
/// with usage when no session has a main loop.
pub fn chart_turns(m: &Model) -> Vec<&CallRow> {
    let with_usage = |c: &&CallRow| c.usage.is_some() && !c.failed;
    let main: Vec<&CallRow> = m
        .calls
        .iter()
        .filter(|c| c.label.starts_with("turn "))
        .filter(with_usage)
        .collect();
    if main.is_empty() {
        m.calls.iter().filter(with_usage).collect()
    } else {
        main
    }
}

fn point(c: &CallRow) -> TurnPoint {
    let u = c.usage.clone().unwrap_or_default();
    let (w5, w1) = u.cache_writes();
    let session = if c.label.starts_with("turn ") {
        format!("s{} {}", c.session + 1, c.label)
    } else {
        format!("#{} {}", c.id, c.label)
    };
    TurnPoint {
        label: format!("{session} · {}", c.model),
        kinds: [
            u.cache_read_input_tokens,
            w5,
            w1,
            u.input_tokens,
            u.output_tokens,
        ],
    }
}

fn call_json(c: &CallRow, m: &Model) -> Value {
    let u = c.usage.clone().unwrap_or_default();
    let (w5, w1) = u.cache_writes();
    json!({
        "id": c.id, "file": c.file, "entry": c.entry, "session": c.session,
        "file_name": m.files.get(c.file).map(|f| f.name.clone()),
        "label": c.label, "role": c.role, "side": c.side, "model": c.model,
        "status": c.status, "failed": c.failed, "offline": c.offline, "error": c.error,
        "method": c.method, "where": format!("{}{}", c.host, c.path),
        "has_usage": c.usage.is_some(),
        "input": thousands(u.input_tokens), "output": thousands(u.output_tokens),
        "read": thousands(u.cache_read_input_tokens), "write": thousands(w5 + w1),
        "total": thousands(total_tokens(&u)),
        "cost": dollars(c.cost), "priced": c.cost.is_some(),
        "ttft": ttft(c.ttft_ms), "ttft_raw": c.ttft_ms,
        "tps": c.tokens_per_s.map_or("–".into(), |t| format!("{t:.1} tok/s")),
        "duration": ms(Some(c.duration_ms)),
        "tools": c.tools, "stop": c.stop_reason, "cut_off": c.cut_off,
        "prompt": c.prompt, "new_prompt": c.new_prompt, "events": c.events,
    })
}

/// What the timeline's script needs per call (phases in ms).
fn timing_json(c: &CallRow) -> Value {
    json!([
        c.id,
        c.label,
        c.model,
        c.status,
        (c.start_ms * 1000.0).round() / 1000.0,
        c.sent_ms,
        c.first_byte_ms,
        c.ttft_ms,
        c.end_ms.max(c.duration_ms),
        c.duration_ms
    ])
}

fn overview(m: &Model, prices: &Prices) -> Value {
    let t = &m.tally.total;
    let u = &t.usage;
    let mut roles: BTreeMap<&str, usize> = BTreeMap::new();
    let mut clients: BTreeMap<String, usize> = BTreeMap::new();
    for c in &m.calls {
        *roles.entry(c.role).or_default() += 1;
        if let Some(cl) = &c.client {
            *clients.entry(cl.clone()).or_default() += 1;
        }
    }
    let models: Vec<Value> = m
        .tally
        .groups
        .iter()
        .map(|(k, g)| {
            json!({"model": k, "calls": g.requests, "tokens": thousands(total_tokens(&g.usage)),
                "cost": g.cost_usd.map_or("unpriced".into(), |c| dollars(Some(c)))})
        })
        .collect();
    let kinds = [
        ("input", "input", u.input_tokens),
        ("read", "cache read", u.cache_read_input_tokens),
        (
            "w5",
            "cache write 5m",
            u.ephemeral_5m_input_tokens.unwrap_or(0),
        ),
        (
            "w1",
            "cache write 1h",
            u.ephemeral_1h_input_tokens.unwrap_or(0),
        ),
        ("output", "output", u.output_tokens),
    ];
    let errors: Vec<Value> = m
        .calls
        .iter()
        .filter(|c| c.failed || c.error.is_some())
        .map(|c| {
            json!({"id": c.id, "label": c.label, "status": c.status,
            "error": c.error.clone().unwrap_or_else(|| "no usage in the reply".into())})
        })
        .collect();
    let count = |s: Severity| m.findings.iter().filter(|f| f.severity == s).count();
    let findings: Vec<Value> = m
        .findings
        .iter()
        .map(|f| {
            let entry = f.entry.map_or_else(|| json!("log"), |i| json!(i));
            json!({"file": f.file, "entry": entry, "place": f.place, "kind": f.kind,
            "fingerprint": f.fingerprint, "leak": f.severity == Severity::Leak,
            "severity": match f.severity {
                Severity::Leak => "leak",
                Severity::Warning => "warning",
                Severity::Example => "documented example",
            }})
        })
        .collect();
    let sessions: Vec<Value> = m
        .sessions
        .iter()
        .map(|s| {
            json!({"id": s.id, "clients": s.clients.join(", "), "calls": s.calls, "turns": s.turns,
            "duration": ms(Some(s.end_ms - s.start_ms)), "tokens": thousands(s.tokens),
            "cost": dollars(s.cost)})
        })
        .collect();
    json!({
        "requests": t.requests,
        "kinds": kinds.iter().map(|(id, name, n)| json!({"id": id, "name": name, "n": thousands(*n), "raw": n})).collect::<Vec<_>>(),
        "cache_write": thousands(u.cache_creation_input_tokens),
        "total_tokens": thousands(total_tokens(u)),
        "cost": dollars(t.cost_usd),
        "unpriced": t.unpriced_requests,
        "unpriced_models": m.tally.unpriced_models,
        "price_date": prices.to_json()["file"]["date"].as_str().unwrap_or(prices::TABLE_DATE).to_owned(),
        "price_footer": prices.footer(),
        "offline_calls": m.tally.offline.requests,
        "offline_tokens": thousands(total_tokens(&m.tally.offline.usage)),
        "roles": roles,
        "clients": clients,
        "models": models,
        "failed": m.tally.failed,
        "count_tokens": m.tally.count_tokens,
        "usage_not_reported": m.tally.not_reported.requests,
        "errors": errors,
        "leaks": m.leaks,
        "warnings": count(Severity::Warning),
        "examples": count(Severity::Example),
        "findings": findings,
        "sessions": sessions,
        "files": m.files.iter().map(|f| json!({"name": f.name, "entries": f.entries, "cut_off": f.cut_off, "skipped": f.skipped, "size": bytes(f.bytes as usize)})).collect::<Vec<_>>(),
        "entries": m.entries,
    })
}

fn prompt_meta(m: &Model) -> Vec<Value> {
    m.prompts
        .iter()
        .map(|p| {
            json!({"blocks": p.system.len(), "chars": thousands(p.system_chars as u64),
                "tools": p.tools.len(), "tools_size": bytes(p.tools_bytes),
                "names": p.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")})
        })
        .collect()
}

pub fn render(
    m: &Model,
    prices: &Prices,
    compare: Option<&Result<CompareView, String>>,
) -> anyhow::Result<String> {
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    let turns = chart_turns(m);
    let points: Vec<TurnPoint> = turns.iter().map(|c| point(c)).collect();
    let priced: Vec<&CallRow> = m.calls.iter().filter(|c| c.cost.is_some()).collect();
    let misses: Vec<String> = svg::cache_misses(&points)
        .into_iter()
        .map(|i| points[i].label.clone())
        .collect();
    let calls: Vec<Value> = m.calls.iter().map(|c| call_json(c, m)).collect();
    let sessions: Vec<Value> = m
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ids: Vec<usize> = m
                .calls
                .iter()
                .filter(|c| c.session == i)
                .map(|c| c.id)
                .collect();
            json!({"id": s.id, "n": i + 1, "calls": ids})
        })
        .collect();
    let (compare_view, compare_error) = match compare {
        Some(Ok(v)) => (Some(v), None),
        Some(Err(e)) => (None, Some(e.clone())),
        None => (None, None),
    };
    let title = m
        .files
        .iter()
        .map(|f| f.name.rsplit('/').next().unwrap_or(&f.name).to_owned())
        .collect::<Vec<_>>()
        .join(" vs ");
    let ctx = context! {
        title => title,
        version => env!("CARGO_PKG_VERSION"),
        started => m.started,
        csp => minijinja::Value::from_safe_string(csp()),
        css => minijinja::Value::from_safe_string(CSS.to_owned()),
        js => minijinja::Value::from_safe_string(JS.to_owned()),
        o => overview(m, prices),
        calls => calls,
        sessions => sessions,
        prompts => prompt_meta(m),
        chart_tokens => minijinja::Value::from_safe_string(svg::tokens_chart(&points)),
        chart_context => minijinja::Value::from_safe_string(svg::context_chart(&points)),
        chart_cost => minijinja::Value::from_safe_string(svg::cost_chart(&priced)),
        chart_cache => minijinja::Value::from_safe_string(svg::cache_chart(&points)),
        kinds => svg::KINDS.iter().map(|(c, n)| json!({"class": c, "name": n})).collect::<Vec<_>>(),
        turn_count => points.len(),
        priced_count => priced.len(),
        misses => misses,
        waterfall => minijinja::Value::from_safe_string(svg::waterfall(&m.calls, &m.ticks, m.span_ms)),
        span => ms(Some(m.span_ms)),
        compare => compare_view,
        compare_error => compare_error,
        two => compare.is_some(),
        timing => minijinja::Value::from_safe_string(inert_json(&m.calls.iter().map(timing_json).collect::<Vec<_>>())),
        details => m.details.iter().map(|d| minijinja::Value::from_safe_string(inert_json(d))).collect::<Vec<_>>(),
        ticks => m.ticks.iter().map(|t| minijinja::Value::from_safe_string(inert_json(t))).collect::<Vec<_>>(),
        prompt_blobs => m.prompts.iter().map(|p| minijinja::Value::from_safe_string(inert_json(p))).collect::<Vec<_>>(),
    };
    let html = env.get_template("report.html")?.render(ctx)?;
    // A credential the archive leaked is not passed on: the page shows
    // its redaction marker (the overview says where it was found).
    Ok(cctap_archive::redact::redact_text(&html).unwrap_or(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well_and_ttft_keeps_its_tenths() {
        assert_eq!(ms(Some(812.44)), "812.4 ms");
        assert_eq!(ms(Some(12_345.0)), "12.35 s");
        assert_eq!(ms(Some(600_000.0)), "10.0 min");
        assert_eq!(ttft(Some(2345.64)), "2,345.6 ms");
        assert_eq!(ttft(Some(0.706)), "0.7 ms");
        assert_eq!(ttft(Some(99.96)), "100.0 ms");
        assert_eq!(ttft(None), "–");
    }

    #[test]
    fn inert_json_has_no_angle_bracket_and_parses_back() {
        let v = json!({"t": "</script><!-- <b>"});
        let s = inert_json(&v);
        assert!(!s.contains('<'), "{s}");
        assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), v);
    }

    #[test]
    fn the_policy_allows_only_the_inline_style_and_script() {
        let p = csp();
        assert!(p.starts_with("default-src 'none';"));
        assert!(!p.contains("unsafe"), "{p}");
        let digest = cctap_archive::base64::encode(&Sha256::digest(JS.as_bytes()));
        assert!(p.contains(&format!("script-src 'sha256-{digest}'")));
    }
}
