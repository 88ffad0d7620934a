//! The wire (entries built in code) against the hand-made transcript in
//! `fixtures/transcripts/` (see its README for what each line is).

use super::*;
use crate::call::testkit::*;
use cctap_archive::model::Header;
use cctap_archive::Entry;
use serde_json::json;
use std::path::Path;

const SESSION: &str = "11111111-2222-4333-8444-555555555555";

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/transcripts")
}

/// A streamed reply whose message id and request id are given.
fn reply(body: &serde_json::Value, usage: (u64, u64, u64, u64), msg: &str, at: &str) -> Entry {
    let mut e = streamed(UA_2_1, body, usage, "x");
    for ev in e.sse_events.as_mut().unwrap() {
        ev.data = ev.data.replace("\"msg_1\"", &format!("\"{msg}\""));
    }
    e.har.started_date_time = format!("2026-11-25T12:00:{at}.000+00:00");
    e.har.response.headers.push(Header {
        name: "request-id".into(),
        value: msg.replace("msg_", "req_"),
        comment: None,
    });
    e
}

fn wire() -> (Vec<WireCall>, HashMap<String, usize>) {
    let main = main_body(
        "claude-sonnet-4-5-20250929",
        &["Bash", "Agent"],
        "You are Claude Code.",
    );
    let sub = main_body(
        "claude-sonnet-4-5-20250929",
        &["Bash"],
        "You are a search subagent.",
    );
    let failed = answered_json(
        request(
            "https://api.anthropic.com/v1/messages",
            &[],
            &warmup_body("claude-haiku-4-5-20251001"),
        ),
        529,
        &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    );
    let mut failed = failed;
    failed.har.started_date_time = "2026-11-25T12:00:06.000+00:00".into();
    let entries = [
        reply(&main, (10, 20, 300, 4000), "msg_main1", "01"),
        reply(
            &warmup_body("claude-haiku-4-5-20251001"),
            (4, 9, 0, 0),
            "msg_warm",
            "02",
        ),
        reply(&main, (12, 30, 0, 4300), "msg_main2", "05"),
        reply(&sub, (100, 50, 0, 0), "msg_sub", "04"),
        failed,
        reply(
            &warmup_body("claude-haiku-4-5-20251001"),
            (4, 9, 0, 0),
            "msg_retry",
            "07",
        ),
    ];
    let prices = Prices::built_in();
    let mut builder = RowBuilder::new(&prices);
    let mut calls = Vec::new();
    let mut failed = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let call = Call::from_entry(i, e);
        let row = builder.row(&call, e, "a.har", "").unwrap();
        match (&call.reply.usage, call.failed()) {
            (Some(u), false) => calls.push(wire_call(&call, row, u.clone())),
            _ => *failed.entry(row.session_id.unwrap()).or_insert(0) += 1,
        }
    }
    (calls, failed)
}

#[test]
fn the_hand_made_transcript_is_read_merged_and_filtered() {
    let logs = LocalLogs::read(&fixture_dir()).unwrap();
    assert_eq!(logs.files, 1);
    assert_eq!(logs.bad_lines, 1, "the line cut off mid-write");
    let ids: Vec<&str> = logs.calls.iter().map(|c| c.message_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "msg_main1",
            "msg_main2",
            "msg_local_only",
            "msg_other_session"
        ],
        "one per message, no synthetic"
    );
    let first = &logs.calls[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.request_id.as_deref(), Some("req_main1"));
    assert_eq!(first.session, SESSION);
    assert_eq!(
        (
            first.usage.input_tokens,
            first.usage.output_tokens,
            first.usage.cache_read_input_tokens
        ),
        (10, 20, 4000)
    );
}

#[test]
fn missing_calls_by_kind_differences_and_local_only_entries() {
    let logs = LocalLogs::read(&fixture_dir()).unwrap();
    let (calls, failed) = wire();
    let prices = Prices::built_in();
    let r = reconcile(calls, &failed, &logs, &prices);
    assert!(!r.agree);
    assert_eq!(r.sessions.len(), 1);
    assert_eq!(r.local_sessions_not_on_wire, 1);
    let s = &r.sessions[0];
    assert_eq!(s.session, SESSION);
    assert_eq!(s.matched, 2, "msg_main1 and msg_main2");
    assert_eq!(s.failed_on_wire, 1);
    let kinds: Vec<(&str, usize)> = s
        .missing_by_kind
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    assert_eq!(kinds, [("retry", 1), ("side:warmup", 1), ("subagent", 1)]);
    assert_eq!(s.missing_sums.input_tokens, 4 + 100 + 4);
    assert_eq!(s.missing_sums.output_tokens, 9 + 50 + 9);
    assert!(s.missing_sums.cost_usd > 0.0);
    assert_eq!(s.token_differences.len(), 1);
    let d = &s.token_differences[0];
    assert_eq!(d.wire.message_id.as_deref(), Some("msg_main2"));
    assert_eq!(
        (d.wire.usage.output_tokens, d.local.usage.output_tokens),
        (30, 1)
    );
    assert_eq!(s.local_only.len(), 1);
    assert_eq!(s.local_only[0].message_id, "msg_local_only");
    assert_eq!(s.wire.calls, 5);
    assert_eq!(s.local.calls, 3);
    assert_eq!(s.wire.output_tokens, 20 + 9 + 30 + 50 + 9);
    assert_eq!(s.local.output_tokens, 20 + 1 + 3);
    assert!(s.wire.cost_usd > s.local.cost_usd);

    let mut text = Vec::new();
    render::text(&mut text, &r, Style::default()).unwrap();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("missing from the local logs: 3 (retry ×1, side:warmup ×1, subagent ×1)"),
        "{text}"
    );
    assert!(text.contains("counts differ for msg_main2"), "{text}");
    assert!(text.contains("disagree (exit 1)"), "{text}");
}

#[test]
fn a_session_logged_in_full_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let line = json!({"type": "assistant", "sessionId": SESSION, "requestId": "req_main1",
        "message": {"id": "msg_main1", "model": "claude-sonnet-4-5-20250929",
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 4000, "output_tokens": 20}}});
    std::fs::write(dir.path().join("s.jsonl"), format!("{line}\n")).unwrap();
    let logs = LocalLogs::read(dir.path()).unwrap();
    let (mut calls, _) = wire();
    calls.truncate(1);
    let r = reconcile(calls, &HashMap::new(), &logs, &Prices::built_in());
    assert!(r.agree, "{r:?}");
    assert_eq!(r.sessions[0].matched, 1);
    assert!(LocalLogs::read(&dir.path().join("nope")).is_err());
}
