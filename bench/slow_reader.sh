#!/usr/bin/env bash
# A reader slower than the traffic: `record -o - | <consumer reading RATE
# bytes/s>` under wrk's 16 connections of 1 KiB POSTs for SECS seconds, with
# SSE streams (sse_probe, 10 events 50 ms apart, one after another) running
# through it all along. Prints wrk's req/s, record's RSS every 10 s, the
# streams' lag (per-event lag shows whether a stream under way ever waited
# for the archive), the entries the consumer received vs the exchanges
# record saw, and record's own report (waits, losses).
#
#   bench/slow_reader.sh [SECS] [RATE]      defaults: 120 s, 1000000 B/s
#
# Needs release binaries (`cargo build --release --workspace`) and wrk.
# Only 127.0.0.1 is used; everything started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-120}
rate=${2:-1000000}
bin=${BIN:-target/release}
out=target/bench/slow-reader
rm -rf "$out"
mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

# The port a process printed in `listening on http://127.0.0.1:PORT`.
port_of() {
  for _ in $(seq 100); do
    p=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -1)
    [ -n "$p" ] && { echo "$p"; return; }
    sleep 0.1
  done
  echo "no listening line in $1" >&2
  exit 1
}

"$bin/bench_upstream" >"$out/upstream.log" 2>&1 &
pids+=($!)
up=$(port_of "$out/upstream.log")

# The consumer: reads at most RATE bytes a second, keeps what it read.
consumer='
import sys, time
rate = int(sys.argv[1]); out = open(sys.argv[2], "wb")
start = time.monotonic(); n = 0
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    out.write(b); n += len(b)
    ahead = n / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
'
"$bin/record" -m "reverse:http://127.0.0.1:$up" -o - -p 0 2>"$out/record.log" \
  | python3 -c "$consumer" "$rate" "$out/archive.har" &
pids+=($!)
port=$(port_of "$out/record.log")
rec=$(pgrep -f "record -m reverse:http://127.0.0.1:$up -o -" | head -1)
pids+=("$rec")

rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$rec/status"; }
(
  for _ in $(seq $((secs / 10))); do
    sleep 10
    echo "RSS $(rss) MiB"
  done
) >"$out/rss.log" &
pids+=($!)
"$bin/sse_probe" "http://127.0.0.1:$port" --streams 100000 --for-s "$((secs - 5))" \
  --timeout-s "$((secs + 60))" \
  >"$out/sse.log" 2>&1 &
sse=$!
pids+=("$sse")
BENCH_BODY_BYTES=1024 wrk -t1 -c16 -d"${secs}s" -s bench/lua/post.lua \
  "http://127.0.0.1:$port/v1/messages" >"$out/wrk.log" 2>&1
wait "$sse" || true
sleep 1
peak=$(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$rec/status")
end=$(rss)
kill -INT "$rec"
wait "${pids[1]}" || true

echo "== wrk (16 connections, 1 KiB POSTs, ${secs} s, consumer at $rate B/s)"
grep -E "Requests/sec|requests in" "$out/wrk.log"
echo "== record RSS every 10 s (MiB): $(sed 's/RSS //; s/ MiB//' "$out/rss.log" | tr '\n' ' ')"
echo "   at the end of the load: $end MiB, peak (VmHWM) $peak MiB"
echo "== SSE streams through it (sse_probe; lag = arrival - send, ms)"
grep -v RESULT "$out/sse.log" | tail -4
echo "== the archive the consumer received"
python3 - "$out/archive.har" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
entries = doc["log"]["entries"]
errors = sum(1 for e in entries if e.get("_error"))
print(f"{len(entries)} entries ({errors} with _error: wrk's connections cut at its end), whole document")
EOF
echo "== record said"
grep -v "listening on" "$out/record.log" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' | tail -8
