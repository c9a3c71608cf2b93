"""Invariants of the model, checked with hypothesis over random plans."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from llmplanner.simulation import (
    ClusterSpec,
    Layout,
    LayoutConstraints,
    ModelSpec,
    TrainingSpec,
    gpu_by_name,
    search,
)
from llmplanner.simulation.perf import GIB, evaluate, training_state_bytes
from llmplanner.simulation.search import layout_candidates
from tests.fuzzing import examples

GPUS = ["A100-80GB", "H100", "A800", "H20", "MI300X"]

models = st.builds(
    lambda layers, width, gated: ModelSpec(
        "random",
        layers=layers,
        hidden=128 * width,
        heads=width,
        ffn_hidden=(3 if gated else 4) * 128 * width,
        vocab=32000,
        gated_mlp=gated,
    ),
    layers=st.sampled_from([8, 16, 24, 32, 48]),
    width=st.sampled_from([8, 16, 32, 40, 64]),
    gated=st.booleans(),
)


def _one(model, training, layout, gpu):
    cluster = ClusterSpec(gpu=gpu_by_name(gpu), gpu_count=layout.gpus)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy warning is a bug
        return evaluate(model, training, cluster, layout_candidates(layout))


@settings(max_examples=examples(60))
@given(
    models,
    st.sampled_from(GPUS),
    st.sampled_from([1, 2, 4, 8]),
    st.sampled_from(["none", "selective", "full"]),
    st.sampled_from([0, 1, 3]),
)
def test_memory_is_non_decreasing_in_micro_batch(model, gpu, tp, recompute, zero):
    training = TrainingSpec(1e9, 64, 2048)
    mems = [
        float(
            _one(
                model,
                training,
                Layout(tp=tp, dp=2, micro_batch=b, recompute=recompute, zero=zero),
                gpu,
            ).memory_bytes[0]
        )
        for b in (1, 2, 4, 8)
    ]
    assert all(a <= b for a, b in zip(mems, mems[1:], strict=False))


@settings(max_examples=examples(60))
@given(models, st.sampled_from(GPUS), st.sampled_from(["none", "selective", "full"]))
def test_memory_is_non_decreasing_in_sequence_length(model, gpu, recompute):
    mems = [
        float(
            _one(
                model, TrainingSpec(1e9, 16, s), Layout(tp=2, dp=2, recompute=recompute), gpu
            ).memory_bytes[0]
        )
        for s in (512, 1024, 2048, 4096, 8192)
    ]
    assert all(a <= b for a, b in zip(mems, mems[1:], strict=False))


@settings(max_examples=examples(60))
@given(models, st.sampled_from(GPUS), st.floats(1e8, 1e12), st.floats(1.01, 100))
def test_time_is_non_decreasing_in_tokens(model, gpu, tokens, factor):
    from llmplanner.simulation import estimate
    from llmplanner.simulation.config import PlanConfig
    from llmplanner.simulation.cost import CostInputs

    cluster = ClusterSpec(gpu=gpu_by_name(gpu), gpu_count=16)
    plans = [
        PlanConfig(
            model, TrainingSpec(t, 64, 2048), cluster, LayoutConstraints(tp=2, pp=1), CostInputs()
        )
        for t in (tokens, tokens * factor)
    ]
    a, b = (estimate(p) for p in plans)
    assert a.wall_clock_hours <= b.wall_clock_hours
    assert a.cost.total <= b.cost.total


@settings(max_examples=examples(40))
@given(
    models, st.sampled_from(GPUS), st.sampled_from([8, 16, 64, 256]), st.sampled_from([2048, 4096])
)
def test_mfu_is_between_zero_and_one_and_found_layouts_fit(model, gpu, gpus, seq):
    training = TrainingSpec(1e10, 512, seq)
    cluster = ClusterSpec(gpu=gpu_by_name(gpu), gpu_count=gpus)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = search(model, training, cluster, top_k=3)
    # With under half the cluster's memory taken by weights, gradients and optimizer states a
    # layout fits (true of every plan these strategies draw); beyond that the search may find
    # none, and must then say how much memory is missing.
    room = gpus * cluster.gpu.memory_gib * GIB > 2 * training_state_bytes(model.total_params())
    if room:
        assert result.top, "no layout found for a plan with memory to spare"
    else:
        assert result.top or result.shortfall_gib > 0
    for r in result.top:
        assert 0 < r.mfu <= 1 and 0 < r.hfu <= 1
        assert r.memory_gib <= cluster.gpu.memory_gib
        assert r.layout.gpus == gpus
        check = _one(model, training, r.layout, gpu)
        assert bool(check.feasible[0])
        assert np.isclose(float(check.step_time_s[0]), r.step_time_s)
