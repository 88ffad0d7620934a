# Shared by .ci/claude-code.sh and .ci/claude-code-forward.sh (sourced, not
# run): the pinned test inputs, the pass/fail tally, the npm installs of
# Claude Code and har-validator into CACHE_DIR, and the binaries under test.
# The caller sets `cache`, `repo` and `tmp` first.

FAKE_KEY="sk-ant-api03-FAKEcctapCI0000000000fakefakefakefake0000000000FAKE-notareal-keyAA"
REPLY="Hello from the cctap fake upstream."
RUN_LIMIT=120
check="$repo/fixtures/claude-code/check_archive.py"
validate="$repo/fixtures/claude-code/validate_har.cjs"
HAR_VALIDATOR=har-validator@5.1.5

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

upstream_pid=""
stop_upstream() {
  if [ -n "$upstream_pid" ]; then kill "$upstream_pid" 2>/dev/null; wait "$upstream_pid" 2>/dev/null; fi
  upstream_pid=""
}

# Builds record, analyze and fake-upstream (a no-op after tests/run's build) and sets
# `record` and `fake_upstream`; exits with the tally on failure.
build_binaries() {
  echo "==> building record and fake-upstream"
  (cd "$repo" && cargo build --locked -q -p cctap-recorder -p cctap-analyzer -p cctap-tests --bins) || {
    fail "cargo build"
    echo "$passed passed, $failed failed"
    exit 1
  }
  local bin_dir="${CARGO_TARGET_DIR:-$repo/target}/debug"
  record="$bin_dir/record"
  fake_upstream="$bin_dir/fake-upstream"
}

# The version a claude binary reports, with a throwaway HOME.
claude_version() {
  HOME="$tmp/version-home" timeout 60 "$1" --version </dev/null 2>/dev/null | awk '{print $1}'
}

# Installs one version into CACHE_DIR/VERSION unless it is already there.
install_version() {
  local version=$1 prefix="$cache/$1" claude="$cache/$1/node_modules/.bin/claude"
  mkdir -p "$tmp/version-home"
  if [ "$(claude_version "$claude")" = "$version" ]; then return 0; fi
  echo "==> npm install @anthropic-ai/claude-code@$version"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$version" || return 1
  # 2.1.x: the postinstall copies the native binary over a stub; run it if
  # this npm skipped install scripts.
  if [ "$(claude_version "$claude")" != "$version" ] && [ -f "$prefix/node_modules/@anthropic-ai/claude-code/install.cjs" ]; then
    (cd "$prefix/node_modules/@anthropic-ai/claude-code" && node install.cjs) || return 1
  fi
  [ "$(claude_version "$claude")" = "$version" ]
}

# The HAR 1.2 schema validator, into CACHE_DIR/har-validator; sets
# `have_validator` (0 when npm could not install it: a failure is tallied).
install_validator() {
  have_validator=1
  [ -d "$cache/har-validator/node_modules/har-validator" ] && return 0
  echo "==> npm install $HAR_VALIDATOR"
  npm install --prefix "$cache/har-validator" --no-audit --no-fund --loglevel=error "$HAR_VALIDATOR" || {
    fail "cannot install $HAR_VALIDATOR from npm (archives are checked without it)"
    have_validator=0
  }
}
