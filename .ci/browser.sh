#!/usr/bin/env bash
# Real browsers for the report's tests and benchmark: Debian's chromium
# (apt, with fonts so screenshots are readable) driven by Playwright from
# PyPI in a virtual environment under CACHE_DIR, and, with `firefox`,
# Debian's firefox-esr driven by puppeteer-core from npm (WebDriver BiDi).
# No browser is downloaded by a driver (those downloads are not reachable):
# callers launch the Debian binaries by path. Idempotent, quiet once there.
#
#   source .ci/browser.sh CACHE_DIR            sets CCTAP_CHROMIUM, PLAYWRIGHT_PYTHON
#   source .ci/browser.sh CACHE_DIR firefox    sets CCTAP_FIREFOX, PUPPETEER_PREFIX
#
# Returns 1 with a message on stderr when something cannot be installed.
# CCTAP_CHROMIUM / CCTAP_FIREFOX, when already set, name the browser to use.
PLAYWRIGHT_VERSION=1.65.2
PUPPETEER_VERSION=25.16.0

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

_cctap_firefox_install() {
  local cache=$1
  if [ -z "${CCTAP_FIREFOX:-}" ]; then
    if ! command -v firefox-esr >/dev/null 2>&1; then
      _cctap_apt firefox-esr fonts-liberation || {
        echo "cannot install Debian's firefox-esr (apt-get install firefox-esr)" >&2
        return 1
      }
    fi
    CCTAP_FIREFOX=$(command -v firefox-esr) || return 1
  fi
  command -v npm >/dev/null 2>&1 || _cctap_apt npm || {
    echo "cannot install npm (apt-get install npm)" >&2
    return 1
  }
  mkdir -p "$cache" || return 1
  PUPPETEER_PREFIX=$(cd "$cache" && pwd)/puppeteer-core-$PUPPETEER_VERSION
  if [ ! -f "$PUPPETEER_PREFIX/node_modules/puppeteer-core/package.json" ]; then
    echo "installing puppeteer-core $PUPPETEER_VERSION (npm) into $PUPPETEER_PREFIX" >&2
    # No browser download: puppeteer-core never fetches one.
    npm install --prefix "$PUPPETEER_PREFIX" --no-audit --no-fund --loglevel=error \
      "puppeteer-core@$PUPPETEER_VERSION" >/dev/null || {
      echo "npm could not install puppeteer-core@$PUPPETEER_VERSION (is npm's registry reachable?)" >&2
      return 1
    }
  fi
  export CCTAP_FIREFOX PUPPETEER_PREFIX
}

if [ $# -lt 1 ]; then
  echo "usage: source .ci/browser.sh CACHE_DIR [firefox]" >&2
  return 2 2>/dev/null || exit 2
fi
if [ "${2:-}" = firefox ]; then
  _cctap_firefox_install "$1"
else
  _cctap_browser_install "$1"
fi
