#!/usr/bin/env bash
# cctap benchmarks: record vs a direct connection vs mitmdump 11.0.2, plus
# memory, archive size and `analyze usage` reading speed. Not part of the
# test suite. Prints one table with the targets and PASS/MISS.
#
#   bench/run.sh            3 interleaved rounds, 5 s per load, record's two throughput rows also
#                           in 12 back-to-back pairs with direct (about 12 min)
#   bench/run.sh --quick    1 round, 2 s per load, smaller phases (about 3 min)
#
# Extra arguments go to bench_run (see `target/release/bench_run --help`).
# Installs what is missing: wrk (apt-get), mitmproxy 11.0.2 in a venv under
# target/bench-venv (pip, via .ci/mitmproxy.sh when present). Only 127.0.0.1 is used; every process started is
# killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
  step "installing wrk (Debian package)"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk zstd
fi

# mitmproxy 11.0.2: through .ci/mitmproxy.sh (the tests' installer, venv under
# target/bench-venv/venv-11.0.2) when present, else a venv of our own.
mitmdump=""
if [ -f .ci/mitmproxy.sh ]; then
  mitmdump=$(bash .ci/mitmproxy.sh "$PWD/target/bench-venv" | sed -n 's/^MITMDUMP=//p') || true
fi
if [ -z "$mitmdump" ] || [ ! -x "$mitmdump" ]; then
  venv="$PWD/target/bench-venv"
  mitmdump="$venv/bin/mitmdump"
  if [ ! -x "$mitmdump" ] || ! "$mitmdump" --version 2>/dev/null | grep -q 'Mitmproxy: 11.0.2'; then
    step "installing mitmproxy 11.0.2 in $venv (pip)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'mitmproxy==11.0.2'
  fi
fi

step "building release binaries (cargo build --release --workspace)"
cargo build --release --workspace

# 1,000 concurrent streams need 2,000+ descriptors in the proxy.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

step "running (bench_run $*)"
# bench_run leads its own process group, so the trap can end it and every
# process it started (upstream, proxies, wrk) by that group's id.
setsid target/release/bench_run --mitmdump "$mitmdump" "$@" &
group=$!
cleanup() { kill -TERM -- "-$group" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
wait "$group"
