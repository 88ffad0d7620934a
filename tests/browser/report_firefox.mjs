// `analyze report` in Firefox: Debian's firefox-esr driven by puppeteer-core
// (npm) over WebDriver BiDi. Run by .ci/report-browser.sh after the chromium
// checks, on the reports they wrote. For each report: no page error and no
// console error, no request but the page itself, every view shown, the
// token totals equal `analyze usage --json`, one waterfall bar per entry,
// expanding a call draws its body (for the fake session: the tool_result).
// A screenshot of each view goes to SHOTS. Prints `N passed, M failed`.
//
//   NODE_PREFIX=DIR node report_firefox.mjs FIREFOX ANALYZE SHOTS NAME=HTML=HAR[,HAR][=FLAG[,FLAG]] ...
//
// NODE_PREFIX is where `npm install --prefix` put puppeteer-core.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";

const puppeteer = createRequire(path.resolve(process.env.NODE_PREFIX, "package.json"))("puppeteer-core");

const [firefox, analyze, shots, ...reports] = process.argv.slice(2);
const passed = [], failed = [];
async function check(name, fn) {
  try {
    await fn();
    passed.push(name);
    console.log(`ok   ${name}`);
  } catch (e) {
    failed.push(name);
    console.log(`FAIL ${name}: ${e.message}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
const usageOf = (hars, flags) =>
  JSON.parse(execFileSync(analyze, ["usage", "--json", ...flags, ...hars], { encoding: "utf8" }));

const browser = await puppeteer.launch({ browser: "firefox", executablePath: firefox, headless: true });
console.log(`firefox: ${await browser.version()}`);
for (const spec of reports) {
  const [name, html, har, flags] = spec.split("=");
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  const url = pathToFileURL(path.resolve(html)).href;
  const requests = [], errors = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(url, { waitUntil: "load" });
  const show = (tab) => page.evaluate((t) => {
    document.querySelector(`#tabs a[data-tab="${t}"]`).click();
    return document.getElementById(t).classList.contains("on");
  }, tab);
  const usage = usageOf(har.split(","), flags ? flags.split(",") : []);
  const entries = usage.files.reduce((n, f) => n + f.entries, 0);

  await check(`${name}: token totals equal analyze usage --json`, async () => {
    assert(await show("overview"), "overview not shown");
    for (const [id, key] of [["input", "input_tokens"], ["read", "cache_read_input_tokens"],
      ["w5", "ephemeral_5m_input_tokens"], ["w1", "ephemeral_1h_input_tokens"], ["output", "output_tokens"]]) {
      const text = await page.$eval(`#tok-${id}`, (e) => e.textContent);
      const got = Number(text.replace(/,/g, ""));
      assert(got === usage.total[key], `${id}: page ${text}, usage ${usage.total[key]}`);
    }
  });
  await check(`${name}: one waterfall bar per entry`, async () => {
    assert(await show("timeline"), "timeline not shown");
    const bars = await page.$$eval("#waterfall .wfrow", (l) => l.length);
    assert(bars === entries, `${bars} bars for ${entries} entries`);
  });
  await check(`${name}: expanding a call draws its body`, async () => {
    assert(await show("conversation"), "conversation not shown");
    const drawn = await page.evaluate(async (entry) => {
      const d = document.querySelector(`details.call[data-file="0"][data-entry="${entry}"]`);
      const before = d.querySelectorAll(".msg").length;
      d.querySelector("summary").click();
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return { before, msgs: d.querySelectorAll(".msg").length, text: d.textContent };
    }, name === "fake" ? 1 : 0);
    assert(drawn.before === 0 && drawn.msgs > 0, `messages before/after: ${drawn.before}/${drawn.msgs}`);
    if (name === "fake") assert(drawn.text.includes("tool_result"), "no tool_result under the tool call");
  });
  for (const tab of ["overview", "conversation", "timeline", "charts", "compare"]) {
    if (await page.$(`#tabs a[data-tab="${tab}"]`)) {
      await show(tab);
      await page.screenshot({ path: path.join(shots, `firefox-${name}-${tab}.png`) });
    }
  }
  await check(`${name}: no page or console error, no request but the page`, async () => {
    assert(errors.length === 0, `errors: ${errors.join(" | ")}`);
    // Firefox loads a font of its own as a data: URL for glyphs such as the
    // emoji in Claude Code 2.1.332's prompt (seen in the two-archive view); the
    // page's CSP (default-src 'none') would refuse any the page asked for.
    const others = requests.filter((u) => u !== url && !u.startsWith("data:font/"));
    assert(others.length === 0, `requests: ${others.join(", ")}`);
  });
  await page.close();
}
await browser.close();
console.log(`\n${passed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
