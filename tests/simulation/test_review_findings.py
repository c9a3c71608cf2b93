"""Regression tests for findings of an independent review of the core (one per finding)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from llmplanner.simulation import (
    ClusterSpec,
    Layout,
    TrainingSpec,
    ValidationError,
    estimate,
    gpu_by_name,
    preset,
)
from llmplanner.simulation.calibrate import calibrate_rows
from llmplanner.simulation.config import parse_config, parse_goodput
from llmplanner.simulation.perf import evaluate, model_state_bytes
from llmplanner.simulation.planspec import parse_plan
from llmplanner.simulation.program import simulate_program
from llmplanner.simulation.reliability import GoodputSpec, simulate_goodput
from llmplanner.simulation.risks import risk_register
from llmplanner.simulation.search import layout_candidates, search

from .conftest import EXAMPLES, REPO


def test_moe_expert_states_are_sharded_over_expert_data_parallel_ranks_only():
    model = preset("mixtral-8x7b")
    training = TrainingSpec(1e9, 256, 4096)
    cluster = ClusterSpec(gpu_by_name("H100"), 64)
    ev = evaluate(
        model, training, cluster, layout_candidates(Layout(dp=64, ep=8, micro_batch=2, zero=2))
    )
    expert = model.moe_layers * (model.moe_experts / 8) * model.expert_params()
    dense = model.total_params() - model.moe_layers * model.moe_experts * model.expert_params()
    _, g_dense, o_dense = model_state_bytes(dense, 2, 64)
    _, g_expert, o_expert = model_state_bytes(expert, 2, 64 / 8)
    # A tensor-parallel (fused) stack trains BF16 with FP32 gradient buffers: twice ZeRO's 2 bytes.
    assert float(ev.grads_bytes[0]) == pytest.approx(2 * float(g_dense + g_expert), rel=0.01)
    assert float(ev.optimizer_bytes[0]) == pytest.approx(float(o_dense + o_expert), rel=0.01)


def test_time_uses_the_batch_the_layout_runs_and_search_ranks_by_throughput():
    plan = parse_config({
        "model": {"preset": "llama2-7b"}, "training": {"tokens": 1e11, "global_batch_seqs": 1000},
        "cluster": {"gpu_type": "A100", "gpu_count": 64},
    })  # fmt: skip
    est = estimate(plan)
    assert est.wall_clock_hours == pytest.approx(1e11 / est.layout.tokens_per_s / 3600, rel=1e-9)
    top = search(plan.model, plan.training, plan.cluster, top_k=10).top
    assert [r.tokens_per_s for r in top] == sorted((r.tokens_per_s for r in top), reverse=True)


def test_a_plan_whose_runs_do_not_fit_says_so():
    data = json.loads((EXAMPLES / "plan-sft-7b.json").read_text())
    data["model"] = {"preset": "llama2-70b"}
    result = simulate_program(parse_plan(data), 100, 0)
    sft = next(s for s in result.stages if s.key == "sft")
    assert sft.shortfall_gib > 0
    codes = {r.code: r for r in risk_register(result)}
    assert codes["does_not_fit_sft"].likelihood == 1.0
    out = subprocess.run(
        [sys.executable, "-m", "llmplanner.simulation", "plan", "/dev/stdin", "--trials", "50"],
        input=json.dumps(data), capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert "does not fit in GPU memory" in out.stdout


def test_ladder_rungs_never_train_longer_than_the_main_run():
    data = json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text())
    result = simulate_program(parse_plan(data), 100, 0)
    st = {s.key: s for s in result.stages}
    one_run = np.median(st["main"].finish_days - st["main"].start_days) / data["full_runs"]
    for key in ("ladder_1", "ladder_2", "ladder_3"):
        assert np.median(st[key].finish_days - st[key].start_days) < one_run
        assert st[key].shortfall_gib == 0


def test_an_interval_that_never_completes_is_refused_not_crashed():
    spec = GoodputSpec(
        gpu_count=16384, work_hours=720, checkpoint_interval_min=43200, reliability_class="unstable"
    )
    with pytest.raises(ValidationError) as err:
        simulate_goodput(spec)
    assert err.value.field == "checkpoint_interval_min"


@pytest.mark.parametrize(
    "section, changes, field",
    [
        ("cluster", {"scaleup_gbps_bidir": "fast"}, "cluster.scaleup_gbps_bidir"),
        ("cluster", {"scaleout_gbit_per_gpu": [1]}, "cluster.scaleout_gbit_per_gpu"),
        ("cluster", {"scaleup_gbps_bidir": 1e-9}, "cluster.scaleup_gbps_bidir"),
        ("model", {"head_dim": 10**9}, "model.head_dim"),
        ("model", {"attention_params_per_layer": 10**15}, "model.attention_params_per_layer"),
        ("model", {"params_b": 7}, "model.params_b"),  # with a preset: which one is meant?
        ("layout", {"zero": 2, "pp": 2}, "layout.zero"),
        ("layout", {"zero": True}, "layout.zero"),
        ("layout", {"ep": 2}, "layout.ep"),
        ("layout", {"allow_offload": "false"}, "layout.allow_offload"),
        ("training", {"framework": "tensorflow"}, "training.framework"),
        ("training", {"framework": "gaudi"}, "training.framework"),  # SynapseAI on an A100
    ],
)
def test_more_bad_configs_name_their_field(section, changes, field):
    data = {
        "model": {"preset": "llama2-7b"}, "training": {"tokens": 1e10, "global_batch_seqs": 256},
        "cluster": {"gpu_type": "A100", "gpu_count": 64},
    }  # fmt: skip
    data.setdefault(section, {}).update(changes)
    with pytest.raises(ValidationError) as err:
        parse_config(data)
    assert err.value.field == field


def test_tiny_and_huge_models_are_refused():
    base = {"training": {"tokens": 1e10}, "cluster": {"gpu_type": "A100", "gpu_count": 8}}
    with pytest.raises(ValidationError) as err:
        parse_config({**base, "model": {"params_b": 1e-6}})
    assert err.value.field == "model.params_b"
    with pytest.raises(ValidationError) as err:
        parse_config({**base, "model": {"layers": 1000, "hidden": 262144, "heads": 2048}})
    assert err.value.field == "model"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"training": "x"}, "training"),
        (
            {"tokens": 1e11, "model": {"preset": "llama2-7b"}, "training": {"tokens": 5}},
            "training.tokens",
        ),
        ({"precision": "fp8", "gpu_type": "A100"}, "precision"),
        ({"gpus_per_server": 3}, "gpu_count"),
        ({"checkpoint_save_s": "40"}, "checkpoint_save_s"),
    ],
)
def test_more_bad_goodput_runs_name_their_field(changes, field):
    data = {"gpu_type": "H100", "gpu_count": 1024, "wall_clock_days": 10, **changes}
    with pytest.raises(ValidationError) as err:
        parse_goodput(data)
    assert err.value.field == field


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d.update(contingency=None), "contingency"),
        (lambda d: d.update(contingency="0.1"), "contingency"),
        (lambda d: d["sft"].update(gpu_count=12), "sft.gpu_count"),
        (
            lambda d: d["cluster"].update(utilisation=0.5),
            "cluster.utilisation",
        ),  # reserved hours say it
    ],
)
def test_more_bad_plans_name_their_field(change, field):
    data = json.loads((EXAMPLES / "plan-cpt-7b-domain.json").read_text())
    change(data)
    with pytest.raises(ValidationError) as err:
        parse_plan(data)
    assert err.value.field == field


def test_calibration_rows_with_bad_numbers_are_listed_not_crashed(published_runs_path):
    good = json.loads(published_runs_path.read_text())[0]
    bad_values = [
        ("mfu", "0.5"), ("hfu", float("nan")), ("hfu", -0.5), ("hfu", 5), ("tp", 0), ("tp", "8"),
        ("global_batch_tokens", "1e6"),
    ]  # fmt: skip
    rows = [good] + [{**good, "id": f"bad-{k}", k: v} for k, v in bad_values]
    report = calibrate_rows(rows)
    bad = [r for r in report.rows if r.id.startswith("bad-")]
    assert all(r.predicted is None and r.reason for r in bad)
    assert report.mape is not None and math.isfinite(report.mape) and report.mape >= 0
