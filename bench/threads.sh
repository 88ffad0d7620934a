#!/usr/bin/env bash
# Where the CPU goes while a proxy is under load, thread by thread, and how
# much of the machine sits idle (bench/README.md, "Throughput: idle cores,
# and a machine with two speeds"). Loopback only; bounded.
#
#   bench/threads.sh RECORD              # record -m reverse:… -o ….har.zst
#   bench/threads.sh BENCH_PROXY bare    # the bare proxy (bench_proxy --upstream …)
#
# Runs wrk -c16 with 1 KiB JSON for 5 s and samples the middle 3 s: for each
# thread of the proxy, the upstream and wrk, CPU (user+sys) and voluntary /
# involuntary context switches per exchange; for the machine, busy and idle
# ticks from /proc/stat. Needs wrk, curl, python3 and target/release/bench_upstream
# (cargo build --release -p cctap-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { sed -n 2,13p "$0"; exit 2; }
bin=$(realpath "$1")
kind=${2:-record}
# shellcheck source=bench/loopback.sh
. bench/loopback.sh
need threads.sh wrk curl python3
start_upstream
port=$(free_port)
if [ "$kind" = bare ]; then
  "$bin" --upstream "127.0.0.1:$up" -p "$port" >"$work/proxy.log" 2>&1 &
else
  "$bin" -m "reverse:http://127.0.0.1:$up" -o "$work/a.har.zst" -q -p "$port" >"$work/proxy.log" 2>&1 &
fi
pid=$!
pids+=("$pid")
wait_port "$port"

# One line per thread: name/tid voluntary involuntary ticks.
snapshot() {
  for p in "$@"; do
    for t in /proc/"$p"/task/*; do
      printf '%s/%s %s %s\n' "$(tr ' ' _ <"$t/comm")" "${t##*/}" \
        "$(awk '/^voluntary_ctxt/ {v = $2} /^nonvoluntary_ctxt/ {n = $2} END {print v, n}' "$t/status")" \
        "$(awk '{print $14 + $15}' "$t/stat")"
    done
  done
}
machine() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat; }

BENCH_LUA_DIR=bench/lua wrk -t1 -c16 -d5 -s bench/lua/post.lua "http://127.0.0.1:$port/v1/messages" >"$work/wrk.out" &
wpid=$!
pids+=("$wpid")
sleep 1
snapshot "$pid" "$upid" "$wpid" | sort >"$work/before"
read -r busy0 idle0 < <(machine)
sleep 3
snapshot "$pid" "$upid" "$wpid" | sort >"$work/after"
read -r busy1 idle1 < <(machine)
wait "$wpid"
# wrk reports the rate over its 5 s; the sample covers 3 of them.
n=$(awk '/Requests\/sec/ {printf "%d", $2 * 3}' "$work/wrk.out")
echo "~$n exchanges in the 3 s sampled; machine busy $((busy1 - busy0)) ticks, idle $((idle1 - idle0)) ticks ($(( 100 * (idle1 - idle0) / (busy1 - busy0 + idle1 - idle0) ))% idle)"
join "$work/before" "$work/after" | awk -v n="$n" -v hz="$(getconf CLK_TCK)" '
  $7 > $4 { printf "%-28s %5.1f us CPU, %.3f voluntary, %.3f involuntary switches per exchange\n",
            $1, ($7 - $4) * 1e6 / hz / n, ($5 - $2) / n, ($6 - $3) / n }'
