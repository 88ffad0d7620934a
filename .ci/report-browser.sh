#!/usr/bin/env bash
# `analyze report` in a real browser. Installs Debian's chromium (apt) and
# Playwright from PyPI into a venv under CACHE_DIR, once (browser downloads
# are not reachable: Playwright launches /usr/bin/chromium), makes the
# archives the test reads, and runs tests/browser/report.py:
#   - the real Claude Code 2.1.332 offline recording (fixtures/claude-code/),
#   - a fake session recorded here: bench's session_gen drives 8 turns with
#     tool round trips through `record` in front of the fake upstream,
#   - two archives (2.0.50 vs 2.1.332: the side-by-side diff),
#   - unless --quick, a 1,000-call session from session_gen (the 2 s target).
# Screenshots of every view go to target/report-screenshots/ (CI artifact).
#
#   .ci/report-browser.sh CACHE_DIR [--quick]
#
# Needs the debug binaries (cargo build --workspace --all-targets) and
# python3-venv. With CCTAP_REQUIRE_PEERS=1 a missing browser is a failure;
# without it the test says it skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${1:?usage: .ci/report-browser.sh CACHE_DIR [--quick]}
quick=0
[ "${2:-}" = "--quick" ] && quick=1
PLAYWRIGHT_VERSION=1.65.2

skip() {
  if [ "${CCTAP_REQUIRE_PEERS:-0}" = 1 ]; then
    echo "report-browser: $* (CCTAP_REQUIRE_PEERS=1: failing)" >&2
    exit 1
  fi
  echo "report-browser: SKIPPED: $*" >&2
  exit 0
}

chromium=${CCTAP_CHROMIUM:-$(command -v chromium || true)}
if [ -z "$chromium" ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "installing chromium (Debian package)" >&2
  { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null; } ||
    skip "cannot install Debian's chromium"
  chromium=$(command -v chromium) || skip "chromium is not on PATH after installing it"
fi

mkdir -p "$cache"
venv=$(cd "$cache" && pwd)/playwright-$PLAYWRIGHT_VERSION
if ! "$venv/bin/python" -c "import playwright" 2>/dev/null; then
  echo "installing playwright $PLAYWRIGHT_VERSION (PyPI) into $venv" >&2
  python3 -m venv "$venv" || skip "cannot create a Python venv (apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION" ||
    skip "pip could not install playwright==$PLAYWRIGHT_VERSION"
fi

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
  grep -q "^listening on" "$upstream_log" && break
  sleep 0.05
done
upstream=$(sed -n 's/^listening on //p' "$upstream_log")
[ -n "$upstream" ] || { echo "report-browser: the fake upstream did not start: $(cat "$upstream_log")" >&2; exit 1; }
timeout 120 "$bin/record" -q -m "reverse:$upstream" -o "$work/fake.har.zst" -- \
  sh -c "exec $bin/session_gen drive \"\$ANTHROPIC_BASE_URL\" --turns 8 --timeout-s 60" >/dev/null

args=(--analyze "$bin/analyze" --chromium "$chromium" --work "$work" --shots "$shots"
  --real fixtures/claude-code/2.1.332-offline.har --fake "$work/fake.har.zst"
  --two fixtures/claude-code/2.0.50-reverse.har fixtures/claude-code/2.1.332-reverse.har)
if [ "$quick" -eq 0 ]; then
  timeout 600 "$bin/session_gen" big --out "$work/scale.har.zst" --turns 1000 --entries 1000 --mb 100000 >/dev/null
  args+=(--scale "$work/scale.har.zst")
fi
"$venv/bin/python" tests/browser/report.py "${args[@]}"
