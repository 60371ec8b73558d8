#!/usr/bin/env bash
# The README's test command: install everything the test suite needs, then run it.
#   - a virtual environment in .venv with tierslieux and its `test` and `cluster` extras (Dask:
#     tests/test_cluster.py starts a real scheduler and workers),
#   - PHP + MediaWiki for the harvest tests (scripts/install-test-servers.sh; needs root or
#     sudo for apt-get; without them the MediaWiki tests skip with a message, except under
#     CI=true where they fail),
#   - then pytest over tests/ (extra arguments are passed to pytest).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -e '.[test,cluster]' >&2

if ! bash scripts/install-test-servers.sh; then
  if [ "${CI:-}" = true ]; then exit 1; fi
  echo "[test] PHP/MediaWiki could not be installed: the MediaWiki tests will be skipped." >&2
fi

exec "$VENV/bin/python" -m pytest "$@"
