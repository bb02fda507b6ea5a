#!/usr/bin/env bash
# Build or refresh the project environment (.venv) from the committed lock file.
#
# Needs only a CPython 3.11 or 3.12 on PATH (pgserver, the embedded warehouse, ships wheels
# for those two). uv itself is installed from PyPI into .tools/ at a pinned version, so the
# machine needs nothing else. Everything comes from package registries: no downloads from
# elsewhere (UV_PYTHON_DOWNLOADS=never keeps uv from fetching an interpreter).
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.9"
TOOLS=".tools"

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3 python3.12 python3.11; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else 1)' 2>/dev/null; then
      # the interpreter itself, not a shim (pyenv, asdf): given a shim's path, uv sees
      # another interpreter than the one .venv was made from and rebuilds .venv each time
      "$candidate" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}

if ! PY="$(find_python)"; then
  echo "budgetperf needs CPython 3.11 or 3.12 (found: $(python3 --version 2>&1 || echo none))." >&2
  echo "Install one of them, or point PYTHON=/path/to/python3.12 at it." >&2
  exit 2
fi

if [ ! -x "$TOOLS/bin/uv" ] || [ "$("$TOOLS/bin/uv" --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  echo "bootstrap: installing uv $UV_VERSION into $TOOLS/ (from PyPI)" >&2
  "$PY" -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

export UV_PYTHON_DOWNLOADS=never
# --frozen: install exactly what uv.lock says, never re-resolve.
# --compile-bytecode: write every package's .pyc now. Where PYTHONDONTWRITEBYTECODE is set
# (common in containers and CI images) Python never caches them itself, and each process
# would compile Airflow, dbt and Great Expectations from source again: about 6 s for
# every task, test and CLI call. Compiled once here (about 15 s), later syncs skip it.
"$TOOLS/bin/uv" sync --frozen --compile-bytecode --python "$PY" --quiet
# the project's own modules too (editable install, so uv leaves them alone)
.venv/bin/python -m compileall -q -j 0 plugins dags >/dev/null
