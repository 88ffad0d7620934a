use super::*;
use crate::call::testkit::*;
use crate::warehouse::table::Rows;
use cctap_archive::model::Header;
use serde_json::json;

fn row_of(builder: &mut RowBuilder, i: usize, e: &Entry) -> CallRow {
    let call = Call::from_entry(i, e);
    builder.row(&call, e, "a.har", "ff").expect("an API call")
}

fn with_request_id(mut e: Entry, id: &str) -> Entry {
    e.har.response.headers.push(Header {
        name: "request-id".into(),
        value: id.into(),
        comment: None,
    });
    e
}

#[test]
fn a_main_loop_call_fills_every_column() {
    let prices = Prices::built_in();
    let mut b = RowBuilder::new(&prices);
    let e = with_request_id(
        streamed(
            UA_2_1,
            &main_body("claude-sonnet-4-5-20250929", &["Bash", "Read"], "sys"),
            (10, 20, 300, 4000),
            "hi",
        ),
        "req_011CVabc",
    );
    let r = row_of(&mut b, 4, &e);
    assert_eq!(r.call_id, "req_011CVabc");
    assert_eq!(r.request_id.as_deref(), Some("req_011CVabc"));
    assert_eq!(
        r.session_id.as_deref(),
        Some("11111111-2222-4333-8444-555555555555")
    );
    // 2026-11-25T12:00:00Z
    assert_eq!(r.started_at_us, Some(1_795_608_000_000_000));
    assert_eq!(r.date, "2026-11-25");
    assert_eq!((r.archive.as_str(), r.entry_index), ("a.har", 4));
    assert_eq!(r.host, "api.anthropic.com");
    assert_eq!(r.client_name.as_deref(), Some("claude-cli"));
    assert_eq!(r.client_version.as_deref(), Some("2.1.332"));
    assert_eq!(r.kind, "main");
    assert_eq!(r.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!((r.stream, r.status), (Some(true), 200));
    assert_eq!(r.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(r.message_id.as_deref(), Some("msg_1"));
    assert_eq!(r.tokens, Some([10, 20, 4000, 300, 300, 0]));
    let want = (10.0 * 3.0 + 20.0 * 15.0 + 300.0 * 3.75 + 4000.0 * 0.3) / 1e6;
    assert!((r.cost_usd.unwrap() - want).abs() < 1e-12);
    assert_eq!(r.price_date.as_deref(), Some(prices::TABLE_DATE));
    assert_eq!(r.ttft_ms, Some(320.0));
    assert_eq!(r.duration_ms, Some(1500.0));
    // 20 tokens between the first delta (320 ms) and the last event (350 ms).
    assert!((r.output_tokens_per_s.unwrap() - 20.0 / 0.03).abs() < 1e-6);
    assert_eq!(r.tools_offered, Some(2));
    assert_eq!(r.system_prompt_hash.as_deref().map(str::len), Some(16));
    assert!(r.request_bytes.unwrap() > 100);
    assert!(!r.cut_off);
    let mut rows = Rows::new(COLUMNS);
    rows.push(r.cells());
    assert_eq!(rows.len(), 1);
}

#[test]
fn without_a_request_id_the_id_hashes_the_request_and_its_start() {
    let e = streamed(UA_2_0, &warmup_body("m"), (1, 1, 0, 0), "x");
    let id = request_hash(&e);
    let prices = Prices::built_in();
    assert_eq!(row_of(&mut RowBuilder::new(&prices), 0, &e).call_id, id);
    assert!(id.starts_with("cctap_") && id.len() == 6 + 32, "{id}");
    assert_eq!(request_hash(&e.clone()), id, "a copy is the same call");
    let mut later = e.clone();
    later.har.started_date_time = "2026-11-25T12:00:01.000+00:00".into();
    assert_ne!(request_hash(&later), id, "sent again later: another call");
    let mut other = e.clone();
    other.har.request.post_data.as_mut().unwrap().text = Some("{}".into());
    assert_ne!(request_hash(&other), id);
    let mut answered_differently = e;
    answered_differently.har.response.status = 500;
    assert_eq!(
        request_hash(&answered_differently),
        id,
        "only the request side counts"
    );
}

#[test]
fn failed_calls_retries_and_count_tokens_carry_no_tokens() {
    let prices = Prices::built_in();
    let mut b = RowBuilder::new(&prices);
    let body = main_body("claude-sonnet-4-5-20250929", &["Bash"], "p");
    let failed = answered_json(
        request("https://api.anthropic.com/v1/messages", &[], &body),
        529,
        &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    );
    let r = row_of(&mut b, 0, &failed);
    assert_eq!((r.status, r.tokens, r.cost_usd), (529, None, None));
    assert_eq!(r.error.as_deref(), Some("overloaded_error: Overloaded"));
    assert_eq!(r.price_date, None);
    let retry = row_of(&mut b, 1, &streamed(UA_2_0, &body, (1, 2, 0, 0), "ok"));
    assert_eq!(retry.retry_of_entry, Some(0));
    assert_eq!(retry.kind, "main");

    let mut count = streamed(UA_2_0, &body, (1, 1, 0, 0), "x");
    count.har.request.url = "https://api.anthropic.com/v1/messages/count_tokens".into();
    let c = row_of(&mut b, 2, &count);
    assert_eq!((c.kind.as_str(), c.tokens), ("count_tokens", None));

    let mut telemetry = count;
    telemetry.har.request.url = "https://api.anthropic.com/api/event_logging/v2/batch".into();
    let call = Call::from_entry(3, &telemetry);
    assert!(b.row(&call, &telemetry, "a.har", "ff").is_none());

    let unpriced = row_of(
        &mut b,
        4,
        &streamed(UA_2_1, &warmup_body("glm-4.6"), (5, 5, 0, 0), "x"),
    );
    assert_eq!(unpriced.kind, "warmup");
    assert!(unpriced.tokens.is_some() && unpriced.cost_usd.is_none());
}

#[test]
fn the_prompt_hash_ignores_per_run_parts_and_sees_real_changes() {
    let prices = Prices::built_in();
    let mut b = RowBuilder::new(&prices);
    let env = |dir: &str, date: &str| {
        let mut body = main_body("m", &["Bash"], "Be brief.");
        body["system"][1]["text"] =
            json!(format!("Be brief.\nWorking directory: {dir}\nToday's date: {date}\nFiles under {dir} are yours."));
        streamed(UA_2_0, &body, (1, 1, 0, 0), "x")
    };
    let a = row_of(&mut b, 0, &env("/tmp/a", "2026-11-24"));
    let b2 = row_of(&mut b, 1, &env("/home/u/proj", "2026-12-01"));
    assert_eq!(a.system_prompt_hash, b2.system_prompt_hash);
    let mut changed = main_body("m", &["Bash"], "Be verbose.");
    changed["system"][1]["text"] = json!("Be verbose.\nWorking directory: /tmp/a");
    let c = row_of(&mut b, 2, &streamed(UA_2_0, &changed, (1, 1, 0, 0), "x"));
    assert_ne!(c.system_prompt_hash, a.system_prompt_hash);

    // 2.1.x: the directory is named in a `role: "system"` message.
    let with_msg = |dir: &str| {
        let mut body = main_body("m", &["Bash"], "Memory lives beside the project.");
        body["system"][1]["text"] = json!(format!("Notes for {dir} go in {dir}/NOTES."));
        body["messages"] = json!([
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "system", "content": [{"type": "text", "text": format!("Primary working directory: {dir}\n")}]}
        ]);
        streamed(UA_2_1, &body, (1, 1, 0, 0), "x")
    };
    let x = row_of(&mut b, 3, &with_msg("/w/one"));
    let y = row_of(&mut b, 4, &with_msg("/w/two"));
    assert_eq!(x.system_prompt_hash, y.system_prompt_hash);
}
