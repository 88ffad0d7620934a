#!/usr/bin/env bash
# A/B of two `record` binaries on 1 KiB JSON exchanges, for one change at a
# time (bench/README.md, "Measuring one change"). Loopback only; bounded.
#
#   bench/ab.sh OLD_RECORD NEW_RECORD [ROUNDS]
#
# 1. ROUNDS (default 4) interleaved rounds of wrk -c16 for 4 s against each
#    binary side by side (both running at once, reverse mode, .har.zst):
#    req/s, and record's CPU (user+sys from /proc) per exchange. Wall figures
#    move with the machine; the interleaving keeps the two comparable.
# 2. Under valgrind --tool=callgrind, 2,000 exchanges (16 connections) each:
#    instructions per exchange, whole process and per thread (the async
#    workers, the archive writer and, inside it, zstd). Stable on a busy
#    machine; kernel time is not counted. CALLGRIND=0 skips this.
#
# Needs wrk, valgrind, curl and target/release/bench_upstream (cargo build
# --release -p cctap-bench). To keep a binary: cp target/release/record /tmp/record-old.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n 2,15p "$0"; exit 2; }
a=$(realpath "$1")
b=$(realpath "$2")
rounds=${3:-4}
# shellcheck source=bench/loopback.sh
. bench/loopback.sh
need ab.sh wrk valgrind callgrind_annotate curl zstd python3
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
start_upstream

# record in reverse mode on a free port; sets $port and $pid.
start_record() { # binary archive [wrapper...]
  local bin=$1 archive=$2
  shift 2
  port=$(free_port)
  "$@" "$bin" -m "reverse:http://127.0.0.1:$up" -o "$archive" -q -p "$port" >"$archive.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_port "$port"
}

load() { # port seconds [script]
  BENCH_LUA_DIR=bench/lua wrk -t1 -c16 -d"$2" -s "${3:-bench/lua/post.lua}" "http://127.0.0.1:$1/v1/messages"
}

echo "== wall: $rounds interleaved rounds, wrk -c16 4 s, 1 KiB JSON (A = $1, B = $2)"
start_record "$a" "$work/a.har.zst"; pa=$pid; port_a=$port
start_record "$b" "$work/b.har.zst"; pb=$pid; port_b=$port
one() { # pid port
  local t0 out t1 n rps
  t0=$(ticks "$1")
  out=$(load "$2" 4)
  t1=$(ticks "$1")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
  awk -v r="$rps" -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%6d req/s %6.1f us/exchange", r, t * 1e6 / hz / n}'
}
ratios=()
for round in $(seq "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then ra=$(one "$pa" "$port_a"); rb=$(one "$pb" "$port_b")
  else rb=$(one "$pb" "$port_b"); ra=$(one "$pa" "$port_a"); fi
  echo "round $round   A: $ra   B: $rb"
  ratios+=("$(awk -v a="${ra%% req/s*}" -v b="${rb%% req/s*}" 'BEGIN {printf "%.3f", b / a}')")
done
# A round's two runs are seconds apart and mostly meet the same machine
# speed (bench/README.md, "a machine with two speeds"): the median of the
# rounds' B/A ratios is steadier than either side's own figures.
[ "$rounds" -gt 0 ] && printf '%s\n' "${ratios[@]}" | sort -n |
  awk -v all="${ratios[*]}" '{v[NR] = $1} END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "B/A req/s by round: %s; median %.3f\n", all, m }'
kill "$pa" "$pb"
[ "${CALLGRIND:-1}" = 0 ] && exit 0

echo "== callgrind: instructions per exchange, 2,000 exchanges at 16 connections"
for side in A B; do
  bin=$a; [ "$side" = B ] && bin=$b
  out="$work/cg-$side.out"
  # Per thread: with link-time optimisation the functions that used to mark
  # the parts are inlined away, threads are not.
  start_record "$bin" "$work/cg-$side.har.zst" valgrind -q --tool=callgrind --separate-threads=yes --callgrind-out-file="$out"
  # Stops sending at 2,000; instructions are divided by the entries written.
  BENCH_COUNT=2000 load "$port" 40 bench/lua/count.lua >/dev/null
  kill -INT "$pid"
  wait "$pid" || true
  entries=$(zstd -dc "$work/cg-$side.har.zst" | grep -o '"startedDateTime"' | wc -l)
  total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }
  # Threads are told apart by their symbols: a stripped binary (release)
  # has none, and its threads are listed in the order they started.
  all=0 workers=0 writer=0 zstd=0 unnamed=""
  for part in "$out"-*; do
    ir=$(total "$part")
    all=$((all + ir))
    if grep -q 'ZSTD_compressStream2' "$part"; then
      writer=$((writer + ir))
      zstd=$(callgrind_annotate --inclusive=yes "$part" 2>/dev/null |
        awk '/ZSTD_compressStream2 \[/ && !seen {gsub(",", "", $1); print $1; seen = 1}')
    elif grep -q 'multi_thread::worker' "$part"; then
      workers=$((workers + ir))
    else
      unnamed="$unnamed $ir"
    fi
  done
  awk -v n="$entries" -v side="$side" -v all="$all" -v w="$workers" -v a="$writer" -v z="${zstd:-0}" \
    -v unnamed="$unnamed" 'BEGIN {
    printf "%s: %7.0f instructions/exchange in all (%d entries)\n", side, all / n, n
    if (w + a > 0) {
      printf "   %7.0f  async workers\n", w / n
      printf "   %7.0f  archive writer thread\n", a / n
      printf "   %7.0f    of which zstd\n", z / n
    } else {
      printf "   per thread in start order (stripped binary: a target/profiling build names them):"
      k = split(unnamed, t, " ")
      for (i = 1; i <= k; i++) printf " %.0f", t[i] / n
      printf "\n"
    } }'
done
