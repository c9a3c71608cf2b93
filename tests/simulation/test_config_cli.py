"""Config parsing and the command line: every bad input names its field and exits 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmplanner.simulation import ValidationError, estimate, parse_config

from .conftest import EXAMPLES, REPO

BASE = {
    "model": {"preset": "llama2-7b"},
    "training": {"tokens": 1e11, "global_batch_seqs": 256, "seq_len": 4096},
    "cluster": {"gpu_type": "A100-80GB", "gpu_count": 64},
}


def _with(section: str, **changes):
    data = json.loads(json.dumps(BASE))
    data.setdefault(section, {}).update(changes)
    return data


@pytest.mark.parametrize(
    "section, changes, field",
    [
        ("cluster", {"gpu_count": 0}, "cluster.gpu_count"),
        ("cluster", {"gpu_count": -8}, "cluster.gpu_count"),
        ("cluster", {"gpu_count": 12.5}, "cluster.gpu_count"),
        ("cluster", {"gpu_count": float("nan")}, "cluster.gpu_count"),
        ("cluster", {"gpu_count": 10**12}, "cluster.gpu_count"),
        ("cluster", {"gpu_type": "K80000"}, "cluster.gpu_type"),
        ("cluster", {"gpu_count": 12}, "cluster.gpu_count"),  # not whole servers of 8
        ("training", {"tokens": -1}, "training.tokens"),
        ("training", {"tokens": float("inf")}, "training.tokens"),
        ("training", {"precision": "int4"}, "training.precision"),
        ("training", {"seq_len": 0}, "training.seq_len"),
        ("model", {"heads": 7}, "model.heads"),
        ("model", {"layers": -2}, "model.layers"),
        ("model", {"kv_heads": 5}, "model.kv_heads"),
        ("model", {"preset": "gpt-9"}, "model.preset"),
        ("layout", {"tp": 3}, "layout.tp"),
        ("layout", {"tp": 16}, "layout.tp"),
        ("layout", {"recompute": "some"}, "layout.recompute"),
        ("cost", {"currency": "EUR"}, "cost.currency"),
        ("cost", {"discount": "lots"}, "cost.discount"),
        ("cluster", {"gpu_typo": "H100"}, "cluster.gpu_typo"),
    ],
)
def test_it_rejects_bad_input_naming_the_field(section, changes, field):
    with pytest.raises(ValidationError) as err:
        parse_config(_with(section, **changes))
    assert err.value.field == field


def test_it_rejects_fp8_on_a_gpu_without_it():
    with pytest.raises(ValidationError) as err:
        parse_config(_with("training", precision="fp8"))
    assert err.value.field == "training.precision"


def test_a_batch_in_tokens_is_rounded_to_a_divisible_number_of_sequences():
    data = _with("training", global_batch_tokens=4e6)
    del data["training"]["global_batch_seqs"]
    assert parse_config(data).training.global_batch_seqs == 960  # not the prime 977


def test_an_estimate_reports_time_cost_and_layout():
    est = estimate(parse_config(BASE))
    assert est.fits and est.layout.layout.gpus == 64
    assert est.gpu_hours == pytest.approx(est.wall_clock_hours * 64)
    # 6·N·D ≈ 6 × 6.7e9 × 1e11 = 4e21 FLOPs at ~40–60% of 312 TFLOP/s on 64 GPUs ≈ 4–8 days.
    assert 3 < est.wall_clock_days < 10
    assert float(est.cost.total) > 0


def test_a_fixed_layout_that_does_not_fit_says_so_with_the_shortfall():
    data = _with("layout", tp=1, pp=1, dp=64, micro_batch=1, recompute="none", zero=0)
    data["model"] = {"preset": "gpt3-175b"}
    data["training"]["global_batch_seqs"] = 64
    est = estimate(parse_config(data))
    assert not est.fits
    assert est.shortfall_gib > 1000  # 175B × 16 bytes unsharded on one 80 GB GPU


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "llmplanner.simulation", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_cli_estimate_prints_json():
    out = _cli("estimate", str(EXAMPLES / "gpt3-175b-a100.json"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["fits"] is True
    assert data["cost"]["currency"] == "CNY"
    assert 0 < data["layout"]["mfu"] <= 1


def test_cli_search_ranks_layouts():
    out = _cli("search", str(EXAMPLES / "llama3-405b-h100.json"), "--top", "3", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    times = [row["step_time_s"] for row in data["top"]]
    assert len(times) == 3 and times == sorted(times)


def test_cli_exits_2_naming_the_field_of_a_bad_config(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_with("cluster", gpu_count=-1)))
    out = _cli("estimate", str(bad))
    assert out.returncode == 2
    assert "cluster.gpu_count" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_exits_2_on_malformed_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": ')
    out = _cli("estimate", str(bad))
    assert out.returncode == 2 and "not valid JSON" in out.stderr


def test_cli_exits_2_on_unknown_arguments():
    assert _cli("estimate").returncode == 2
    assert _cli("frobnicate").returncode == 2


def test_cli_bench_prints_the_target_figures():
    out = _cli("bench", "--json", "--repeats", "1", "--loop-sample", "200")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in (
        "search_405b_16384_s",
        "search_175b_1024_s",
        "search_candidates",
        "search_speedup_vs_loop",
    ):
        assert data[key] > 0
