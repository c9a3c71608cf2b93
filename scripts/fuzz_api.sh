#!/usr/bin/env bash
# A randomized fuzzing session: the API against its OpenAPI schema (schemathesis), hostile input to
# every form, import and API write, and the core's property tests (hypothesis) — with fresh random
# examples and FACTOR times as many as the gate runs (tests/fuzzing.py). Not part of the gate
# (./scripts/test.sh is derandomized, so a commit always gives the same result); run it before
# you stop, and turn what it finds into a fix and a regression test.
#
#   ./scripts/fuzz_api.sh [--factor N] [--seed S] [extra pytest arguments]
#
# Prints the session's seed first: `--seed S` replays the same session. Each failure is printed
# with its reproduction (hypothesis' falsifying example and @reproduce_failure blob; schemathesis'
# failing request as curl). Exits non-zero when anything failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

factor=10
seed="$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --factor) factor="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if ! [[ "$factor" =~ ^[1-9][0-9]*$ && "$seed" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [--factor N] [--seed S] [pytest arguments]" >&2
  exit 2
fi

echo "[fuzz] seed $seed, ${factor}× the gate's examples; replay with: $0 --factor $factor --seed $seed"
export LLMPLANNER_FUZZ=1 LLMPLANNER_FUZZ_FACTOR="$factor" LLMPLANNER_FUZZ_SEED="$seed"
# Apart from the gate's state and the app's: its own test database and broker folder.
export VAR_DIR="${VAR_DIR:-$ROOT/var/fuzz}"
status=0
./scripts/test.sh \
  tests/api/test_schema.py \
  tests/security/test_hostile_api.py tests/security/test_hostile_forms.py \
  tests/security/test_hostile_documents.py tests/security/test_hostile_common.py \
  tests/simulation/test_properties.py \
  -p no:cacheprovider --hypothesis-seed="$seed" -q \
  -o timeout=1800 "${args[@]}" || status=$?
if [ "$status" -eq 0 ]; then
  echo "[fuzz] no failure (seed $seed)"
else
  echo "[fuzz] FAILURES above (seed $seed); each shows its reproduction" >&2
fi
exit "$status"
