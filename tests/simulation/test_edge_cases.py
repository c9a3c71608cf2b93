"""Nonsense refused, infeasible said clearly (issue 15): a plan that does not fit gets no time or
cost but what would fit; absurd sequence lengths, token budgets and cluster sizes exit 2 naming
their field; FP8 slower than BF16 and superlinear GPU steps come with their reason.

The performance model is recalibrated independently of these tests: they check behaviour (no days
for an infeasible plan; an explanation exactly when its condition holds, the condition computed
from the outputs themselves), not predicted numbers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields

import pytest

from llmplanner.simulation import (
    DEFAULT_EFFICIENCY,
    ClusterSpec,
    Layout,
    RankedLayout,
    ValidationError,
    estimate,
    gpu_by_name,
    parse_config,
)
from llmplanner.simulation.estimate import fp8_note, larger_gpu_counts
from llmplanner.simulation.sweep import (
    annotate_scaling,
    run_sweep,
    scaling_notes,
    superlinear_note,
    sweep_variants,
)

from .conftest import EXAMPLES, REPO

LLAMA_405B_ON_ONE = {
    "model": {"preset": "llama3-405b"},
    "training": {"tokens": 15.6e12, "global_batch_seqs": 2048, "seq_len": 8192},
    "cluster": {"gpu_type": "H100", "gpu_count": 1},
}
SMALL = {
    "model": {"preset": "llama2-7b"},
    "training": {"tokens": 1e11, "global_batch_seqs": 256, "seq_len": 4096},
    "cluster": {"gpu_type": "H100", "gpu_count": 64},
}
FP8_125M = {
    "model": {"params_b": 0.125},
    "training": {"tokens": 2.5e9, "seq_len": 2048, "precision": "fp8"},
    "cluster": {"gpu_type": "H100", "gpu_count": 8},
}


def _cli(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "llmplanner.simulation", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def _write(tmp_path, name: str, data: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def _with(base: dict, section: str, **changes) -> dict:
    data = json.loads(json.dumps(base))
    data[section].update(changes)
    return data


# ---- a layout that does not fit: no days, no cost; the shortfall and what would fit -------------


def _time_or_money(data, path=""):
    """Every non-null time or money figure in a JSON document, with its path."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            here = f"{path}.{key}"
            if value is not None and any(w in key for w in ("days", "hours", "cost")):
                found.append(here)
            found += _time_or_money(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _time_or_money(value, f"{path}[{i}]")
    return found


def test_405b_on_one_h100_prints_no_days_or_cost_but_the_shortfall_and_what_fits(tmp_path):
    # Exit 0: "does not fit" is the estimate's answer; exit 2 stays for input the core refuses.
    config = _write(tmp_path, "405b.json", LLAMA_405B_ON_ONE)
    text = _cli("estimate", config)
    assert text.returncode == 0, text.stderr
    assert "fits: false" in text.stdout
    assert "short by" in text.stdout and "What would fit" in text.stdout
    for word in ("days", "GPU-hours", "Cost", "Time"):
        assert word not in text.stdout, text.stdout

    out = _cli("estimate", config, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["fits"] is False
    assert data["shortfall_gib"] > 1000  # 405B × 16 bytes on one 80 GB GPU: terabytes short
    for key in ("wall_clock_days", "wall_clock_hours", "gpu_hours", "cost"):
        assert key in data and data[key] is None
    assert data["layout"]["tokens_per_s"] is None and data["layout"]["mfu"] is None
    assert _time_or_money(data) == []
    suggestion = data["fit_suggestion"]
    assert suggestion["gpu_count"] > 1 and suggestion["layout"] and suggestion["message"]
    # The suggestion is true: the plan fits on that many GPUs, and not on the count tried before.
    fitting = parse_config(_with(LLAMA_405B_ON_ONE, "cluster", gpu_count=suggestion["gpu_count"]))
    assert estimate(fitting).fits
    counts = larger_gpu_counts(1, 8)
    previous = counts[counts.index(suggestion["gpu_count"]) - 1]
    assert not estimate(parse_config(_with(LLAMA_405B_ON_ONE, "cluster", gpu_count=previous))).fits
    # And the memory-saving settings were tried on the one GPU (none is enough there).
    assert suggestion["options"] and not any(o["fits"] for o in suggestion["options"])


def test_an_infeasible_estimate_keeps_its_numbers_for_python_callers_but_not_in_json():
    # Program stages read est.wall_clock_days of a job that does not fit (and flag the shortfall):
    # the attributes keep their meaning; only the JSON and the command line leave them out.
    est = estimate(parse_config(LLAMA_405B_ON_ONE))
    assert not est.fits and est.shortfall_gib > 0
    assert est.wall_clock_days > 0 and est.gpu_hours > 0
    assert est.fit_suggestion is None  # explain=False: no extra searches for program stages
    data = est.as_json()
    assert data["wall_clock_days"] is None and data["cost"] is None
    assert data["fit_suggestion"] is None


def test_a_fitting_estimate_still_gives_time_and_cost_and_no_suggestion():
    est = estimate(parse_config(SMALL), explain=True)
    assert est.fits and est.fit_suggestion is None
    data = est.as_json()
    assert data["wall_clock_days"] == pytest.approx(est.wall_clock_days)
    assert data["cost"]["currency"] and data["layout"]["tokens_per_s"] > 0


def test_a_fixed_layout_that_never_fits_says_so_and_names_the_settings_that_would():
    data = {
        "model": {"preset": "gpt3-175b"},
        "training": {"tokens": 1e11, "global_batch_seqs": 64, "seq_len": 2048},
        "cluster": {"gpu_type": "A100-80GB", "gpu_count": 64},
        "layout": {"tp": 1, "pp": 1, "micro_batch": 1, "recompute": "none", "zero": 0},
    }
    est = estimate(parse_config(data), explain=True)
    assert not est.fits
    s = est.fit_suggestion
    assert s is not None
    # Unsharded 175B weights never fit whatever the GPU count, with the settings the plan fixes.
    assert s.gpu_count is None and s.searched_up_to >= 1024
    assert "no count of" in s.lines()[0]
    names = {o.name for o in s.options}
    assert any("recomputation" in n for n in names) and any("ZeRO-3" in n for n in names)
    assert any(o.fits for o in s.options)  # all of them together fit on the 64 GPUs
    for o in s.options:
        assert o.fits == (o.shortfall_gib == 0)


def test_larger_gpu_counts_are_powers_of_two_then_whole_servers():
    assert larger_gpu_counts(1, 8, bound=64) == [2, 4, 8, 16, 32, 64]
    assert larger_gpu_counts(24, 8, bound=128) == [32, 64, 128]
    assert larger_gpu_counts(4, 10, bound=40) == [8, 10, 20, 40]


# ---- nonsense refused, naming the field --------------------------------------------------------


@pytest.mark.parametrize(
    "section, changes, field",
    [
        ("training", {"seq_len": 32}, "training.seq_len"),
        ("training", {"seq_len": 1}, "training.seq_len"),
        ("training", {"tokens": 1}, "training.tokens"),
        ("training", {"tokens": 256 * 4096 - 1}, "training.tokens"),
        ("cluster", {"gpu_count": 2_000_000}, "cluster.gpu_count"),
    ],
)
def test_the_cli_exits_2_naming_the_field_of_nonsense(tmp_path, section, changes, field):
    out = _cli("estimate", _write(tmp_path, "bad.json", _with(SMALL, section, **changes)))
    assert out.returncode == 2, out.stdout
    assert f"error: {field}:" in out.stderr
    assert "Traceback" not in out.stderr and "days" not in out.stdout


def test_the_limits_are_where_they_say():
    assert parse_config(_with(SMALL, "training", seq_len=64)).training.seq_len == 64
    with pytest.raises(ValidationError) as err:
        parse_config(_with(SMALL, "training", seq_len=63))
    assert err.value.field == "training.seq_len" and "64" in err.value.message
    one_batch = 256 * 4096
    assert parse_config(_with(SMALL, "training", tokens=one_batch)).training.steps == 1
    with pytest.raises(ValidationError) as err:
        parse_config(_with(SMALL, "training", tokens=one_batch / 2))
    assert err.value.field == "training.tokens" and "1,048,576" in err.value.message
    # A batch given in tokens is checked as the sequences it rounds to.
    data = _with(SMALL, "training", tokens=3e6, global_batch_tokens=4e6)
    del data["training"]["global_batch_seqs"]
    with pytest.raises(ValidationError) as err:
        parse_config(data)
    assert err.value.field == "training.tokens"
    h100 = gpu_by_name("H100")
    assert ClusterSpec(h100, 1_000_000).validate().gpu_count == 1_000_000
    with pytest.raises(ValidationError) as err:
        ClusterSpec(h100, 1_000_008).validate()
    assert err.value.field == "cluster.gpu_count" and "1,000,000" in err.value.message


# ---- FP8 against BF16 ----------------------------------------------------------------------------


def test_fp8_at_125m_is_compared_with_bf16_and_explained_when_not_faster(tmp_path):
    config = _write(tmp_path, "fp8.json", FP8_125M)
    out = _cli("estimate", config, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    cmp = data["precision_comparison"]
    assert cmp["baseline"] == "bf16"
    assert cmp["tokens_per_s"] == pytest.approx(data["layout"]["tokens_per_s"])
    bf16 = estimate(parse_config(_with(FP8_125M, "training", precision="bf16")))
    assert cmp["baseline_tokens_per_s"] == pytest.approx(bf16.layout.tokens_per_s)
    # The condition from the two outputs themselves: the note is there exactly when FP8 is not
    # faster (the current calibration predicts it faster at 125M; the next test forces the case).
    not_faster = data["layout"]["tokens_per_s"] <= bf16.layout.tokens_per_s
    assert bool(cmp["note"]) == not_faster
    text = _cli("estimate", config)
    assert text.returncode == 0, text.stderr
    assert "FP8 vs BF16" in text.stdout
    assert ("FP8 is" in text.stdout) == not_faster


def _cast_heavy_efficiency():
    cast = [f.name for f in fields(DEFAULT_EFFICIENCY) if f.name.startswith("fp8_cast")]
    assert cast, "the performance model has no fp8_cast* parameter to measure the casts with"
    return DEFAULT_EFFICIENCY.replace(
        **{name: getattr(DEFAULT_EFFICIENCY, name) * 20 for name in cast}
    )


def test_fp8_slower_because_of_its_casts_says_so_with_the_extra_traffic():
    plan = parse_config(FP8_125M)
    est = estimate(plan, efficiency=_cast_heavy_efficiency(), explain=True)
    cmp = est.precision_comparison
    assert cmp is not None and cmp.speedup < 1
    assert cmp.note.startswith("FP8 is slower than BF16 here")
    assert "casts and scaling" in cmp.note and "GB/step of extra HBM traffic" in cmp.note
    assert cmp.cast_gb_per_step is not None and cmp.cast_gb_per_step > 0


def _ranked(layout: Layout, tokens_per_s: float, step_s: float, **breakdown: float):
    parts = {"compute": 0.0, "pipeline bubble": 0.0, "DP/FSDP communication": 0.0}
    parts.update({k.replace("_", " "): v for k, v in breakdown.items()})
    return RankedLayout(
        layout=layout,
        step_time_s=step_s,
        tokens_per_s=tokens_per_s,
        model_tflops_per_gpu=100.0,
        mfu=0.3,
        hfu=0.3,
        memory_gib=40.0,
        memory_headroom_gib=40.0,
        memory_breakdown_gib={},
        dominant="compute",
        breakdown_s=parts,
        explanation="",
    )


def test_the_fp8_note_explains_casts_other_overheads_or_nothing():
    lay = Layout(dp=8, micro_batch=4)
    bf16 = _ranked(lay, 1000.0, 1.0, compute=0.9, pipeline_bubble=0.1)
    # FP8 compute 0.95 s of which 0.25 s casts: GEMMs gain 0.2 s, the casts cost 0.25 s.
    slower = _ranked(lay, 1000.0 / 1.05, 1.05, compute=0.95, pipeline_bubble=0.1)
    note = fp8_note(bf16, slower, 0.25, 3.35e12)
    assert note.startswith("FP8 is slower than BF16 here (0.95×")
    assert "837.5 GB/step of extra HBM traffic" in note and "250 ms per step" in note
    assert "200 ms per step" in note
    # Casts cheaper than the gain, but its layout's bubble grew.
    other = Layout(pp=2, dp=4, micro_batch=4)
    bubbly = _ranked(other, 900.0, 1000.0 / 900.0, compute=0.8, pipeline_bubble=0.31)
    note = fp8_note(bf16, bubbly, 0.05, 3.35e12)
    assert "pipeline bubble" in note and other.describe() in note
    faster = _ranked(lay, 1200.0, 1000.0 / 1200.0, compute=0.73, pipeline_bubble=0.1)
    assert fp8_note(bf16, faster, 0.05, 3.35e12) == ""


# ---- superlinear GPU steps in a sweep ------------------------------------------------------------


def _point(gpus: int, tokens_per_s: float, fits: bool = True, **layout) -> dict:
    lay = {"tp": 8, "pp": 1, "dp": 1, "cp": 1, "ep": 1, "vp": 1, "micro_batch": 1}
    lay.update({"recompute": "none", "zero": 1, "offload": "none"}, **layout)
    tokens_step = tokens_per_s * 1.0
    return {
        "variant": {"gpu_count": gpus, "precision": "bf16"},
        "ok": True,
        "tokens_per_s": tokens_per_s,
        "mfu": tokens_per_s / gpus / 1000.0,
        "main_run": {
            "gpu_count": gpus,
            "fits": fits,
            "layout": lay,
            "step_time_s": 1.0,
            "breakdown_s": {"compute": 0.8 * tokens_step / gpus / 1000.0, "pipeline bubble": 0.0},
        },
    }


def test_a_superlinear_pair_names_what_the_larger_layout_drops():
    small = _point(64, 10_000.0, fits=False, recompute="full", zero=3, offload="cpu")
    large = _point(128, 25_000.0, recompute="none", zero=1, micro_batch=2, tp=4)
    note = superlinear_note(small, large)
    assert note.startswith("64 → 128 GPUs: 2.50× the throughput for 2× the GPUs (superlinear)")
    for cause in (
        "fit in memory",
        "drop full recomputation",
        "without offloading",
        "leave ZeRO-3",
        "raise the micro-batch (1 → 2)",
        "less tensor parallelism (TP8 → TP4)",
    ):
        assert cause in note, (cause, note)
    assert superlinear_note(small, _point(128, 19_000.0)) == ""  # sublinear: no note
    assert superlinear_note(large, small) == ""  # a step down is not a step up


def test_scaling_notes_pair_each_point_with_the_next_smaller_gpu_count_of_its_variant():
    points = [
        _point(128, 25_000.0, recompute="none"),
        _point(64, 10_000.0, recompute="full"),
        {**_point(256, 60_000.0), "variant": {"gpu_count": 256, "precision": "fp8"}},
        {"variant": {"gpu_count": 512, "precision": "bf16"}, "ok": False, "error": "x"},
        _point(256, 49_000.0),
    ]
    notes = scaling_notes(points)
    assert notes[0].startswith("64 → 128 GPUs") and notes[1] == ""
    assert notes[2] == ""  # no smaller fp8 point to compare with
    assert notes[3] == "" and notes[4] == ""  # 128 → 256 at 1.96×: not superlinear
    # Chunks run apart: the aggregate notes pairs that crossed chunk boundaries.
    annotated = annotate_scaling(points)
    assert [p["scaling_note"] for p in annotated] == notes


def test_a_sweep_over_gpu_counts_explains_exactly_its_superlinear_steps():
    plan = json.loads((EXAMPLES / "plan-gpt3-175b.json").read_text())
    points = run_sweep(plan, sweep_variants({"gpu_count": [32, 64, 128]}), trials=50)
    assert all(p.ok and p.main_run is not None for p in points)
    for small, large in zip(points, points[1:], strict=False):
        assert small.main_run is not None and large.main_run is not None
        assert small.tokens_per_s is not None and large.tokens_per_s is not None
        n1, n2 = small.main_run["gpu_count"], large.main_run["gpu_count"]
        superlinear = large.tokens_per_s / small.tokens_per_s > n2 / n1
        assert bool(large.scaling_note) == superlinear, (n1, n2, large.scaling_note)
        if superlinear:
            assert f"{n1:,} → {n2:,} GPUs" in large.scaling_note
            assert "each GPU does less work per token" in large.scaling_note
    assert points[0].scaling_note == ""
    json.dumps([p.as_json() for p in points])  # storable as the web app stores points


def test_the_cli_sweep_prints_the_points_and_their_notes():
    out = _cli(
        "sweep", str(EXAMPLES / "plan-gpt3-175b.json"), "--gpu-count", "32", "64",
        "--trials", "50", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    points = json.loads(out.stdout)
    assert [p["variant"] for p in points] == [{"gpu_count": 32}, {"gpu_count": 64}]
    small, large = points
    ratio = large["main_run"]["gpu_count"] / small["main_run"]["gpu_count"]
    assert bool(large["scaling_note"]) == (large["tokens_per_s"] / small["tokens_per_s"] > ratio)
    text = _cli(
        "sweep", str(EXAMPLES / "plan-gpt3-175b.json"), "--gpu-count", "32", "64",
        "--trials", "50",
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert "gpu_count=32" in text.stdout and "gpu_count=64" in text.stdout
    if large["scaling_note"]:
        assert large["scaling_note"] in text.stdout
    assert _cli("sweep", str(EXAMPLES / "plan-gpt3-175b.json")).returncode == 2  # no axis
