#!/usr/bin/env bash
# How big `analyze report` files get and how fast they open in a browser:
# sessions of 10, 100 and 1,000 calls from session_gen, their reports
# (release build), then bench/report_open.py opens each in Debian's chromium
# (Playwright; installed by .ci/browser.sh) in interleaved rounds and prints
# medians, ratios to the 10-call report, and the issue's 2 s target.
#
#   bench/report.sh [--rounds N] [--calls "10 100 1000"] [--debug]
#
# --debug uses target/debug binaries as they are (no release build). Scratch
# files go to target/bench/report/. A benchmark, not a test: it passes or
# misses, and never fails a build.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
calls="10 100 1000"
profile=release
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --debug) profile=debug; shift ;;
    *) echo "usage: bench/report.sh [--rounds N] [--calls \"10 100 1000\"] [--debug]" >&2; exit 2 ;;
  esac
done

if [ "$profile" = release ]; then
  cargo build --release --quiet -p cctap-analyzer -p cctap-bench --bin analyze --bin session_gen
fi
bin=target/$profile
source .ci/browser.sh "${CCTAP_CACHE:-$PWD/target/test-tools}/report-browser"

work=target/bench/report
mkdir -p "$work"
rows=()
for n in $calls; do
  har=$work/s$n.har.zst
  # Sessions of n turns: the last call repeats the whole conversation.
  [ -s "$har" ] || "$bin/session_gen" big -o "$har" --turns "$n" --entries "$n" --mb 100000 >/dev/null
  html=$work/s$n.html
  start=$(date +%s%N)
  "$bin/analyze" report -o "$html" "$har" 2>/dev/null
  end=$(date +%s%N)
  rows+=("{\"calls\": $n, \"archive\": $(stat -c %s "$har"), \"har\": $(zstd -dcq "$har" | wc -c),
    \"report\": $(stat -c %s "$html"),
    \"write_ms\": $(((end - start) / 1000000)), \"html\": \"$html\"}")
done
table=$work/rows.json
(IFS=,; echo "[${rows[*]}]") >"$table"
"$PLAYWRIGHT_PYTHON" bench/report_open.py --chromium "$CCTAP_CHROMIUM" --rounds "$rounds" --table "$table"
