"""How much the property-based tests try, in the gate and in a fuzzing session.

The gate (``./scripts/test.sh``, CI) loads the hypothesis profile ``gate``: derandomized — the
examples are derived from each test's name, so the same commit always runs the same examples —
and no example database, so nothing a previous run found changes the next one. A fuzzing session
(``./scripts/fuzz_api.sh``) sets ``LLMPLANNER_FUZZ=1``: the profile ``fuzz`` draws fresh random
examples and every test asks for ``FUZZ_FACTOR`` times as many (``examples(n)``).

Tests give their example counts through ``examples(n)`` and never set ``derandomize`` themselves,
so that both modes reach them.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ = os.environ.get("LLMPLANNER_FUZZ", "") == "1"
FUZZ_FACTOR = int(os.environ.get("LLMPLANNER_FUZZ_FACTOR", "10") or 10)
# The fuzzing session's seed (scripts/fuzz_api.sh prints it): the same seed replays the session.
FUZZ_SEED = int(os.environ.get("LLMPLANNER_FUZZ_SEED", "0") or 0)
GATE_SEED = 20261202

# Both: no example database (nothing a previous run found changes the next), no deadline (a
# request through the whole stack is slow on a busy 2-core machine), the reproduction blob printed.
_COMMON = {
    "database": None,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow],
}
settings.register_profile("gate", derandomize=True, **_COMMON)
settings.register_profile("fuzz", derandomize=False, **_COMMON)


def load_profile() -> None:
    settings.load_profile("fuzz" if FUZZ else "gate")


def examples(n: int) -> int:
    """``n`` examples in the gate, ``n × FUZZ_FACTOR`` in a fuzzing session."""
    return n * FUZZ_FACTOR if FUZZ else n
