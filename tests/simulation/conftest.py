"""Fixtures for the simulation core's tests: no database, no Django."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmplanner.simulation import ClusterSpec, TrainingSpec, gpu_by_name, preset
from llmplanner.simulation.calibrate import PUBLISHED_RUNS

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "llmplanner" / "simulation" / "examples"


@pytest.fixture
def gpt3():
    return preset("gpt3-175b")


@pytest.fixture
def gpt3_training():
    return TrainingSpec(tokens=300e9, global_batch_seqs=1536, seq_len=2048, precision="bf16")


@pytest.fixture
def a100_1024():
    return ClusterSpec(gpu=gpu_by_name("A100-80GB"), gpu_count=1024)


@pytest.fixture
def published_runs_path() -> Path:
    """The calibration data set shipped with the core (nothing outside the repository)."""
    assert PUBLISHED_RUNS.is_relative_to(REPO) and PUBLISHED_RUNS.exists(), PUBLISHED_RUNS
    return PUBLISHED_RUNS


def evaluate_layout(model, training, cluster, eff=None, **layout):
    """The core's evaluation of one explicit layout (``Layout(**layout)``)."""
    from llmplanner.simulation.perf import DEFAULT_EFFICIENCY, evaluate
    from llmplanner.simulation.search import layout_candidates
    from llmplanner.simulation.specs import Layout

    return evaluate(
        model, training, cluster, layout_candidates(Layout(**layout)), eff or DEFAULT_EFFICIENCY
    )
