#!/usr/bin/env bash
# Drives the real Claude Code CLI through `record` and checks the archives.
#
#   .ci/claude-code.sh CACHE_DIR            verify (archives go to a temp dir; the repo is not touched)
#   .ci/claude-code.sh --regen CACHE_DIR    also rewrite fixtures/claude-code/*.har
#   --only PATTERN                          only the cases whose name matches (shell glob), e.g. '2.1.332-*'
#
# For each pinned version (installed from npm into CACHE_DIR/VERSION, reused
# when already there) it runs `claude -p "say hi"` under `record`, once in
# reverse mode against the fake upstream (`fake-upstream`, plain HTTP on
# 127.0.0.1) and once with `-m offline`; 2.1.332 runs in reverse mode a second
# time in another working directory, so the analyzer can show that two runs of
# one version diff empty once masked, and once more with the fake upstream
# answering the first request 529 (the retry must succeed, both archived). Every run has a throwaway HOME, both
# "disable" flags, an obviously fake key and stdin </dev/null, and a time
# limit. fixtures/claude-code/check_archive.py judges each archive, and the
# npm package har-validator (HAR 1.2 schema) validates it.
# Ends with `N passed, M failed`; exits 1 if anything failed.
set -uo pipefail

regen=0
only=""
while [ $# -gt 1 ]; do
  case "$1" in
    --regen) regen=1; shift ;;
    --only) only=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ]; then
  echo "usage: $0 [--regen] [--only NAME-PATTERN] CACHE_DIR   (CACHE_DIR keeps the npm installs between runs)" >&2
  exit 2
fi
mkdir -p "$1" && cache=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)

VERSIONS=(2.0.14 2.0.50 2.1.332)
RERUN_VERSION=2.1.332

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cctap-claude-code.XXXXXX")
# shellcheck source=.ci/claude-code-common.sh
source "$repo/.ci/claude-code-common.sh"
cleanup() { stop_upstream; rm -rf "$tmp"; }
trap cleanup EXIT

if [ "$regen" -eq 1 ]; then
  out_dir="$repo/fixtures/claude-code"
else
  out_dir="$tmp/archives"
fi
mkdir -p "$out_dir"

build_binaries

# Starts a fresh fake upstream logging to $1 with behaviour $2; sets upstream_url.
start_upstream() {
  local log=$1 behaviour=$2 out="$tmp/upstream.out"
  : > "$out"
  "$fake_upstream" --reply "$REPLY" --log "$log" --behaviour "$behaviour" > "$out" 2>&1 &
  upstream_pid=$!
  for _ in $(seq 100); do
    upstream_url=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$out")
    if [ -n "$upstream_url" ]; then return 0; fi
    sleep 0.1
  done
  cat "$out" >&2
  return 1
}

# run_case NAME VERSION MODE [BEHAVIOUR EXPECT_STATUS]: claude -p "say hi"
# under record, then checks. BEHAVIOUR is fake-upstream's (e.g. the first
# answer 529, so the archive must also hold that failed attempt).
run_case() {
  local name=$1 version=$2 mode=$3 behaviour=${4:-} expect_status=${5:-}
  # shellcheck disable=SC2053
  if [ -n "$only" ] && [[ $name != $only ]]; then return; fi
  local claude="$cache/$version/node_modules/.bin/claude"
  local home work archive="$out_dir/$name.har" log="$tmp/$name"
  home=$(mktemp -d "$tmp/home.XXXXXX")
  work=$(mktemp -d "$tmp/work.XXXXXX")
  local mode_arg check_args=()
  rm -f "$archive"
  if [ "$mode" = reverse ]; then
    start_upstream "$log.upstream.jsonl" "$behaviour" || { fail "$name: fake-upstream did not start"; return; }
    mode_arg="reverse:$upstream_url"
    check_args=(--reply "$REPLY" --upstream "$upstream_url" --upstream-log "$log.upstream.jsonl")
    if [ -n "$expect_status" ]; then check_args+=(--expect-status "$expect_status"); fi
  else
    mode_arg=offline
  fi
  (
    cd "$work" &&
      env -u ANTHROPIC_BASE_URL -u ANTHROPIC_AUTH_TOKEN -u CLAUDE_CODE_OAUTH_TOKEN \
        -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy -u ALL_PROXY -u all_proxy -u NO_PROXY -u no_proxy \
        HOME="$home" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
        ANTHROPIC_API_KEY="$FAKE_KEY" \
        timeout "$RUN_LIMIT" "$record" -m "$mode_arg" -o "$archive" -q -- "$claude" -p "say hi" \
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
  if python3 "$check" "$archive" --key "$FAKE_KEY" --version "$version" --stdout "$log.stdout" "${check_args[@]}" && [ "$valid" -eq 1 ]; then
    pass "$name"
  else
    fail "$name: archive check (see above)"
  fi
}

# against_case VERSION MISSING...: claude -p "say hi" under `record -m offline`
# in a git repository with a throwaway HOME, so Claude Code's own transcript
# lands in $HOME/.claude/projects beside our archive; then `analyze usage
# --against` must match the main loop and list exactly MISSING (the side
# calls Claude Code does not log) as missing locally, with their tokens.
against_case() {
  local version=$1 name="$1-against"
  shift
  # shellcheck disable=SC2053
  if [ -n "$only" ] && [[ $name != $only ]]; then return; fi
  local claude="$cache/$version/node_modules/.bin/claude" home work archive="$tmp/$name.har"
  home=$(mktemp -d "$tmp/home.XXXXXX")
  work=$(mktemp -d "$tmp/work.XXXXXX")
  git -C "$work" init -q && git -C "$work" -c user.email=ci@example.invalid -c user.name=ci commit -q --allow-empty -m init
  (
    cd "$work" &&
      env -u ANTHROPIC_BASE_URL -u ANTHROPIC_AUTH_TOKEN -u CLAUDE_CODE_OAUTH_TOKEN \
        HOME="$home" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 \
        ANTHROPIC_API_KEY="$FAKE_KEY" \
        timeout "$RUN_LIMIT" "$record" -m offline -o "$archive" -q -- "$claude" -p "say hi" \
        </dev/null >"$tmp/$name.stdout" 2>"$tmp/$name.stderr"
  ) || { fail "$name: record -- claude exited $?"; return; }
  if python3 "$repo/.ci/against_check.py" "$(dirname "$record")/analyze" "$home/.claude/projects" "$archive" --missing "$@"; then
    pass "$name: analyze usage --against matches Claude Code's transcript"
  else
    fail "$name: analyze usage --against (see above)"
  fi
}

install_validator

# tests/run already ran the whole suite with CCTAP_HAR_VALIDATOR set.
if [ "$have_validator" -eq 1 ] && [ -z "$only" ] && [ -z "${CCTAP_HAR_VALIDATOR:-}" ]; then
  echo "==> the end-to-end tests' archives through har-validator"
  if (cd "$repo" && CCTAP_HAR_VALIDATOR="$cache/har-validator" cargo test --locked -q -p cctap-tests --test e2e -- --skip mitmproxy:: --skip forward:: >"$tmp/e2e.log" 2>&1); then
    pass "e2e archives pass har-validator"
  else
    fail "e2e archives with CCTAP_HAR_VALIDATOR set"
    grep -E "panicked|FAIL|har-validator" "$tmp/e2e.log" | head -20
  fi
fi

for version in "${VERSIONS[@]}"; do
  if ! install_version "$version"; then
    fail "$version: cannot install @anthropic-ai/claude-code@$version from npm"
    continue
  fi
  echo "==> Claude Code $version"
  run_case "$version-reverse" "$version" reverse
  run_case "$version-offline" "$version" offline
  if [ "$version" = "$RERUN_VERSION" ]; then
    run_case "$version-reverse-rerun" "$version" reverse
    # 2.1.x retries the same streaming request after a 529 (about 30 ms later);
    # 2.0.x's concurrent calls make it random which one would get the 529.
    run_case "$version-overloaded" "$version" reverse "status=529,first=1" 529
  fi
  # The wire against Claude Code's own logs: 2.1.332 makes one call per turn
  # (all logged); 2.0.50 also makes a git-history side call it never logs
  # (its Warmup subagent calls go to agent-*.jsonl and match).
  case "$version" in
    2.1.332) against_case "$version" ;;
    2.0.50) against_case "$version" side:git-history ;;
  esac
done

if [ "$regen" -eq 1 ]; then
  echo "==> fixtures written to fixtures/claude-code/ (review with git diff)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
