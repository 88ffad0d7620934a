#!/usr/bin/env bash
# Peak RSS of `analyze` on an archive whose one entry carries a big body,
# against the memory target for reading: peak RSS <= 2 x the largest body + 64 MiB.
#
#   bench/big_body.sh [ANALYZE] [MIB]
#   ONLY='text har.zst' bench/big_body.sh   # rows whose label and file match
#
# ANALYZE defaults to target/release/analyze, MIB (the body size) to 48:
# the largest whose string in the HAR (escaped JSON text: ~1.29 bytes a
# byte; base64: 4/3) stays under the reader's 64 MiB string cap, so the
# body is read whole. With a larger MIB the read-only commands (ls, show,
# usage, leaks) read the body cut to its first 64 MiB (and warn): that
# measures the cut, not the body; export and redact copy it whole through
# a temporary file, so `ONLY='export' bench/big_body.sh '' 200` (and
# ONLY=redact) measures them on the whole 200 MiB body.
# Four archives are generated once under $BIG_DIR (default
# target/big-body): the body as JSON text (a Messages request, every quote
# escaped in the HAR) and as base64 (random bytes), each as .har and
# .har.zst. Each of ls, show, usage, leaks, export (.har.zst and .flows)
# runs under /usr/bin/time; the table prints peak RSS and its ratio to the
# target (<= 1.00 meets it). Not a test: it needs ~3 GB of disk and minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
ANALYZE=${1:-target/release/analyze}
MIB=${2:-48}
DIR=${BIG_DIR:-target/big-body}
mkdir -p "$DIR"
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

gen() { # kind -> $DIR/$kind-$MIB.har
  local kind=$1 out="$DIR/$kind-$MIB.har"
  [ -s "$out" ] && return
  python3 - "$kind" "$MIB" "$out" <<'PY'
import base64, json, os, sys
kind, mib, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
n = mib * 1024 * 1024
head = {"version": "1.2", "creator": {"name": "big_body.sh", "version": "1"}}
req = {"method": "POST", "url": "https://api.anthropic.com/v1/messages",
       "httpVersion": "HTTP/1.1", "cookies": [], "queryString": [],
       "headersSize": -1, "bodySize": 0,
       "headers": [{"name": "content-type", "value": "application/json"}]}
resp = {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
        "cookies": [], "headers": [], "redirectURL": "", "headersSize": -1,
        "bodySize": 0}
if kind == "text":
    line = 'say "hi" to the {big} file\n'
    text = (line * (n // len(line) + 1))[: n - 200]
    body = json.dumps({"model": "claude-opus-5-5", "max_tokens": 10,
                       "messages": [{"role": "user", "content": text}]})
    req["postData"] = {"mimeType": "application/json", "text": body}
    req["bodySize"] = len(body)
    resp["content"] = {"size": 2, "mimeType": "application/json", "text": "{}"}
else:
    raw = os.urandom(n)
    req["bodySize"] = 0
    resp["content"] = {"size": n, "mimeType": "application/octet-stream",
                       "encoding": "base64",
                       "text": base64.b64encode(raw).decode()}
entry = {"startedDateTime": "2026-12-04T09:00:00.000Z", "time": 1,
         "request": req, "response": resp, "cache": {},
         "timings": {"send": 0, "wait": 1, "receive": 0}}
with open(out, "w") as f:
    json.dump({"log": dict(head, entries=[entry])}, f)
PY
}

measure() { # label file cmd...
  local label=$1 file=$2; shift 2
  local row="$label $(basename "$file" | sed 's/.*\.har/har/')"
  for word in ${ONLY:-}; do [[ " $row " == *" $word "* ]] || return 0; done
  local log; log=$(mktemp)
  local rc=0
  /usr/bin/time -f '%M %e' -o "$log" "$@" >/dev/null 2>"$log.err" || rc=$?
  local kib secs
  read -r kib secs < <(tail -1 "$log")
  local target=$(( 2 * BODY + 64 * 1024 * 1024 ))
  printf '%-28s %-8s %9.1f MiB %9.1f MiB %6.2f %6ss rc=%s\n' "$label" "$(basename "$file" | sed 's/.*\.har/har/')" \
    "$(echo "$kib / 1024" | bc -l)" "$(echo "$target / 1048576" | bc -l)" \
    "$(echo "$kib * 1024 / $target" | bc -l)" "$secs" "$rc"
  [ $rc -le 1 ] || sed 's/^/    /' "$log.err" | head -3
  rm -f "$log" "$log.err"
}

printf '%-28s %-8s %13s %13s %6s %7s\n' "command" "file" "peak RSS" "target" "ratio" "wall"
for kind in text b64; do
  gen "$kind"
  har="$DIR/$kind-$MIB.har"
  [ -s "$har.zst" ] || zstd -q -3 --long=26 "$har" -o "$har.zst"
  # The largest body as the archive holds it once decoded (text: the JSON
  # body; base64: the decoded bytes).
  BODY=$(python3 -c "
import json,sys,base64
e=json.load(open('$har'))['log']['entries'][0]
t=e['request'].get('postData',{}).get('text') or ''
c=e['response']['content']
print(max(len(t.encode()), c['size']))")
  for f in "$har" "$har.zst"; do
    out="$DIR/out"
    measure "$kind ls" "$f" "$ANALYZE" ls "$f"
    measure "$kind show 0" "$f" "$ANALYZE" show "$f" 0
    measure "$kind usage" "$f" "$ANALYZE" usage "$f"
    measure "$kind leaks" "$f" "$ANALYZE" leaks "$f"
    measure "$kind export .har.zst" "$f" "$ANALYZE" export "$f" -o "$out.har.zst"
    measure "$kind export .flows" "$f" "$ANALYZE" export "$f" -o "$out.flows"
    measure "$kind export .har" "$f" "$ANALYZE" export "$f" -o "$out.har"
    measure "$kind redact .har.zst" "$f" "$ANALYZE" redact "$f" -o "$out.har.zst"
    measure "$kind redact .flows" "$f" "$ANALYZE" redact "$f" -o "$out.flows"
    rm -f "$out.har.zst" "$out.flows" "$out.har"
  done
done
