#!/usr/bin/env python3
"""Checks `analyze export --format parquet` with real readers (DuckDB, pyarrow).

    warehouse_check.py ANALYZE REPO     (run by .ci/warehouse.sh, which installs both)

- per-model token and cost sums in DuckDB equal `analyze usage --json`;
- exporting twice, and exporting overlapping archives (a copy, a
  recompressed .har.zst, a cut-off copy), leave count(*) = count(DISTINCT call_id);
- pyarrow and DuckDB read every column with the type analyzer/README.md
  documents, and the README's example queries run;
- the peer archives (shared/peer-archives, when present) export without a
  duplicate;
- without --with-content no prompt text is in the warehouse; with it, the
  `messages` table holds every block `analyze show --json` shows, redacted,
  with the documented types, once per call however often it is exported.
Prints one line per check and `N passed, M failed`; exits 1 on a failure.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

ANALYZE, REPO = sys.argv[1], Path(sys.argv[2])
passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name}: {detail}")


def analyze(*args):
    r = subprocess.run([ANALYZE, *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"analyze {' '.join(map(str, args))} exited {r.returncode}:\n{r.stderr}")
    return r


def export(wh, *archives):
    return json.loads(analyze("export", *archives, "--format", "parquet", "-o", wh, "--json").stdout)


def calls(wh):
    return f"read_parquet('{wh}/calls/**/*.parquet', hive_partitioning = true)"


def scalar(sql):
    return duckdb.sql(sql).fetchall()[0]


def distinct_ids(wh):
    if not list(Path(wh).glob("calls/*/*.parquet")):
        return (0, 0)
    return scalar(f"SELECT count(*), count(DISTINCT call_id) FROM {calls(wh)}")


def documented_schema():
    """(name, sql type, nullable) from the README's calls table."""
    text = (REPO / "analyzer/README.md").read_text()
    table = text.split("<!-- calls-schema:begin -->")[1].split("<!-- calls-schema:end -->")[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| (yes|no) \|", table, re.M)
    return [(name, sql.strip(), null == "yes") for name, sql, null in rows]


ARROW = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
    "VARCHAR[]": pa.list_(pa.string()),
}


def usage_sums_match(tmp):
    # Real recordings: unique calls, several models, failures, retries;
    # and OpenAI-style calls (usage mapped, one stream without usage).
    archives = [REPO / "fixtures/claude-code", REPO / "fixtures/claude-code-forward",
                REPO / "fixtures/handmade/openai.har"]
    wh = tmp / "sums"
    v = export(wh, *archives)
    dups = sum(a.get("duplicate_calls", 0) for a in v["archives"])
    check("the sum fixtures hold no call twice", dups == 0, f"{dups} duplicates")
    usage = json.loads(analyze("usage", *archives, "--json").stdout)
    got = {}
    for row in duckdb.sql(f"""
        SELECT coalesce(model, '(none)') || CASE WHEN offline THEN ' (estimated, offline)' ELSE '' END,
               count(*), sum(input_tokens), sum(output_tokens),
               sum(cache_creation_input_tokens), sum(cache_read_input_tokens),
               sum(cache_creation_5m_input_tokens), sum(cache_creation_1h_input_tokens),
               sum(cost_usd), count(*) FILTER (WHERE cost_usd IS NULL AND NOT offline)
        FROM {calls(wh)} WHERE input_tokens IS NOT NULL GROUP BY ALL""").fetchall():
        got[row[0]] = row[1:]
    want = {}
    for g in usage["groups"]:
        want[g["key"]] = (g["requests"], g["input_tokens"], g["output_tokens"],
                          g["cache_creation_input_tokens"], g["cache_read_input_tokens"],
                          g["ephemeral_5m_input_tokens"], g["ephemeral_1h_input_tokens"],
                          g["cost_usd"], g["unpriced_requests"])
    check("models are the same as usage --json", sorted(got) == sorted(want), f"{sorted(got)} vs {sorted(want)}")
    for model, w in want.items():
        g = got.get(model)
        same = g is not None and g[:7] == w[:7] and g[8] == w[8] and (
            (g[7] is None and w[7] is None) or (g[7] is not None and w[7] is not None and abs(g[7] - w[7]) < 1e-9))
        check(f"per-model sums equal usage --json ({model}: {w[0]} calls, ${w[7]})", same, f"parquet {g} vs usage {w}")
    failed_calls = scalar(f"SELECT count(*) FROM {calls(wh)} WHERE input_tokens IS NULL AND kind <> 'count_tokens'")[0]
    apart = usage["failed"]["requests"] + usage["usage_not_reported"]["requests"]
    check("calls without tokens are the ones usage sets apart (failed, usage not reported)",
          failed_calls == apart and usage["usage_not_reported"]["requests"] == 1, f"{failed_calls} vs {apart}")
    openai_kinds = dict(duckdb.sql(f"SELECT kind, count(*) FROM {calls(wh)} "
                                   "WHERE kind IN ('chat/completions', 'responses') GROUP BY ALL").fetchall())
    check("OpenAI-style calls are rows of their kind", openai_kinds == {"chat/completions": 4, "responses": 2},
          f"{openai_kinds}")
    n, d = distinct_ids(wh)
    again = export(wh, *archives)
    check("exporting twice adds nothing", again["calls_added"] == 0 and distinct_ids(wh) == (n, d), f"{again['calls_added']} added")
    check("count(*) = count(DISTINCT call_id) after exporting twice", n == d and n > 0, f"{n} rows, {d} ids")
    return wh


def overlapping_archives(tmp):
    src = REPO / "fixtures/claude-code/2.0.50-offline.har"
    copy = tmp / "copy.har"
    shutil.copy(src, copy)
    recompressed = tmp / "recompressed.har.zst"
    analyze("export", src, "-o", recompressed)
    text = src.read_text()
    cut = tmp / "cut.har"
    cut.write_text(text[: text.rfind('"startedDateTime"')])
    wh = tmp / "overlap"
    first = export(wh, copy)
    n = first["calls_added"]
    both = export(wh, recompressed, cut, src)
    rows, ids = distinct_ids(wh)
    check("overlapping archives add no call twice",
          both["calls_added"] == 0 and rows == ids == n and n > 0,
          f"{n} calls first, then {both['calls_added']} more; {rows} rows, {ids} ids")


def types_as_documented(wh):
    doc = documented_schema()
    check("the README documents the columns", len(doc) > 30, f"{len(doc)} rows")
    schema = ds.dataset(f"{wh}/calls", format="parquet", partitioning="hive").schema
    for name, sql, nullable in doc:
        field = schema.field(name) if name in schema.names else None
        ok = field is not None and field.type == ARROW[sql] and field.nullable == nullable
        check(f"pyarrow reads {name} as {ARROW[sql]}", ok, f"got {field}")
    described = {r[0]: r[1] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {calls(wh)}").fetchall()}
    wrong = [(n, sql, described.get(n)) for n, sql, _ in doc if described.get(n) != sql]
    check("DuckDB reads every column with the documented type", not wrong, str(wrong))
    check("DuckDB gets date from the Hive path", "date" in described, str(described.get("date")))
    text = (REPO / "analyzer/README.md").read_text()
    section = text.split("## Parquet warehouse")[1].split("\n## ")[0]
    queries = [q for q in re.findall(r"```sql\n(.*?)```", section, re.S) if "warehouse/messages" not in q]
    check("the README has three example queries", len(queries) == 3, f"{len(queries)}")
    for q in queries:
        # Counted in DuckDB: fetching timestamptz values would need pytz.
        q = q.replace("'warehouse/", f"'{wh}/").strip().rstrip(";")
        rows = scalar(f"SELECT count(*) FROM ({q})")[0]
        check(f"README query runs: {q.splitlines()[0][:60]}…", rows > 0, "no rows")


def peer_archives(tmp):
    for base in [os.environ.get("CCTAP_SHARED"), REPO.parent / "shared", "/work/shared"]:
        if base and (Path(base) / "peer-archives").is_dir():
            peers = Path(base) / "peer-archives"
            break
    else:
        print("skip  peer archives: no shared/peer-archives beside the repository (set CCTAP_SHARED)")
        return
    files = [p for p in sorted(peers.rglob("*")) if p.is_file() and re.search(r"\.(har|har\.zst|har\.gz|flows?|mitm)$", p.name)]
    wh = tmp / "peers"
    r = subprocess.run([ANALYZE, "export", *files, "--format", "parquet", "-o", wh, "--json"], capture_output=True, text=True)
    # Exit 2 with JSON on stdout: some archives or entries could not be read
    # (named on stderr); the rest was exported.
    if r.returncode not in (0, 2) or not r.stdout.strip():
        check("peer archives export", False, r.stderr[-2000:])
        return
    v = json.loads(r.stdout)
    print(f"      peer archives: {v['unreadable_archives']} of {len(files)} not readable (analyze exit {r.returncode})")
    rows, ids = distinct_ids(wh)
    # They are other tools' test data: few, if any, Messages API calls.
    check(f"{len(files)} peer archives export: {rows} calls, none twice", rows == ids, f"{rows} rows, {ids} ids")


def messages(wh):
    return f"read_parquet('{wh}/messages/**/*.parquet', hive_partitioning = true)"


def documented_messages():
    text = (REPO / "analyzer/README.md").read_text()
    table = text.split("<!-- messages-schema:begin -->")[1].split("<!-- messages-schema:end -->")[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| (yes|no) \|", table, re.M)
    return [(name, sql.strip(), null == "yes") for name, sql, null in rows]


def content(tmp):
    real = REPO / "fixtures/claude-code/2.1.332-offline.har"
    tools = REPO / "fixtures/handmade/cc-2.1.332.har"  # its reply calls tools
    leaky = REPO / "fixtures/handmade/key-in-prompt.har"
    show = json.loads(analyze("show", "--json", real, "0").stdout)
    first = show["messages"][0]["content"]
    first = first if isinstance(first, str) else first[0]["text"]

    plain = tmp / "plain"
    export(plain, real)
    strings = ds.dataset(plain / "calls", format="parquet", partitioning="hive").to_table()
    texts = [v for col in strings.columns if pa.types.is_string(col.type) for v in col.to_pylist() if v]
    probe = first.strip()[:60]
    check("without --with-content: no messages table", not (plain / "messages").exists())
    check("without --with-content: no prompt text in the warehouse",
          len(probe) > 20 and not any(probe in t for t in texts), probe)

    wh = tmp / "content"
    v = json.loads(analyze("export", real, tools, leaky, "--format", "parquet", "--with-content",
                           "-o", wh, "--json").stdout)
    check("--with-content writes message rows", v["message_rows_added"] > 0, str(v["message_rows_added"]))
    cid = scalar(f"SELECT call_id FROM {calls(wh)} WHERE archive LIKE '%2.1.332-offline.har'")[0]
    per_source = dict(duckdb.sql(f"SELECT source, count(*) FROM {messages(wh)} WHERE call_id = '{cid}' GROUP BY source").fetchall())
    blocks = sum(1 if isinstance(m["content"], str) else len(m["content"]) for m in show["messages"])
    check("one system row per system block (2.1.332)", per_source.get("system") == len(show["system"]),
          f"{per_source} vs {len(show['system'])} system blocks")
    check("one request row per message block (2.1.332)", per_source.get("request") == blocks,
          f"{per_source} vs {blocks} blocks")
    got = scalar(f"SELECT text FROM {messages(wh)} WHERE call_id = '{cid}' AND source = 'request' "
                 "AND message_index = 0 AND block_index = 0")[0]
    check("the first user block's text is show --json's", got == first, f"{got[:80]!r} vs {first[:80]!r}")
    reply = duckdb.sql(f"SELECT type, text FROM {messages(wh)} WHERE call_id = '{cid}' AND source = 'reply' "
                       "ORDER BY block_index").fetchall()
    check("the reply's text is show --json's", ("text", show["reply"]["text"]) in reply, str(reply)[:200])

    tool_show = json.loads(analyze("show", "--json", tools, "0").stdout)
    want_tools = [t["name"] for t in tool_show["reply"]["tool_calls"]]
    tcid = scalar(f"SELECT call_id FROM {calls(wh)} WHERE archive LIKE '%handmade/cc-2.1.332.har' AND entry_index = 0")[0]
    got_tools = [r[0] for r in duckdb.sql(f"SELECT tool_name FROM {messages(wh)} WHERE call_id = '{tcid}' "
                                          "AND source = 'reply' AND type = 'tool_use' ORDER BY block_index").fetchall()]
    check("reply tool_use rows name show --json's tool calls", want_tools and got_tools == want_tools,
          f"{got_tools} vs {want_tools}")

    orphans = scalar(f"SELECT count(*) FROM {messages(wh)} WHERE call_id NOT IN (SELECT call_id FROM {calls(wh)})")[0]
    check("every message row belongs to a call", orphans == 0, f"{orphans} orphans")
    leaked = scalar(f"SELECT count(*) FROM {messages(wh)} WHERE text LIKE '%FAKEpasted%'")[0]
    marked = scalar(f"SELECT count(*) FROM {messages(wh)} WHERE text LIKE '%redacted:sk-ant-api03:%'")[0]
    check("a key left in an archive is written as its marker", leaked == 0 and marked > 0, f"{leaked} leaked, {marked} marked")

    again = json.loads(analyze("export", real, "--format", "parquet", "--with-content", "-o", wh, "--json").stdout)
    n = scalar(f"SELECT count(*) FROM (SELECT DISTINCT call_id, source, message_index, block_index FROM {messages(wh)})")[0]
    total = scalar(f"SELECT count(*) FROM {messages(wh)}")[0]
    check("exporting again adds no message row", again["message_rows_added"] == 0 and n == total, f"{total} rows, {n} distinct")

    doc = documented_messages()
    schema = ds.dataset(f"{wh}/messages", format="parquet", partitioning="hive").schema
    wrong = [(name, sql, str(schema.field(name).type) if name in schema.names else None)
             for name, sql, nullable in doc
             if name not in schema.names or schema.field(name).type != ARROW[sql] or schema.field(name).nullable != nullable]
    check(f"pyarrow reads the {len(doc)} documented messages columns with their types", len(doc) > 10 and not wrong, str(wrong))
    text = (REPO / "analyzer/README.md").read_text()
    for q in [q for q in re.findall(r"```sql\n(.*?)```", text, re.S) if "warehouse/messages" in q]:
        q = q.replace("'warehouse/", f"'{wh}/").strip().rstrip(";")
        rows = scalar(f"SELECT count(*) FROM ({q})")[0]
        check(f"README messages query runs: {q.splitlines()[0][:50]}…", rows > 0, "no rows")


def main():
    with tempfile.TemporaryDirectory(prefix="cctap-warehouse.") as t:
        tmp = Path(t)
        wh = usage_sums_match(tmp)
        overlapping_archives(tmp)
        types_as_documented(wh)
        peer_archives(tmp)
        content(tmp)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
