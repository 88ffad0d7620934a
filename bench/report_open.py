#!/usr/bin/env python3
"""How fast `analyze report` pages open in Debian's chromium (Playwright).

Run by bench/report.sh, which builds the binaries, writes the sessions and
their reports, and installs the browser. Each round loads every report once,
in a rotated order, each in a fresh browser context, and takes from the
page's own clock (navigation start = 0):

- DOM interactive and the load event (the page is parsed, its script ran);
- then, timed inside the page, each to the frame after it: the Conversation
  tab shown, "expand" (the middle call of the session expanded: its body is
  parsed from its inert JSON block only then, and drawn), "timeline" (the
  Timeline tab shown and its waterfall laid out);
- "ready" = load event + tab + expand: the page open and answering a user,
  the issue's "interactive within 2 s";
- "driven": the same moment as Playwright sees it, its round trips to the
  browser included (an upper bound).

Prints medians over the rounds, each as a ratio to the smallest report (the
page's fixed cost, run side by side), and the issue's target (a 1,000-call
report open and interactive within 2 s) as PASS or MISS. Nothing here is a
test: figures move with the machine's load.

    report_open.py --chromium PATH --rounds N --table ROWS.json
"""
import argparse
import json
import os
import statistics
import sys

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TARGET_MS = 2000


# In the page: switch to Conversation, expand the middle call, switch to
# Timeline; each step timed to the frame after it (the user sees it then).
STEPS = """async (middle) => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const tab = (name) => document.querySelector(`#tabs a[data-tab="${name}"]`).click();
  const t0 = performance.now();
  tab("conversation");
  await frame();
  const t1 = performance.now();
  const call = document.querySelector(`details.call[data-entry="${middle}"]`);
  call.querySelector("summary").click();
  await frame();
  const drawn = call.querySelectorAll(".body .msg").length;
  const t2 = performance.now();
  tab("timeline");
  await frame();
  const t3 = performance.now();
  return {tab: t1 - t0, expand: t2 - t1, timeline: t3 - t2, drawn,
          bars: document.querySelectorAll("#waterfall .wfrow").length};
}"""


def load_once(browser, html, middle):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("file://" + os.path.abspath(html), wait_until="load")
    nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
    steps = page.evaluate(STEPS, middle)
    # The same, as a user of the driver sees it: its round trips included.
    driven = page.evaluate("performance.now()")
    ctx.close()
    if errors or not steps["drawn"]:
        raise RuntimeError(f"{html}: page errors {errors}, {steps['drawn']} messages drawn")
    ready = nav["loadEventEnd"] + steps["tab"] + steps["expand"]
    return {"interactive": nav["domInteractive"], "load": nav["loadEventEnd"],
            "expand": steps["expand"], "ready": ready, "timeline": steps["timeline"],
            "driven": driven, "bars": steps["bars"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--table", required=True, help="JSON list of {calls, har, archive, report, write_ms, html}")
    opts = ap.parse_args()
    rows = json.load(open(opts.table))
    runs = {r["html"]: [] for r in rows}
    with sync_playwright() as pw:
        # launch() gives the browser a throwaway profile; each load a fresh context.
        browser = pw.chromium.launch(executable_path=opts.chromium, headless=True, args=ARGS)
        version = browser.version
        for k in range(opts.rounds):
            order = rows[k % len(rows):] + rows[:k % len(rows)]
            for r in order:
                runs[r["html"]].append(load_once(browser, r["html"], r["calls"] // 2))
            print(f"round {k + 1}/{opts.rounds} done", file=sys.stderr)
        browser.close()

    med = {h: {k: statistics.median(x[k] for x in v) for k in v[0]} for h, v in runs.items()}
    base = med[rows[0]["html"]]
    print(f"\nanalyze report in chromium {version}: medians of {opts.rounds} rounds, "
          f"ms from navigation start; (×N) = ratio to the {rows[0]['calls']}-call report, same rounds")
    head = ["calls", "HAR", ".har.zst", "report", "report/zst", "written in", "DOM interactive",
            "load event", "expand", "ready", "timeline", "driven"]
    lines = [head]
    for r in rows:
        m = med[r["html"]]

        def cell(key):
            ratio = m[key] / base[key] if base[key] else float("nan")
            return f"{m[key]:,.0f} (×{ratio:.1f})"
        lines.append([f"{r['calls']:,}", f"{r['har'] / 1e6:,.0f} MB", f"{r['archive'] / 1e6:.2f} MB", f"{r['report'] / 1e6:.2f} MB",
                      f"{r['report'] / r['archive']:.2f}×", f"{r['write_ms'] / 1000:.2f} s",
                      cell("interactive"), cell("load"), cell("expand"), cell("ready"),
                      cell("timeline"), cell("driven")])
        assert m["bars"] == r["calls"], f"{m['bars']} waterfall bars for {r['calls']} calls"
    widths = [max(len(l[i]) for l in lines) for i in range(len(head))]
    for l in lines:
        print("  ".join(c.rjust(w) for c, w in zip(l, widths)))
    big = max(rows, key=lambda r: r["calls"])
    worst = max(x["ready"] for x in runs[big["html"]])
    verdict = "PASS" if med[big["html"]]["ready"] <= TARGET_MS else "MISS"
    print(f"\ntarget: a {big['calls']:,}-call report open and a call expanded within {TARGET_MS:,} ms: "
          f"{verdict} (ready: median {med[big['html']]['ready']:,.0f} ms, slowest round {worst:,.0f} ms)")
    print("load average (1, 5, 15 min) at the end: " + " ".join(open("/proc/loadavg").read().split()[:3]))


if __name__ == "__main__":
    main()
