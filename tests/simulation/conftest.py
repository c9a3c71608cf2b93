"""Fixtures for the simulation core's tests: no database, no Django."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmplanner.simulation import ClusterSpec, TrainingSpec, gpu_by_name, preset

REPO = Path(__file__).resolve().parents[2]
PUBLISHED_RUNS = REPO.parent / "shared" / "calibration" / "published_runs.json"
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
    assert PUBLISHED_RUNS.exists(), (
        f"calibration data missing at {PUBLISHED_RUNS} (shared/ must sit beside the repo)"
    )
    return PUBLISHED_RUNS
