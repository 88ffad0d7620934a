#!/usr/bin/env bash
# A real browser for the report's tests and benchmark: Debian's chromium
# (apt, with fonts so screenshots are readable) driven by Playwright from
# PyPI in a virtual environment under CACHE_DIR. Playwright's own browser
# download is never used (it is not reachable): callers launch chromium
# with `executable_path`. Idempotent and quiet once installed.
#
#   source .ci/browser.sh CACHE_DIR    sets CCTAP_CHROMIUM and PLAYWRIGHT_PYTHON
#
# Returns 1 with a message on stderr when something cannot be installed.
# CCTAP_CHROMIUM, when already set, names the browser to use instead.
PLAYWRIGHT_VERSION=1.65.2

_cctap_apt() {
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "installing $* (Debian packages)" >&2
  $sudo_cmd apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

_cctap_browser_install() {
  local cache=$1 venv
  if [ -z "${CCTAP_CHROMIUM:-}" ]; then
    if ! command -v chromium >/dev/null 2>&1; then
      _cctap_apt chromium fonts-liberation || {
        echo "cannot install Debian's chromium (apt-get install chromium)" >&2
        return 1
      }
    fi
    CCTAP_CHROMIUM=$(command -v chromium) || {
      echo "chromium is not on PATH after installing it" >&2
      return 1
    }
  fi
  mkdir -p "$cache" || return 1
  venv=$(cd "$cache" && pwd)/playwright-$PLAYWRIGHT_VERSION
  if ! "$venv/bin/python" -c "import playwright" 2>/dev/null; then
    # Debian splits the venv module off python3.
    python3 -c "import ensurepip" 2>/dev/null || _cctap_apt python3-venv || {
      echo "cannot install python3-venv" >&2
      return 1
    }
    echo "installing playwright $PLAYWRIGHT_VERSION (PyPI) into $venv" >&2
    python3 -m venv "$venv" || {
      echo "cannot create a Python venv in $venv" >&2
      return 1
    }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION" || {
      echo "pip could not install playwright==$PLAYWRIGHT_VERSION (is PyPI reachable?)" >&2
      return 1
    }
  fi
  export CCTAP_CHROMIUM
  export PLAYWRIGHT_PYTHON=$venv/bin/python
}

if [ $# -lt 1 ]; then
  echo "usage: source .ci/browser.sh CACHE_DIR" >&2
  return 2 2>/dev/null || exit 2
fi
_cctap_browser_install "$1"
