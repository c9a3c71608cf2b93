#!/usr/bin/env bash
# Create or refresh the project virtualenv (.venv) with the pinned dependencies.
#
# Shared by start.sh and test.sh. Safe to run any number of times: it reinstalls only when
# requirements.lock or the interpreter changed (the venv keeps a stamp of both).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
LOCK="$ROOT/requirements.lock"
STAMP="$VENV/.llmplanner-stamp"

say() { printf '[setup] %s\n' "$*" >&2; }

# Prints "3.12"-style major.minor of an interpreter, or nothing if it does not run.
py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }

is_supported() {  # Django 6 needs Python >= 3.12
  local v
  v="$(py_version "$1")"
  [ -n "$v" ] && [ "${v%%.*}" -eq 3 ] && [ "${v#*.}" -ge 12 ]
}

find_python() {
  local candidate
  if [ -n "${PYTHON:-}" ]; then
    if is_supported "$PYTHON"; then echo "$PYTHON"; return 0; fi
    say "PYTHON=$PYTHON is not a Python >= 3.12 interpreter."
    return 1
  fi
  for candidate in python3.13 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_supported "$(command -v "$candidate")"; then
      command -v "$candidate"
      return 0
    fi
  done
  # pyenv's shims only answer with a .python-version file, so look at its versions directly.
  for candidate in /root/.pyenv/versions/3.1[2-9]*/bin/python3 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    if [ -x "$candidate" ] && is_supported "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

want_stamp() {
  local lock_hash
  lock_hash="$(sha256sum "$LOCK" | cut -d' ' -f1)"
  echo "$lock_hash $("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')"
}

if [ -x "$VENV/bin/python" ] && is_supported "$VENV/bin/python"; then
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(want_stamp)" ]; then
    exit 0  # up to date
  fi
else
  if ! PY="$(find_python)"; then
    cat >&2 <<MSG
[setup] ERROR: llmplanner needs Python 3.12 or newer (Django 6 does not run on older versions),
[setup] and none was found on PATH (python3.13, python3.12, python3) or in ~/.pyenv/versions.
[setup] Install one (e.g. 'apt-get install python3.12 python3.12-venv' or 'pyenv install 3.12')
[setup] or point PYTHON at it: PYTHON=/path/to/python3.12 $0
MSG
    exit 1
  fi
  say "creating .venv with $PY ($(py_version "$PY"))"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

say "installing pinned dependencies from requirements.lock"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK"
want_stamp >"$STAMP"
say "dependencies installed"
