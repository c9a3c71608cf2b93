#!/usr/bin/env bash
# Run the whole test suite; extra arguments go to pytest (a file, -k EXPR, -x, ...).
# Exits non-zero when a test fails or when no test ran (pytest's exit code 5).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/setup.sh"

export DJANGO_SETTINGS_MODULE=llmplanner.settings
# Tests run with DEBUG off, like production; they need a key but never a real one.
export SECRET_KEY="${SECRET_KEY:-insecure-key-for-tests-only}"
# Keep the test database and the test broker apart from a running ./scripts/start.sh.
export VAR_DIR="${VAR_DIR:-$ROOT/var/test}"
# pytest-django recreates the test database file but leaves SQLite's -wal/-shm companions; after a
# run whose worker was killed (a test does that on purpose) they would not match the new file.
rm -f "$VAR_DIR/test-db.sqlite3-wal" "$VAR_DIR/test-db.sqlite3-shm"

exec "$ROOT/.venv/bin/python" -m pytest "$@"
