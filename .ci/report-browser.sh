#!/usr/bin/env bash
# `analyze report` in a real browser: Debian's chromium driven by Playwright
# (both installed by .ci/browser.sh into CACHE_DIR, once). Makes the archives
# the test reads and runs tests/browser/report.py on:
#   - the real Claude Code 2.1.332 offline recording (fixtures/claude-code/),
#   - a fake session recorded here: bench's session_gen drives 8 turns with
#     tool round trips through `record` in front of the fake upstream,
#   - two archives (2.0.50 vs 2.1.332: the side-by-side diff);
# then tests/browser/report_firefox.mjs opens the same reports in Debian's
# firefox-esr (puppeteer-core from npm, WebDriver BiDi).
# Screenshots of every view go to target/report-screenshots/ (CI artifact).
# The checks are functional only; how fast a 1,000-call report opens is a
# benchmark (bench/report.sh), not a timed test.
#
#   .ci/report-browser.sh CACHE_DIR
#
# Needs the debug binaries (cargo build --workspace --all-targets). With
# CCTAP_REQUIRE_PEERS=1 a browser that cannot be installed is a failure;
# without it the test says it skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${1:?usage: .ci/report-browser.sh CACHE_DIR}

skip() {
  if [ "${CCTAP_REQUIRE_PEERS:-0}" = 1 ]; then
    echo "report-browser: $* (CCTAP_REQUIRE_PEERS=1: failing)" >&2
    exit 1
  fi
  echo "report-browser: SKIPPED: $*" >&2
  exit 0
}

source .ci/browser.sh "$cache" || skip "no browser to test with (see above)"

bin=target/debug
for b in analyze record fake-upstream session_gen; do
  [ -x "$bin/$b" ] || { echo "report-browser: $bin/$b is missing: cargo build --workspace --all-targets" >&2; exit 1; }
done
work=target/report-browser
shots=target/report-screenshots
rm -rf "$work" "$shots"
mkdir -p "$work" "$shots"

# The fake session: the fake upstream paces its events so the timeline has
# something to show; record wraps session_gen and stops when it exits.
upstream_log="$work/upstream.out"
"$bin/fake-upstream" --behaviour "pace=6,deltas=5" >"$upstream_log" 2>&1 &
upstream_pid=$!
trap 'kill "$upstream_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -qs "^listening on" "$upstream_log" && break
  sleep 0.05
done
upstream=$(sed -n 's/^listening on //p' "$upstream_log")
[ -n "$upstream" ] || { echo "report-browser: the fake upstream did not start: $(cat "$upstream_log")" >&2; exit 1; }
timeout 120 "$bin/record" -q -m "reverse:$upstream" -o "$work/fake.har.zst" -- \
  sh -c "exec $bin/session_gen drive \"\$ANTHROPIC_BASE_URL\" --turns 8 --timeout-s 60" >/dev/null

status=0
"$PLAYWRIGHT_PYTHON" tests/browser/report.py --analyze "$bin/analyze" --chromium "$CCTAP_CHROMIUM" \
  --work "$work" --shots "$shots" \
  --real fixtures/claude-code/2.1.332-offline.har --fake "$work/fake.har.zst" \
  --two fixtures/claude-code/2.0.50-reverse.har fixtures/claude-code/2.1.332-reverse.har || status=1

# The same reports in Firefox.
source .ci/browser.sh "$cache" firefox || skip "no Firefox to test with (see above)"
NODE_PREFIX=$PUPPETEER_PREFIX timeout 300 node tests/browser/report_firefox.mjs "$CCTAP_FIREFOX" "$bin/analyze" "$shots" \
  "real=$work/real.html=fixtures/claude-code/2.1.332-offline.har=--include-offline" \
  "fake=$work/fake.html=$work/fake.har.zst" \
  "two=$work/two.html=fixtures/claude-code/2.0.50-reverse.har,fixtures/claude-code/2.1.332-reverse.har" || status=1
exit $status
