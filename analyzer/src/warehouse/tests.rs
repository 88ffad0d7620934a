//! A warehouse written and read back in-process: partitions, dedupe,
//! the manifest, cut-off archives, refusals.

use super::*;
use crate::call::testkit::*;
use crate::cli::ConvertArgs;
use cctap_archive::model::Header;
use cctap_archive::{ArchiveWriter, Entry, LogHead};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use std::collections::BTreeMap;

fn entry(n: usize, day: &str) -> Entry {
    let mut e = streamed(
        UA_2_1,
        &main_body("claude-sonnet-4-5-20250929", &["Bash"], "p"),
        (n as u64, 10, 0, 0),
        "x",
    );
    e.har.started_date_time = format!("{day}T12:00:{n:02}.000+00:00");
    e.har.response.headers.push(Header {
        name: "request-id".into(),
        value: format!("req_{n}"),
        comment: None,
    });
    e
}

fn write_archive(path: &Path, entries: &[Entry]) {
    let mut w = ArchiveWriter::create(path, &LogHead::new("test", "1")).unwrap();
    for e in entries {
        w.append(e).unwrap();
    }
    w.finish().unwrap();
}

fn args(inputs: &[&Path], out: &Path) -> ExportArgs {
    ExportArgs {
        convert: ConvertArgs {
            input: inputs[0].to_owned(),
            output: out.to_owned(),
        },
        more: inputs[1..].iter().map(|p| p.to_path_buf()).collect(),
        format: ExportFormat::Parquet,
        prices: None,
        with_content: false,
    }
}

fn export_json(inputs: &[&Path], out: &Path) -> serde_json::Value {
    let mut buf = Vec::new();
    export(&args(inputs, out), true, &mut buf).unwrap();
    serde_json::from_slice(&buf).unwrap()
}

/// Every row of the `calls` table, as column → field.
fn rows(warehouse: &Path) -> Vec<BTreeMap<String, Field>> {
    let mut out = Vec::new();
    for path in dataset::parquet_files(&warehouse.join("calls")).unwrap() {
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        for row in reader.get_row_iter(None).unwrap() {
            let row = row.unwrap();
            out.push(
                row.get_column_iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            );
        }
    }
    out
}

fn ids(warehouse: &Path) -> Vec<String> {
    let mut v: Vec<String> = rows(warehouse)
        .iter()
        .map(|r| r["call_id"].to_string().trim_matches('"').to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn overlapping_archives_and_reexports_never_duplicate_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.har.zst"), dir.path().join("b.har"));
    let all: Vec<Entry> = (1..=4)
        .map(|n| entry(n, if n < 3 { "2026-11-25" } else { "2026-11-26" }))
        .collect();
    write_archive(&a, &all[..3]);
    write_archive(&b, &all[1..]);
    let wh = dir.path().join("wh");

    let first = export_json(&[&a], &wh);
    assert_eq!(first["calls_added"], 3);
    assert_eq!(ids(&wh), ["req_1", "req_2", "req_3"]);
    let days: Vec<String> = dataset::parquet_files(&wh.join("calls"))
        .unwrap()
        .iter()
        .map(|p| p.strip_prefix(&wh).unwrap().display().to_string())
        .collect();
    assert_eq!(days.len(), 2, "{days:?}");
    assert!(
        days[0].starts_with("calls/date=2026-11-25/part-"),
        "{days:?}"
    );
    assert!(
        days[1].starts_with("calls/date=2026-11-26/part-"),
        "{days:?}"
    );

    let again = export_json(&[&a], &wh);
    assert_eq!(again["calls_added"], 0);
    assert_eq!(again["archives"][0]["status"], "already exported");

    // The same archive under another name is found by its hash.
    let copy = dir.path().join("copy-of-a.har.zst");
    std::fs::copy(&a, &copy).unwrap();
    let second = export_json(&[&copy, &b], &wh);
    assert_eq!(second["archives"][0]["status"], "already exported");
    assert_eq!(second["archives"][1]["calls"], 3);
    assert_eq!(second["archives"][1]["new_calls"], 1);
    assert_eq!(second["archives"][1]["duplicate_calls"], 2);
    assert_eq!(ids(&wh), ["req_1", "req_2", "req_3", "req_4"]);

    let m = Manifest::load(&wh).unwrap();
    assert_eq!(m.archives.len(), 2);
    assert_eq!(m.archives[0].entries, 3);
    assert_eq!(m.archives[0].calls, 3);
    assert_eq!(
        m.archives[0].first_started_at.as_deref(),
        Some("2026-11-25T12:00:01.000+00:00")
    );
    assert_eq!(
        m.archives[1].last_started_at.as_deref(),
        Some("2026-11-26T12:00:04.000+00:00")
    );
    assert_eq!(m.archives[1].new_calls, 1);
    assert_eq!(m.archives[1].files.len(), 1, "one new call, one file");
    let walk = dataset::parquet_files(&wh).unwrap();
    assert_eq!(walk.len(), 3);
    let tmp = std::fs::read_dir(wh.join("calls/date=2026-11-26"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "tmp")
        .count();
    assert_eq!(tmp, 0, "no temporary file is left");
}

#[test]
fn a_request_id_reused_by_another_request_does_not_hide_it() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.har"), dir.path().join("b.har"));
    write_archive(&a, &[entry(1, "2026-11-25")]);
    // Another request, numbered req_1 again by its (fake) upstream.
    let mut other = entry(2, "2026-11-25");
    other.har.response.headers.last_mut().unwrap().value = "req_1".into();
    write_archive(&b, &[other.clone(), other]);
    let wh = dir.path().join("wh");
    let v = export_json(&[&a, &b], &wh);
    assert_eq!(v["calls_added"], 2, "{v}");
    assert_eq!(
        v["archives"][1]["duplicate_calls"], 1,
        "the same call twice is one"
    );
    let got = ids(&wh);
    assert_eq!(got[1], "req_1");
    assert!(got[0].starts_with("cctap_"), "{got:?}");
}

#[test]
fn the_rows_read_back_with_their_types() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.har");
    write_archive(&a, &[entry(7, "2026-11-25")]);
    let wh = dir.path().join("wh");
    export_json(&[&a], &wh);
    let rows = rows(&wh);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.len(), calls::COLUMNS.len());
    assert_eq!(r["call_id"], Field::Str("req_7".into()));
    assert_eq!(r["input_tokens"], Field::Long(7));
    assert_eq!(r["status"], Field::Int(200));
    assert_eq!(r["stream"], Field::Bool(true));
    assert_eq!(r["entry_index"], Field::Long(0));
    assert_eq!(r["archive"], Field::Str(a.display().to_string()));
    assert_eq!(
        r["started_at"],
        Field::TimestampMicros(1_795_608_007_000_000)
    );
    assert_eq!(r["retry_of_entry"], Field::Null);
    assert!(matches!(r["cost_usd"], Field::Double(c) if c > 0.0));
    assert!(matches!(&r["tool_names"], Field::ListInternal(l) if l.len() == 0));
}

#[test]
fn a_cut_off_archive_exports_what_it_holds_and_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("cut.har");
    write_archive(&a, &[entry(1, "2026-11-25"), entry(2, "2026-11-25")]);
    let text = std::fs::read_to_string(&a).unwrap();
    let cut = text.rfind("]}").unwrap();
    std::fs::write(&a, &text[..cut]).unwrap();
    let wh = dir.path().join("wh");
    let v = export_json(&[&a], &wh);
    assert_eq!(v["archives"][0]["cut_off"], true);
    assert_eq!(v["calls_added"], 2);
    assert!(Manifest::load(&wh).unwrap().archives[0].cut_off);
}

#[test]
fn an_unrelated_directory_and_stdin_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.har");
    write_archive(&a, &[entry(1, "2026-11-25")]);
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let err = export(&args(&[&a], &busy), false, &mut Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not empty and has no _cctap_manifest.json"),
        "{err}"
    );
    let err = export(
        &args(&[Path::new("-")], &dir.path().join("w")),
        false,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("save standard input to a file"),
        "{err}"
    );
    let mut convert = args(&[&a, &a], &dir.path().join("x.har"));
    convert.format = ExportFormat::Archive;
    let err = export(&convert, false, &mut Vec::new()).unwrap_err();
    assert!(
        err.to_string().contains("go with --format parquet"),
        "{err}"
    );
}

#[test]
fn memory_stays_bounded_many_days_and_many_rows() {
    // More days than open files allowed, and more rows than one group.
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    std::fs::create_dir(&wh).unwrap();
    let mut t = dataset::Table::new(&wh, "calls", calls::COLUMNS, "t").unwrap();
    let prices = Prices::built_in();
    let mut b = calls::RowBuilder::new(&prices);
    let e = entry(1, "2026-11-25");
    let call = Call::from_entry(0, &e);
    let base = b.row(&call, &e, "a", "h").unwrap();
    let days = dataset::MAX_OPEN + 8;
    for i in 0..(days * 2) {
        let mut r = base.clone();
        r.call_id = format!("id{i}");
        r.date = format!("2026-{:02}-{:02}", 1 + (i % days) / 28, 1 + (i % days) % 28);
        t.push(&r.date.clone(), r.cells()).unwrap();
    }
    let written = t.commit().unwrap();
    let total: usize = written.iter().map(|w| w.rows).sum();
    assert_eq!(total, days * 2);
    assert!(
        written.len() > days,
        "days closed early continue in a second file: {}",
        written.len()
    );
    assert!(written
        .iter()
        .any(|w| w.relative.ends_with("part-t-1.parquet")));
    assert_eq!(ids(&wh).len(), days * 2);
}

/// The README's schema table, as the columns say it should read.
fn schema_markdown(columns: &[super::table::Column]) -> String {
    let mut s =
        String::from("| column | type | null | what it holds |\n| --- | --- | --- | --- |\n");
    for c in columns {
        let null = if c.nullable { "yes" } else { "no" };
        s.push_str(&format!(
            "| `{}` | {} | {null} | {} |\n",
            c.name,
            c.kind.sql(),
            c.doc
        ));
    }
    s
}

#[test]
fn the_readme_documents_every_column_with_its_type() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (table, columns) in [
        ("calls", calls::COLUMNS),
        ("messages", super::messages::COLUMNS),
    ] {
        let begin = format!("<!-- {table}-schema:begin -->\n");
        let end = format!("<!-- {table}-schema:end -->");
        let start = readme
            .find(&begin)
            .expect("schema markers in analyzer/README.md")
            + begin.len();
        let stop = readme[start..].find(&end).unwrap() + start;
        let want = schema_markdown(columns);
        assert!(
            readme[start..stop] == want,
            "analyzer/README.md's {table} schema is out of date; it should read:\n{want}"
        );
    }
}

/// OpenAI-style calls get rows with their usage mapped as `usage` maps it
/// (the cached part of the prompt under cache reads); one whose stream
/// reported no usage has null tokens, not zeros; the GET listing stored
/// completions gets no row.
#[test]
fn openai_style_calls_are_rows_with_mapped_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let har = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/handmade/openai.har");
    let wh = dir.path().join("wh");
    assert_eq!(export_json(&[&har], &wh)["calls_added"], 7);
    let mut got: Vec<(i64, String, String, Field, Field, Field, Field)> = rows(&wh)
        .into_iter()
        .map(|r| {
            let s = |k: &str| r[k].to_string().trim_matches('"').to_owned();
            let Field::Long(i) = r["entry_index"] else {
                panic!("{r:?}")
            };
            (
                i,
                s("kind"),
                s("model"),
                r["input_tokens"].clone(),
                r["output_tokens"].clone(),
                r["cache_read_input_tokens"].clone(),
                r["cache_creation_input_tokens"].clone(),
            )
        })
        .collect();
    got.sort_by_key(|r| r.0);
    let (l, n) = (Field::Long, Field::Null);
    let row = |i, k: &str, m: &str, t: [Field; 4]| {
        let [a, b, c, d] = t;
        (i, k.to_owned(), m.to_owned(), a, b, c, d)
    };
    assert_eq!(
        got,
        [
            row(
                0,
                "chat/completions",
                "gpt-4o",
                [l(176), l(300), l(1024), l(0)]
            ),
            row(
                1,
                "chat/completions",
                "gpt-4o-mini",
                [l(128), l(21), l(1920), l(0)]
            ),
            row(
                2,
                "chat/completions",
                "gpt-4o-mini",
                [n.clone(), n.clone(), n.clone(), n.clone()]
            ),
            row(3, "responses", "o4-mini", [l(500), l(900), l(0), l(0)]),
            row(
                4,
                "responses",
                "gpt-5-mini",
                [l(952), l(400), l(2048), l(0)]
            ),
            row(
                5,
                "chat/completions",
                "gpt-4o",
                [n.clone(), n.clone(), n.clone(), n.clone()]
            ),
            row(
                7,
                "side",
                "claude-haiku-4-5-20251001",
                [l(7), l(5), l(0), l(0)]
            ),
        ]
    );
}
