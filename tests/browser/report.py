#!/usr/bin/env python3
"""`analyze report` in a real browser: Debian's chromium driven by Playwright.

Run by .ci/report-browser.sh, which makes the archives and installs the
tools. For each report: no console error, no network request but the page
itself (the driver's request log), the visible text has what `analyze usage
--json` and `analyze show --json` say, expanding a call shows its
tool_result, the waterfall has one bar per call, the Content-Security-Policy
blocks what a page could load, call bodies are parsed only when expanded,
dark mode and print work; a screenshot of each view goes to SHOTS. Nothing
is timed (bench/report.sh measures how fast a big report opens). Prints
`N passed, M failed` and exits 1 on any failure.

    report.py --analyze BIN --chromium PATH --work DIR --shots DIR \
              --real HAR --fake HAR [--two OLD NEW]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

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


def make_report(opts, name, files, flags=()):
    html = os.path.join(opts.work, name + ".html")
    analyze(opts, "report", "-o", html, *flags, *files)
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
        self.page.goto(self.url, wait_until="load")

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


def common_checks(p, opts, har, label, flags):
    usage = json.loads(analyze(opts, "usage", "--json", *flags, har).stdout)
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

    def csp():
        policy = p.page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content")
        before, asked = len(p.errors), len(p.requests)
        assert policy and policy.startswith("default-src 'none'"), policy
        # What a script in the page tries to load is refused by the policy
        # (and would show in the request log otherwise: clean() checks it).
        blocked = p.page.evaluate("""async () => {
            const seen = [];
            document.addEventListener("securitypolicyviolation", (e) => seen.push(e.effectiveDirective));
            const img = new Image(); img.src = "http://127.0.0.1:9/x.png";
            const css = document.createElement("link"); css.rel = "stylesheet";
            css.href = "http://127.0.0.1:9/x.css"; document.head.append(css);
            const fetched = await fetch("http://127.0.0.1:9/x").then(() => "loaded", () => "refused");
            await new Promise((r) => setTimeout(r, 200));
            css.remove();
            return {seen, fetched};
        }""")
        assert blocked["fetched"] == "refused", blocked
        # The refusals are logged as console errors, and chromium lists
        # the refused loads in the request log: those, and only those, are
        # this probe's own, and are left out of clean()'s count.
        probe = p.errors[before:]
        assert probe and all("127.0.0.1:9" in e for e in probe), probe
        del p.errors[before:]
        p.requests[asked:] = [u for u in p.requests[asked:] if not u.startswith("http://127.0.0.1:9/")]
        for directive in ["img-src", "style-src-elem", "connect-src"]:
            assert directive in blocked["seen"], f"{directive} not refused: {blocked}"

    def lazy():
        p.view("conversation")
        blocks = p.page.locator('script[type="application/json"][id^="d-"]').count()
        assert blocks == entries, f"{blocks} inert call blocks for {entries} entries"
        assert p.page.locator("#conversation .msg").count() == 0, "bodies drawn before expanding"
        call = p.page.locator(f'details.call[data-file="0"][data-entry="{n}"]')
        assert call.locator(".body").inner_html().strip() == "", "body filled before expanding"
        call.locator("summary").click()
        call.locator(".msg.reply").wait_for(state="visible")
        drawn = p.page.locator("#conversation .msg").count()
        assert drawn == call.locator(".msg").count() > 0, "expanding drew other calls too"
        call.locator("summary").click()

    check(f"{label}: token totals equal analyze usage --json", overview)
    check(f"{label}: model, every tool, TTFT of entry {n} within 1 ms of show --json", conversation)
    check(f"{label}: one waterfall bar per call", timeline)
    check(f"{label}: the CSP refuses images, stylesheets and fetches", csp)
    check(f"{label}: a call's body is parsed and drawn only when expanded", lazy)


def luminance(css_color):
    r, g, b = (int(x) for x in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def scheme_check(p, label, scheme):
    def colours():
        bg = p.page.evaluate("getComputedStyle(document.body).backgroundColor")
        fg = p.page.evaluate("getComputedStyle(document.body).color")
        dark = scheme == "dark"
        assert (luminance(bg) < 0.2) == dark and (luminance(fg) > 0.7) == dark, f"{scheme}: {bg} on {fg}"
        assert abs(luminance(fg) - luminance(bg)) > 0.6, f"{scheme}: low contrast {fg} on {bg}"
    check(f"{label} ({scheme}): page colours follow the {scheme} scheme", colours)


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

    def long_text():
        # A tool_result over the page's 3,000-character limit is drawn cut,
        # with a button that draws the rest.
        for entry in range(1, 9):
            msgs = json.loads(analyze(opts, "show", "--json", har, str(entry)).stdout)["messages"]
            block = msgs[-1]["content"][0]
            full = block["content"] if isinstance(block["content"], str) else block["content"][0]["text"]
            if len(full) > 3000:
                break
        else:
            raise AssertionError("no tool_result over 3,000 characters in the fake session")
        p.view("conversation")
        call = p.page.locator(f'details.call[data-file="0"][data-entry="{entry}"]')
        call.locator("summary").click()
        button = call.locator(".result pre button").first
        button.wait_for(state="visible")
        assert f"show all {len(full):,} chars" == button.inner_text(), button.inner_text()
        shown = call.locator(".result pre").first
        assert len(shown.inner_text()) < 1300, "the long text is not cut"
        button.click()
        assert shown.inner_text() == full, "show all does not show the whole text"

    def printed():
        p.page.emulate_media(media="print")
        for v in ["overview", "conversation", "timeline", "charts"]:
            assert p.page.locator(f"#{v}").is_visible(), f"{v} not printed"
        assert not p.page.locator("#tabs").is_visible(), "the tabs are printed"
        pdf = p.page.pdf(path=os.path.join(opts.shots, "fake-print.pdf"))
        p.page.emulate_media(media="screen")
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert pages >= 4, f"{pages} printed pages: each view starts a page"

    check("fake session: expanding a turn shows its tool_result", expand)
    check("fake session: hovering an event tick shows it, clicking keeps it", hover)
    check("fake session: charts have a column per turn", charts)
    check("fake session: a long tool_result is cut and shown whole on request", long_text)
    check("fake session: every view is printed (PDF from chromium)", printed)


def main():
    ap = argparse.ArgumentParser()
    for a in ["--analyze", "--chromium", "--work", "--shots", "--real", "--fake"]:
        ap.add_argument(a, required=True)
    ap.add_argument("--two", nargs=2)
    opts = ap.parse_args()
    os.makedirs(opts.shots, exist_ok=True)
    with sync_playwright() as pw:
        # The real recording is offline: its estimated tokens count only
        # with --include-offline, in the report as in `usage`.
        for label, har, flags, extra in [("real 2.1.332", opts.real, ["--include-offline"], None),
                                         ("fake session", opts.fake, [], fake_checks)]:
            html = make_report(opts, label.split()[0], [har], flags)
            for scheme in ["light", "dark"]:
                p = Page(pw, opts, html, scheme)
                if scheme == "light":
                    common_checks(p, opts, har, label, flags)
                    if extra:
                        extra(p, opts, har)
                scheme_check(p, label, scheme)
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
    print(f"\n{len(passed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
