#!/usr/bin/env bash
# Installs mitmproxy 11.0.2 (the last release that installs on Python 3.11)
# from PyPI into a virtual environment under CACHE_DIR, once, and gives its
# mitmdump to the tests as $MITMDUMP (tests/e2e/mitmproxy.rs skips with a
# notice when MITMDUMP is unset).
#
#   source .ci/mitmproxy.sh CACHE_DIR                 exports MITMDUMP in this shell
#   .ci/mitmproxy.sh CACHE_DIR -- COMMAND [ARGS...]   runs COMMAND with MITMDUMP set
#   .ci/mitmproxy.sh CACHE_DIR                        installs, prints MITMDUMP=PATH
#
# Needs python3 with the venv module (Debian: python3-venv).
MITMPROXY_VERSION=11.0.2

_cctap_mitmproxy_install() {
  local cache=$1 venv
  mkdir -p "$cache" || return 1
  venv=$(cd "$cache" && pwd)/venv-$MITMPROXY_VERSION
  if [ ! -x "$venv/bin/mitmdump" ] ||
    ! "$venv/bin/python" -c "import mitmproxy.version as v; assert v.VERSION == '$MITMPROXY_VERSION'" 2>/dev/null; then
    echo "installing mitmproxy $MITMPROXY_VERSION into $venv" >&2
    python3 -m venv "$venv" || {
      echo "cannot create a Python venv: install python3-venv (apt-get install python3-venv)" >&2
      return 1
    }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "mitmproxy==$MITMPROXY_VERSION" || {
      echo "pip could not install mitmproxy==$MITMPROXY_VERSION (is PyPI reachable?)" >&2
      return 1
    }
  fi
  export MITMDUMP=$venv/bin/mitmdump
}

if [ $# -lt 1 ]; then
  echo "usage: .ci/mitmproxy.sh CACHE_DIR [-- COMMAND [ARGS...]]  (or: source .ci/mitmproxy.sh CACHE_DIR)" >&2
  return 2 2>/dev/null || exit 2
fi

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: set MITMDUMP in the caller's shell.
  _cctap_mitmproxy_install "$1"
  return $?
fi

set -euo pipefail
_cctap_mitmproxy_install "$1"
shift
if [ "${1:-}" = "--" ]; then
  shift
  exec "$@"
fi
echo "MITMDUMP=$MITMDUMP"
