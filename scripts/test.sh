#!/usr/bin/env bash
# Run the whole test suite; extra arguments go to pytest (a file, -k EXPR, -x, ...).
# Without arguments it exits non-zero when a test fails, or when any test function on disk did not
# run and pass (skipped, deselected, left out): scripts/check_tests.py. With arguments, pytest's
# own exit status (5 when no test ran).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/setup.sh"
# The PDF export tests need poppler's pdftoppm (page 1 as PNG) and a CJK font (the Chinese
# document): install Debian's packages when they are missing and we may.
fonts="$(fc-list : family 2>/dev/null || true)"  # not piped into grep -q: pipefail + SIGPIPE
if ! command -v pdftoppm >/dev/null 2>&1 || [[ "$fonts" != *"Noto Sans CJK"* ]]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing poppler-utils and fonts-noto-cjk for the PDF tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils fonts-noto-cjk >/dev/null
  else
    echo "[test] warning: install poppler-utils and fonts-noto-cjk, or the PDF tests fail" >&2
  fi
fi
# The browser tests (tests/e2e) drive Debian's chromium through Playwright: `playwright install`
# cannot download a browser on these machines, so install the distribution's when it is missing.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing chromium for the browser tests" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "[test] warning: install chromium (/usr/bin/chromium), or the browser tests fail" >&2
  fi
fi
# tests/test_compose.py lints docker-compose.yml with Debian's docker-compose (no engine needed).
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing docker-compose to lint docker-compose.yml" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  else
    echo "[test] warning: install docker-compose, or the compose lint test fails" >&2
  fi
fi

export DJANGO_SETTINGS_MODULE=llmplanner.settings
# Tests run with DEBUG off, like production; they need a key but never a real one.
export SECRET_KEY="${SECRET_KEY:-insecure-key-for-tests-only}"
# Keep the test database and the test broker apart from a running ./scripts/start.sh.
export VAR_DIR="${VAR_DIR:-$ROOT/var/test}"
# pytest-django recreates the test database file but leaves SQLite's -wal/-shm companions; after a
# run whose worker was killed (a test does that on purpose) they would not match the new file.
rm -f "$VAR_DIR/test-db.sqlite3-wal" "$VAR_DIR/test-db.sqlite3-shm"

if [ "$#" -gt 0 ]; then
  # A chosen part of the suite (a file, -k, -x...): plain pytest, no completeness check.
  exec "$ROOT/.venv/bin/python" -m pytest "$@"
fi

# The whole suite: nothing inherited may narrow it, and the gate checks afterwards that every test
# function on disk ran and passed (scripts/check_tests.py reads the report tests/gate_report.py
# writes). Hypothesis and schemathesis are derandomized here (tests/fuzzing.py): the same commit
# gives the same result; ./scripts/fuzz_api.sh is the randomized search.
if [ -n "${PYTEST_ADDOPTS:-}" ]; then
  echo "[test] ignoring PYTEST_ADDOPTS=$PYTEST_ADDOPTS: the whole suite runs" >&2
  unset PYTEST_ADDOPTS
fi
unset LLMPLANNER_FUZZ
REPORT="${LLMPLANNER_TEST_REPORT:-$VAR_DIR/test-report.json}"
mkdir -p "$(dirname "$REPORT")"
rm -f "$REPORT"
status=0
LLMPLANNER_TEST_REPORT="$REPORT" "$ROOT/.venv/bin/python" -m pytest tests || status=$?
gate=0
"$ROOT/.venv/bin/python" "$ROOT/scripts/check_tests.py" "$REPORT" \
  ${LLMPLANNER_EXPECT_DATABASE:+--database "$LLMPLANNER_EXPECT_DATABASE"} \
  ${LLMPLANNER_EXPECT_BROKER:+--broker "$LLMPLANNER_EXPECT_BROKER"} || gate=$?
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$gate"
