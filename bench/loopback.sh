# Sourced by bench/ab.sh and bench/threads.sh: what both need to put load
# through a proxy on loopback. Not run on its own.
#
#   need SCRIPT TOOL...   exits 2 naming the first missing tool
#   start_upstream        bench_upstream on a free port: sets $up and $upid
#   free_port, wait_port PORT
#
# Sets $work (a temporary directory) and $pids (killed, with $work removed,
# when the script exits).

need() { # script tool...
  local script=$1
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$script: $tool is missing (apt-get install $*)" >&2; exit 2; }
  done
  [ -x target/release/bench_upstream ] ||
    { echo "$script: build it first: cargo build --release -p cctap-bench" >&2; exit 2; }
}

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.2; done; return 1; }

start_upstream() {
  up=$(free_port)
  target/release/bench_upstream -p "$up" >"$work/upstream.log" 2>&1 &
  upid=$!
  pids+=("$upid")
  wait_port "$up"
}
