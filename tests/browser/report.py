#!/usr/bin/env python3
"""`analyze report` in a real browser: Debian's chromium driven by Playwright.

Run by .ci/report-browser.sh, which makes the archives and installs the
tools. For each report: no console error, no network request but the page
itself (the driver's request log), the visible text has what `analyze usage
--json` and `analyze show --json` say, expanding a call shows its
tool_result, the waterfall has one bar per call; a screenshot of each view
goes to SHOTS. Prints `N passed, M failed` and exits 1 on any failure.

    report.py --analyze BIN --chromium PATH --work DIR --shots DIR \
              --real HAR --fake HAR [--two OLD NEW] [--scale HAR]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWS = ["overview", "conversation", "timeline", "charts", "compare"]

passed, failed = [], []


def check(name, fn):
    try:
        fn()
        passed.append(name)
        print(f"ok   {name}")
    except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
        failed.append(name)
        print(f"FAIL {name}: {e}")


def analyze(opts, *args):
    out = subprocess.run([opts.analyze, *args], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"analyze {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out


def make_report(opts, name, files):
    html = os.path.join(opts.work, name + ".html")
    analyze(opts, "report", "-o", html, *files)
    return html


class Page:
    """One report opened in a fresh browser profile, with its logs."""

    def __init__(self, pw, opts, html, scheme="light"):
        self.url = "file://" + os.path.abspath(html)
        self.ctx = pw.chromium.launch_persistent_context(
            tempfile.mkdtemp(prefix="cctap-chromium-"), executable_path=opts.chromium,
            headless=True, args=ARGS, viewport={"width": 1400, "height": 900}, color_scheme=scheme)
        self.requests, self.errors = [], []
        self.ctx.on("request", lambda r: self.requests.append(r.url))
        # Anything but the page itself is refused, and shows in the log anyway.
        self.ctx.route("**/*", lambda r: r.continue_() if r.request.url == self.url else r.abort())
        self.page = self.ctx.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        started = time.monotonic()
        self.page.goto(self.url, wait_until="load")
        self.load_s = time.monotonic() - started

    def view(self, name):
        self.page.click(f'#tabs a[data-tab="{name}"]')
        self.page.wait_for_selector(f"#{name}.view.on")
        return self.page.inner_text(f"#{name}")

    def shots(self, opts, prefix):
        for v in VIEWS:
            if self.page.query_selector(f'#tabs a[data-tab="{v}"]'):
                self.view(v)
                self.page.screenshot(path=os.path.join(opts.shots, f"{prefix}-{v}.png"))

    def clean(self):
        assert not self.errors, f"console errors: {self.errors}"
        others = [u for u in self.requests if u != self.url]
        assert not others, f"network requests: {others}"
        assert self.requests and set(self.requests) == {self.url}, self.requests

    def close(self):
        self.ctx.close()


def number(text):
    return int(text.replace(",", "").strip())


def ms_of(text):
    m = re.match(r"([0-9.]+) (ms|s)$", text.strip().replace(",", ""))
    assert m, f"not a duration: {text!r}"
    return float(m.group(1)) * (1000 if m.group(2) == "s" else 1)


def main_entry(opts, har):
    """The entry number and `show --json` of the session's main-loop call."""
    ls = json.loads(analyze(opts, "ls", "--json", har).stdout)
    rows = ls["entries"] if isinstance(ls, dict) else ls
    for row in rows:
        if row.get("role") == "main":
            n = row.get("entry", row.get("index"))
            return n, json.loads(analyze(opts, "show", "--json", har, str(n)).stdout)
    raise AssertionError("no main-loop call in " + har)


def common_checks(p, opts, har, label):
    usage = json.loads(analyze(opts, "usage", "--json", har).stdout)
    n, show = main_entry(opts, har)
    entries = sum(f["entries"] for f in usage["files"])

    def overview():
        p.view("overview")
        for kind, key in [("input", "input_tokens"), ("read", "cache_read_input_tokens"),
                          ("w5", "ephemeral_5m_input_tokens"), ("w1", "ephemeral_1h_input_tokens"),
                          ("output", "output_tokens")]:
            got = number(p.page.inner_text(f"#tok-{kind}"))
            assert got == usage["total"][key], f"{kind}: page {got}, usage {usage['total'][key]}"
        assert usage["total"]["input_tokens"] > 0
        assert usage["prices"]["date"] in p.page.inner_text("#overview")

    def conversation():
        text = p.view("conversation")
        assert show["model"] in text, show["model"]
        for tool in show["tools"]:
            assert tool["name"] in text, f"tool {tool['name']} not visible"
        ttft = p.page.inner_text(f'details.call[data-file="0"][data-entry="{n}"] .ttft')
        want = show["reply"]["first_token_ms"]
        assert abs(ms_of(ttft) - want) < 1.0, f"TTFT {ttft} vs show {want}"

    def timeline():
        p.view("timeline")
        bars = p.page.locator("#waterfall .wfrow").count()
        assert bars == entries, f"{bars} bars for {entries} entries"

    check(f"{label}: token totals equal analyze usage --json", overview)
    check(f"{label}: model, every tool, TTFT of entry {n} within 1 ms of show --json", conversation)
    check(f"{label}: one waterfall bar per call", timeline)


def fake_checks(p, opts, har):
    # Entry 1 of a session_gen session adds an assistant tool_use and the
    # user's tool_result: expanding it shows the result under the tool call.
    show = json.loads(analyze(opts, "show", "--json", har, "1").stdout)
    result = show["messages"][-1]["content"][0]
    assert result["type"] == "tool_result", result
    want = result["content"] if isinstance(result["content"], str) else result["content"][0]["text"]

    def expand():
        p.view("conversation")
        call = p.page.locator('details.call[data-file="0"][data-entry="1"]')
        call.locator("summary").click()
        shown = call.locator(".result pre").first
        shown.wait_for(state="visible")
        assert want[:60].strip() in shown.inner_text(), "tool_result text not shown"
        assert "tool_use " in call.inner_text()

    def hover():
        p.view("timeline")
        tick = p.page.locator("#waterfall .wfrow").nth(2).locator(".ticks")
        box = tick.bounding_box()
        p.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tip = p.page.locator("#tip")
        tip.wait_for(state="visible")
        assert "status 200" in tip.inner_text()
        p.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert "open #2 in Conversation" in p.page.inner_text("#wf-detail")

    def charts():
        p.view("charts")
        assert p.page.locator("#chart-tokens .hover rect").count() >= 2
        assert p.page.locator("#chart-cache path.hit").count() == 1

    def printed():
        p.page.emulate_media(media="print")
        for v in ["overview", "conversation", "timeline", "charts"]:
            assert p.page.locator(f"#{v}").is_visible(), f"{v} not printed"
        p.page.emulate_media(media="screen")

    check("fake session: expanding a turn shows its tool_result", expand)
    check("fake session: hovering an event tick shows it, clicking keeps it", hover)
    check("fake session: charts have a column per turn", charts)
    check("fake session: every view is printed", printed)


def main():
    ap = argparse.ArgumentParser()
    for a in ["--analyze", "--chromium", "--work", "--shots", "--real", "--fake", "--scale"]:
        ap.add_argument(a)
    ap.add_argument("--two", nargs=2)
    ap.add_argument("--scale-limit-s", type=float, default=2.0)
    opts = ap.parse_args()
    os.makedirs(opts.shots, exist_ok=True)
    with sync_playwright() as pw:
        for label, har, extra in [("real 2.1.332", opts.real, None), ("fake session", opts.fake, fake_checks)]:
            html = make_report(opts, label.split()[0], [har])
            for scheme in ["light", "dark"]:
                p = Page(pw, opts, html, scheme)
                if scheme == "light":
                    common_checks(p, opts, har, label)
                    if extra:
                        extra(p, opts, har)
                p.shots(opts, f"{label.split()[0]}-{scheme}")
                check(f"{label} ({scheme}): no console error, no network request", p.clean)
                p.close()
        if opts.two:
            html = make_report(opts, "two", opts.two)
            p = Page(pw, opts, html)

            def compare():
                text = p.view("compare")
                assert "old" in text and "new" in text
                assert p.page.locator("#cmp-summary tr").count() >= 3
                assert p.page.locator("table.sbs tr.chg, table.sbs tr.add, table.sbs tr.del").count() > 0
            check("two archives: the diff side by side with its summary", compare)
            p.shots(opts, "two")
            check("two archives: no console error, no network request", p.clean)
            p.close()
        if opts.scale:
            started = time.monotonic()
            html = make_report(opts, "scale", [opts.scale])
            made = time.monotonic() - started
            size, archive = os.path.getsize(html), os.path.getsize(opts.scale)
            p = Page(pw, opts, html)

            def interactive():
                # From navigation start (the page's clock) to a call of the
                # middle of the session expanded and drawn; best of 3 loads.
                runs = []
                for _ in range(3):
                    p.page.goto(p.url, wait_until="load")
                    p.view("conversation")
                    call = p.page.locator('details.call[data-entry="500"]').first
                    call.locator("summary").click()
                    call.locator(".body .msg").first.wait_for(state="visible")
                    nav = p.page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
                    done = p.page.evaluate("performance.now()")
                    runs.append((done / 1000, nav["domInteractive"], nav["loadEventEnd"]))
                    print(f"     scale: DOM interactive at {nav['domInteractive']:.0f} ms, load event at"
                          f" {nav['loadEventEnd']:.0f} ms, a call expanded at {done:.0f} ms")
                took = min(r[0] for r in runs)
                n = p.page.locator("#waterfall .wfrow").count()
                print(f"     scale: {n} calls; report {size / 1e6:.1f} MB vs archive {archive / 1e6:.1f} MB"
                      f" ({size / archive:.2f}x), written in {made:.1f} s; open + expand in {took * 1000:.0f} ms (best of 3)")
                assert n >= 1000, n
                assert took < opts.scale_limit_s, f"{took:.2f} s to open and expand a call"
            check(f"scale: a 1,000-call report opens and responds within {opts.scale_limit_s} s", interactive)
            p.shots(opts, "scale")
            check("scale: no console error, no network request", p.clean)
            p.close()
    print(f"\n{len(passed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
