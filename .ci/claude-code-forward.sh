#!/usr/bin/env bash
# Drives the real Claude Code CLI through `record` in forward mode.
#
#   .ci/claude-code-forward.sh CACHE_DIR           verify (archives in a temp dir; the repo is untouched)
#   .ci/claude-code-forward.sh --regen CACHE_DIR   also rewrite fixtures/claude-code-forward/*.har
#
# CACHE_DIR is the one .ci/claude-code.sh uses: CACHE_DIR/VERSION holds an npm
# install of @anthropic-ai/claude-code@VERSION (installed here the same way
# when missing), CACHE_DIR/har-validator the HAR 1.2 schema validator.
#
# For 2.0.50 (Node) and 2.1.332 (native binary) it runs `claude -p "say hi"`
# wrapped by `record -m regular` against `fake-upstream --tls` at
# https://localhost:PORT: the fake's CA goes to record (--upstream-ca); Claude
# Code gets HTTPS_PROXY and trusts cctap's CA only because record sets them
# (NODE_EXTRA_CA_CERTS and friends). Each run has a throwaway HOME and
# --confdir, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, a fake key, stdin
# </dev/null and a time limit. fixtures/claude-code/check_archive.py judges
# the archive (main call, SSE events, key redacted, what upstream received).
# Ends with `N passed, M failed`; exits 1 if anything failed.
set -uo pipefail

regen=0
if [ "${1:-}" = "--regen" ]; then regen=1; shift; fi
if [ $# -ne 1 ]; then
  echo "usage: $0 [--regen] CACHE_DIR   (CACHE_DIR keeps the npm installs between runs)" >&2
  exit 2
fi
mkdir -p "$1" && cache=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)

VERSIONS=(2.0.50 2.1.332)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cctap-claude-forward.XXXXXX")
# shellcheck source=.ci/claude-code-common.sh
source "$repo/.ci/claude-code-common.sh"
cleanup() { stop_upstream; rm -rf "$tmp"; }
trap cleanup EXIT

if [ "$regen" -eq 1 ]; then out_dir="$repo/fixtures/claude-code-forward"; else out_dir="$tmp/archives"; fi
mkdir -p "$out_dir"

build_binaries

install_validator

# Starts fake-upstream --tls logging to $1; sets upstream_port and writes its CA to $2.
start_upstream() {
  local log=$1 ca=$2 out="$tmp/upstream.out"
  : > "$out"
  "$fake_upstream" --tls --ca-out "$ca" --reply "$REPLY" --log "$log" > "$out" 2>&1 &
  upstream_pid=$!
  for _ in $(seq 100); do
    upstream_port=$(sed -n 's/^listening on https:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out")
    if [ -n "$upstream_port" ] && [ -s "$ca" ]; then return 0; fi
    sleep 0.1
  done
  cat "$out" >&2
  return 1
}

# run_case VERSION: claude -p "say hi" under record -m regular, then checks.
run_case() {
  local version=$1 name="$1-forward"
  local claude="$cache/$version/node_modules/.bin/claude"
  local home work confdir archive="$out_dir/$name.har" log="$tmp/$name"
  home=$(mktemp -d "$tmp/home.XXXXXX")
  work=$(mktemp -d "$tmp/work.XXXXXX")
  confdir="$tmp/$name.confdir"
  rm -f "$archive"
  start_upstream "$log.upstream.jsonl" "$log.upstream-ca.pem" || { fail "$name: fake-upstream did not start"; return; }
  local base="https://localhost:$upstream_port"
  (
    cd "$work" &&
      env -u ANTHROPIC_AUTH_TOKEN -u CLAUDE_CODE_OAUTH_TOKEN \
        -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy -u NO_PROXY -u no_proxy \
        -u NODE_EXTRA_CA_CERTS -u SSL_CERT_FILE -u CURL_CA_BUNDLE -u REQUESTS_CA_BUNDLE \
        HOME="$home" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
        ANTHROPIC_API_KEY="$FAKE_KEY" ANTHROPIC_BASE_URL="$base" \
        timeout "$RUN_LIMIT" "$record" -m regular --confdir "$confdir" --upstream-ca "$log.upstream-ca.pem" \
        -o "$archive" -q -- "$claude" -p "say hi" \
        </dev/null >"$log.stdout" 2>"$log.stderr"
  )
  local status=$?
  stop_upstream
  if [ "$status" -ne 0 ]; then
    fail "$name: record -- claude exited $status (124: timed out after ${RUN_LIMIT}s)"
    sed 's/^/  stderr: /' "$log.stderr" | tail -20
    sed 's/^/  stdout: /' "$log.stdout" | tail -5
    return
  fi
  local valid=1
  if [ "$have_validator" -eq 1 ]; then node "$validate" "$cache/har-validator" "$archive" || valid=0; fi
  if python3 "$check" "$archive" --key "$FAKE_KEY" --version "$version" --stdout "$log.stdout" \
       --reply "$REPLY" --upstream "$base" --upstream-log "$log.upstream.jsonl" && [ "$valid" -eq 1 ]; then
    pass "$name"
  else
    fail "$name: archive check (see above)"
  fi
}

for version in "${VERSIONS[@]}"; do
  if ! install_version "$version"; then
    fail "$version: cannot install @anthropic-ai/claude-code@$version from npm"
    continue
  fi
  echo "==> Claude Code $version through record -m regular"
  run_case "$version"
done

if [ "$regen" -eq 1 ]; then echo "==> fixtures written to fixtures/claude-code-forward/ (review with git diff)"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
