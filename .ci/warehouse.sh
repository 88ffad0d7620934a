#!/usr/bin/env bash
# Checks `analyze export --format parquet` with real readers: DuckDB and
# pyarrow from PyPI, installed once into a virtual environment under
# CACHE_DIR (idempotent; reused when the pinned versions are there).
#
#   .ci/warehouse.sh CACHE_DIR [ANALYZE]     ANALYZE defaults to target/debug/analyze
#
# .ci/warehouse_check.py does the checking; it ends with `N passed, M failed`
# and exits 1 if anything failed. Needs python3 with the venv module.
set -euo pipefail
DUCKDB_VERSION=2.0.0
PYARROW_VERSION=26.0.1

if [ $# -lt 1 ]; then
  echo "usage: .ci/warehouse.sh CACHE_DIR [ANALYZE]" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
venv=$(cd "$1" && pwd)/venv-duckdb-$DUCKDB_VERSION-pyarrow-$PYARROW_VERSION
analyze=${2:-$repo/target/debug/analyze}

if ! "$venv/bin/python" -c "import duckdb, pyarrow; assert duckdb.__version__ == '$DUCKDB_VERSION' and pyarrow.__version__ == '$PYARROW_VERSION'" 2>/dev/null; then
  echo "installing duckdb $DUCKDB_VERSION and pyarrow $PYARROW_VERSION into $venv" >&2
  python3 -m venv "$venv" || {
    echo "cannot create a Python venv: install python3-venv (apt-get install python3-venv)" >&2
    exit 1
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "duckdb==$DUCKDB_VERSION" "pyarrow==$PYARROW_VERSION" || {
    echo "pip could not install duckdb==$DUCKDB_VERSION pyarrow==$PYARROW_VERSION (is PyPI reachable?)" >&2
    exit 1
  }
fi
[ -x "$analyze" ] || {
  echo "$analyze is missing: build it first (cargo build -p cctap-analyzer)" >&2
  exit 1
}
exec "$venv/bin/python" "$repo/.ci/warehouse_check.py" "$analyze" "$repo"
