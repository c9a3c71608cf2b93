"""Sweeps: variants of one plan, in chunks, with impossible points reported, not raised."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmplanner.simulation import ValidationError
from llmplanner.simulation.sweep import chunks, run_sweep, sweep_variants

from .conftest import EXAMPLES, REPO


def test_variants_are_the_cartesian_product_in_a_stable_order():
    variants = sweep_variants({"gpu_count": [64, 128], "gpu_type": ["A800", "H100"]})
    assert variants == [
        {"gpu_count": 64, "gpu_type": "A800"}, {"gpu_count": 64, "gpu_type": "H100"},
        {"gpu_count": 128, "gpu_type": "A800"}, {"gpu_count": 128, "gpu_type": "H100"},
    ]  # fmt: skip
    assert [len(c) for c in chunks(variants, 3)] == [3, 1]


def test_more_gpus_finish_sooner_and_an_impossible_point_says_why():
    plan = json.loads((EXAMPLES / "plan-cpt-7b-domain.json").read_text())
    points = run_sweep(
        plan, sweep_variants({"gpu_count": [32, 128]}) + [{"precision": "fp8"}], trials=200
    )
    small, large, fp8 = points
    assert small.ok and large.ok
    assert large.finish_days_p50 < small.finish_days_p50
    assert not fp8.ok and "fp8" in fp8.error


@pytest.mark.parametrize(
    "axes, field",
    [({}, "axes"), ({"colour": [1]}, "axes.colour"), ({"gpu_count": []}, "axes.gpu_count")],
)
def test_bad_axes_name_the_field(axes, field):
    with pytest.raises(ValidationError) as err:
        sweep_variants(axes)
    assert err.value.field == field


def test_cli_plan_json_and_bad_plan_exit_codes(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "llmplanner.simulation", "plan", str(EXAMPLES / "plan-rag.json"),
         "--trials", "200", "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["plan"]["strategy"] == "rag"
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"strategy": "cpt", "model": {"preset": "qwen-7b"}, "training": {"tokens": -1}})
    )
    out = subprocess.run([sys.executable, "-m", "llmplanner.simulation", "plan", str(bad)],
                         capture_output=True, text=True, cwd=REPO, timeout=60)  # fmt: skip
    assert out.returncode == 2 and "training.tokens" in out.stderr


def test_a_gpu_type_variant_is_priced_for_its_own_part():
    # An H800 price agreed with a provider is no price for a TPU: the variant takes the price it
    # is given for its part, else the catalog's default — never the base pool's.
    from llmplanner.simulation.hardware import gpu_by_name
    from llmplanner.simulation.sweep import apply_variant

    plan = json.loads((EXAMPLES / "plan-from-scratch-7b.json").read_text())
    plan["cluster"]["price_per_gpu_hour"] = 99.0
    same = apply_variant(plan, {"gpu_type": "H800"})
    assert same["cluster"]["price_per_gpu_hour"] == 99.0
    default = apply_variant(plan, {"gpu_type": "TPU v5p"})
    assert "price_per_gpu_hour" not in default["cluster"]
    given = apply_variant(plan, {"gpu_type": "TPU v5p"}, {"TPU v5p": 21.0})
    assert given["cluster"]["price_per_gpu_hour"] == 21.0

    points = run_sweep(plan, [{"gpu_type": "TPU v5p"}], trials=50, prices={"TPU v5p": 21.0})
    cheap = run_sweep(plan, [{"gpu_type": "TPU v5p"}], trials=50, prices={"TPU v5p": 10.5})
    assert points[0].ok and cheap[0].ok
    assert cheap[0].cost_p50 < points[0].cost_p50
    catalog = run_sweep(plan, [{"gpu_type": "TPU v5p"}], trials=50)
    tpu = gpu_by_name("TPU v5p")
    assert catalog[0].ok and tpu.price_cny_per_gpu_hour < 99.0


def test_an_h100_rental_and_a_tpu_v5p_reservation_compare_in_one_sweep():
    plan = json.loads((EXAMPLES / "plan-from-scratch-7b.json").read_text())
    points = run_sweep(plan, sweep_variants({"gpu_type": ["H100", "TPU v5p"]}), trials=50)
    assert [p.ok for p in points] == [True, True]
    h100, tpu = points
    assert h100.layout != tpu.layout or h100.mfu != tpu.mfu
    assert all(p.cost_p50 > 0 and p.finish_days_p50 > 0 for p in points)


def test_a_gpu_type_variant_moves_the_training_pools_on_the_same_part_but_not_serving():
    from llmplanner.simulation.sweep import apply_variant

    plan = {
        "strategy": "from_scratch",
        "clusters": [
            {"purpose": "main", "gpu_type": "A800", "gpu_count": 64, "price_per_gpu_hour": 5},
            {"purpose": "finetune", "gpu_type": "a800-80gb", "gpu_count": 8},
            {"purpose": "serving", "gpu_type": "A800", "gpu_count": 8},
            {"purpose": "experiments", "gpu_type": "H800", "gpu_count": 8},
        ],
    }
    moved = apply_variant(plan, {"gpu_type": "H100"})["clusters"]
    assert [p["gpu_type"] for p in moved] == ["H100", "H100", "A800", "H800"]
    assert "price_per_gpu_hour" not in moved[0]  # the A800's price is no H100 price
    assert plan["clusters"][0]["gpu_type"] == "A800"  # the plan itself is untouched
