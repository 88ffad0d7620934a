//! The reconciliation as text: one block per session, then a verdict.

use super::{Reconciliation, SessionReport, Sums};
use crate::report::{self, Style};
use std::io::Write;

fn sums(s: &Sums) -> String {
    let cost = match (s.calls - s.unpriced_calls, s.unpriced_calls) {
        (0, _) => "unpriced".to_owned(),
        (_, 0) => report::dollars(Some(s.cost_usd)),
        (_, n) => format!("{} (+{n} unpriced)", report::dollars(Some(s.cost_usd))),
    };
    format!(
        "{} calls, input {}, output {}, cache read {}, cache write {}, {cost}",
        s.calls,
        report::thousands(s.input_tokens),
        report::thousands(s.output_tokens),
        report::thousands(s.cache_read_input_tokens),
        report::thousands(s.cache_creation_input_tokens),
    )
}

fn session(out: &mut dyn Write, s: &SessionReport, style: Style) -> std::io::Result<()> {
    let verdict = if s.agrees() {
        style.dim("agree")
    } else {
        style.red("disagree")
    };
    writeln!(out, "session {} — {verdict}", s.session)?;
    writeln!(out, "  wire:  {}", sums(&s.wire))?;
    writeln!(out, "  local: {}", sums(&s.local))?;
    writeln!(out, "  matched: {}", s.matched)?;
    if !s.missing_locally.is_empty() {
        let kinds: Vec<String> = s
            .missing_by_kind
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect();
        writeln!(
            out,
            "  on the wire, missing from the local logs: {} ({}): {}",
            s.missing_locally.len(),
            kinds.join(", "),
            sums(&s.missing_sums)
        )?;
        for c in &s.missing_locally {
            writeln!(
                out,
                "    {}#{} {:<16} {:<28} input {} output {} cache r/w {}/{} {}",
                c.archive,
                c.entry_index,
                if c.category == "side" {
                    format!("side:{}", c.role)
                } else {
                    c.category.to_owned()
                },
                c.model,
                c.usage.input_tokens,
                c.usage.output_tokens,
                c.usage.cache_read_input_tokens,
                c.usage.cache_creation_input_tokens,
                report::dollars(c.cost_usd)
            )?;
        }
    }
    for d in &s.token_differences {
        let (w, l) = (&d.wire.usage, &d.local.usage);
        writeln!(
            out,
            "  counts differ for {}: wire input/output/cache r/w {}/{}/{}/{}, local {}/{}/{}/{} ({}:{})",
            d.wire.message_id.as_deref().unwrap_or("?"),
            w.input_tokens,
            w.output_tokens,
            w.cache_read_input_tokens,
            w.cache_creation_input_tokens,
            l.input_tokens,
            l.output_tokens,
            l.cache_read_input_tokens,
            l.cache_creation_input_tokens,
            d.local.file,
            d.local.line
        )?;
    }
    for l in &s.local_only {
        writeln!(
            out,
            "  in the local logs, not on the wire: {} {} ({}:{})",
            l.message_id, l.model, l.file, l.line
        )?;
    }
    if s.failed_on_wire > 0 {
        writeln!(
            out,
            "  failed on the wire (not billed, not compared): {}",
            s.failed_on_wire
        )?;
    }
    Ok(())
}

pub fn text(out: &mut dyn Write, r: &Reconciliation, style: Style) -> std::io::Result<()> {
    for s in &r.sessions {
        session(out, s, style)?;
    }
    if r.wire_calls_without_session > 0 {
        writeln!(
            out,
            "wire calls without a session id (not compared): {}",
            r.wire_calls_without_session
        )?;
    }
    writeln!(
        out,
        "{} session(s) compared; local logs: {} file(s), {} replies, {} other session(s) not in these archives",
        r.sessions.len(),
        r.local_files,
        r.local_entries,
        r.local_sessions_not_on_wire
    )?;
    let verdict = if r.agree {
        "the wire and the local logs agree".to_owned()
    } else {
        style.red("the wire and the local logs disagree (exit 1)")
    };
    writeln!(out, "{verdict}")
}
