"""The accelerator catalog against its datasheets, forgiving names and scale-up domains larger than
a server (GB200 NVL72's 72 GPUs on NVLink; TPU slices on ICI)."""

from __future__ import annotations

import pytest

from llmplanner.simulation import ClusterSpec, ValidationError, gpu_by_name, parse_config, preset
from llmplanner.simulation.hardware import CATALOG
from llmplanner.simulation.perf import evaluate
from llmplanner.simulation.search import layout_candidates, search

GB = 1e9 / 2**30  # GiB per GB

# (catalog key, dense TFLOP/s {precision: value}, memory GiB, HBM TB/s, scale-up GB/s both ways,
#  scale-up domain, TDP W, the source the figures come from — as cited in hardware.py)
DATASHEETS = [
    ("a100-40gb", {"bf16": 312.0}, 40.0, 1.555, 600.0, 8, 400.0, "NVIDIA A100 datasheet"),
    ("a100-80gb", {"bf16": 312.0}, 80.0, 2.039, 600.0, 8, 400.0, "NVIDIA A100 datasheet"),
    ("a800-80gb", {"bf16": 312.0}, 80.0, 2.039, 400.0, 8, 400.0, "A800 = A100 with 400 GB/s"),
    (
        "h100-80gb",
        {"bf16": 989.4, "fp8": 1978.9, "fp8-blockwise": 1978.9},
        80.0,
        3.35,
        900.0,
        8,
        700.0,
        "NVIDIA H100 datasheet (1,979 BF16 with sparsity)",
    ),
    ("h800-80gb", {"bf16": 989.4, "fp8": 1978.9}, 80.0, 3.35, 400.0, 8, 700.0, "H800: NVLink cut"),
    ("h20-96gb", {"bf16": 148.0, "fp8": 296.0}, 96.0, 4.0, 900.0, 8, 400.0, "NVIDIA H20 brief"),
    ("h200-141gb", {"bf16": 989.4, "fp8": 1978.9}, 141 * GB, 4.8, 900.0, 8, 700.0, "H200"),
    (
        "b200-180gb",
        {"bf16": 2250.0, "fp8": 4500.0, "mxfp8": 4500.0, "nvfp4": 9000.0},
        180 * GB,
        7.7,
        1800.0,
        8,
        1000.0,
        "NVIDIA HGX B200 datasheet: 72 PFLOPS FP4 dense per 8 GPUs",
    ),
    (
        "b300-288gb",
        {"bf16": 2250.0, "fp8": 4500.0, "mxfp8": 4500.0, "nvfp4": 13500.0},
        288 * GB,
        8.0,
        1800.0,
        8,
        1100.0,
        "NVIDIA HGX B300 datasheet: 108 PFLOPS FP4 dense per 8 GPUs",
    ),
    (
        "gb200-nvl72",
        {"bf16": 2500.0, "fp8": 5000.0, "mxfp8": 5000.0, "nvfp4": 10000.0},
        186 * GB,
        8.0,
        1800.0,
        72,
        1200.0,
        "NVIDIA GB200 NVL72 datasheet: 360/720/1,440 PFLOPS BF16/FP8/FP4 sparse per 72 GPUs",
    ),
    (
        "gb300-nvl72",
        {"bf16": 2500.0, "fp8": 5000.0, "mxfp8": 5000.0, "nvfp4": 15000.0},
        288 * GB,
        8.0,
        1800.0,
        72,
        1400.0,
        "NVIDIA GB300 NVL72 datasheet: 1,080 PFLOPS FP4 dense per 72 GPUs",
    ),
    ("mi300x-192gb", {"bf16": 1307.4, "fp8": 2614.9}, 192 * GB, 5.3, 896.0, 8, 750.0, "AMD"),
    ("mi325x-256gb", {"bf16": 1307.4, "fp8": 2614.9}, 256 * GB, 6.0, 896.0, 8, 1000.0, "AMD"),
    (
        "mi355x-288gb",
        {"bf16": 2516.6, "fp8": 5033.2, "mxfp8": 5033.2, "mxfp4": 10066.3},
        288 * GB,
        8.0,
        1075.2,
        8,
        1400.0,
        "AMD Instinct MI355X datasheet",
    ),
    ("tpu-v5e", {"bf16": 197.0}, 16.0, 0.819, 400.0, 256, None, "Cloud TPU v5e documentation"),
    (
        "tpu-v5p",
        {"bf16": 459.0},
        95.0,
        2.765,
        600.0,
        6144,
        None,
        "Cloud TPU v5p documentation (largest slice 6,144 chips)",
    ),
    ("tpu-v6e", {"bf16": 918.0}, 32.0, 1.638, 800.0, 256, None, "Cloud TPU v6e documentation"),
    (
        "gaudi3-128gb",
        {"bf16": 1835.0, "fp8": 1835.0},
        128 * GB,
        3.67,
        1050.0,
        8,
        900.0,
        "Intel Gaudi 3 white paper: 21 × 200 GbE scale-up",
    ),
    ("l40s-48gb", {"bf16": 362.05, "fp8": 733.0}, 48.0, 0.864, 64.0, 8, 350.0, "NVIDIA L40S"),
    ("rtx4090-24gb", {"bf16": 165.2, "fp8": 330.3}, 24.0, 1.008, 64.0, 8, 450.0, "Ada whitepaper"),
]


@pytest.mark.parametrize(
    "key, peaks, memory, hbm, scaleup, domain, tdp, source",
    DATASHEETS,
    ids=[row[0] for row in DATASHEETS],
)
def test_each_catalog_entry_matches_its_datasheet(
    key, peaks, memory, hbm, scaleup, domain, tdp, source
):
    gpu = gpu_by_name(key)
    for precision, tflops in peaks.items():
        assert gpu.peak_tflops[precision] == pytest.approx(tflops, rel=1e-3), (precision, source)
    assert gpu.memory_gib == pytest.approx(memory, rel=1e-3), source
    assert gpu.hbm_tbps == pytest.approx(hbm, rel=1e-3), source
    assert gpu.scaleup_gbps_bidir == pytest.approx(scaleup, rel=1e-3), source
    assert gpu.domain == domain, source
    if tdp is not None:  # Google publishes no TPU power figure
        assert gpu.tdp_w == tdp, source


def test_the_catalog_holds_every_part_the_issue_lists():
    wanted = {
        "a100-40gb", "a100-80gb", "a800-80gb", "h100-80gb", "h800-80gb", "h20-96gb",
        "h200-141gb", "b200-180gb", "b300-288gb", "gb200-nvl72", "gb300-nvl72", "mi300x-192gb",
        "mi325x-256gb", "mi355x-288gb", "tpu-v5e", "tpu-v5p", "tpu-v6e", "gaudi3-128gb",
        "l40s-48gb", "rtx4090-24gb",
    }  # fmt: skip
    assert wanted <= {gpu.key for gpu in CATALOG}
    assert {row[0] for row in DATASHEETS} == wanted


def test_no_peak_is_a_sparse_headline():
    # FP8 runs at most twice BF16's dense rate; a sparse FP8 figure beside a dense BF16 one would
    # be four times it. (L40S's datasheet prints 733 FP8 beside 362.05 BF16: 1% over, as printed.)
    for gpu in CATALOG:
        peaks = gpu.peak_tflops
        if "bf16" in peaks and "fp8" in peaks:
            assert peaks["fp8"] <= 2.0 * peaks["bf16"] * 1.02, gpu.key
    assert gpu_by_name("GB200").peak_tflops["bf16"] == 360_000 / 72 / 2


@pytest.mark.parametrize(
    "name, key",
    [
        ("GB200", "gb200-nvl72"),
        ("DGX-GB200", "gb200-nvl72"),
        ("gb200-nvl72", "gb200-nvl72"),
        ("GB200 NVL72", "gb200-nvl72"),
        ("GB300 NVL72", "gb300-nvl72"),
        ("B300", "b300-288gb"),
        ("HGX B300", "b300-288gb"),
        ("TPU v5p", "tpu-v5p"),
        ("tpu-v5p", "tpu-v5p"),
        ("v5p", "tpu-v5p"),
        ("TPU v5e", "tpu-v5e"),
        ("Trillium", "tpu-v6e"),
        ("tpu_v6e", "tpu-v6e"),
        ("Gaudi3", "gaudi3-128gb"),
        ("Gaudi 3", "gaudi3-128gb"),
        ("HL-325L", "gaudi3-128gb"),
        ("MI355X", "mi355x-288gb"),
        ("mi325x", "mi325x-256gb"),
        ("L40S", "l40s-48gb"),
    ],
)
def test_new_parts_are_found_by_their_common_names(name, key):
    assert gpu_by_name(name).key == key


def test_every_part_has_both_prices_a_link_and_a_domain_holding_whole_servers():
    for gpu in CATALOG:
        assert gpu.price_usd_per_gpu_hour > 0 and gpu.price_cny_per_gpu_hour > 0, gpu.key
        assert gpu.scaleup_link, gpu.key
        assert gpu.domain % gpu.gpus_per_server == 0, gpu.key


def _moe_plan(gpu: str, count: int):
    return parse_config(
        {
            "model": {"preset": "deepseek-v3"},
            "training": {"tokens": 1e12, "global_batch_tokens": 16e6, "seq_len": 4096},
            "cluster": {"gpu_type": gpu, "gpu_count": count},
        }
    )


@pytest.mark.timeout(300)
def test_gb200_nvl72_places_expert_groups_over_more_than_8_gpus_on_nvlink():
    plan = _moe_plan("GB200 NVL72", 576)
    best = search(plan.model, plan.training, plan.cluster, plan.constraints, top_k=1).top[0]
    layout = best.layout
    span = layout.tp * layout.cp * layout.ep
    assert 8 < span <= 72, layout.describe()
    assert "72-GPU NVLink domain" in best.explanation
    # The same layout on 8-GPU NVLink islands (as B200 servers): the groups' all-to-all leaves
    # the island over the 400 Gb/s NICs and costs more.
    cand = layout_candidates(layout)
    nvl72 = evaluate(plan.model, plan.training, plan.cluster, cand)
    islands = ClusterSpec(
        gpu=plan.cluster.gpu, gpu_count=576, gpus_per_server=8, scaleup_domain=8
    ).validate()
    split = evaluate(plan.model, plan.training, islands, cand)
    comm = ("ep_comm_s", "tp_comm_s", "cp_comm_s")
    on_nvlink = sum(float(getattr(nvl72, c)[0]) for c in comm)
    on_islands = sum(float(getattr(split, c)[0]) for c in comm)
    assert on_nvlink < 0.7 * on_islands
    assert float(nvl72.step_time_s[0]) < float(split.step_time_s[0])


@pytest.mark.timeout(300)
def test_the_nvl72_domain_is_faster_than_the_same_gpus_in_8_gpu_servers():
    plan = _moe_plan("GB200 NVL72", 576)
    islands = ClusterSpec(
        gpu=plan.cluster.gpu, gpu_count=576, gpus_per_server=8, scaleup_domain=8
    ).validate()
    rack = search(plan.model, plan.training, plan.cluster, plan.constraints, top_k=1).top[0]
    servers = search(plan.model, plan.training, islands, plan.constraints, top_k=1).top[0]
    assert rack.tokens_per_s > servers.tokens_per_s
    assert "NVLink domain" not in servers.explanation


def test_a_part_with_a_server_sized_domain_keeps_its_servers():
    h100 = ClusterSpec(gpu=gpu_by_name("H100"), gpu_count=64, gpus_per_server=4).validate()
    assert h100.domain == 4  # the user's server size, as before the domain existed
    assert ClusterSpec(gpu=gpu_by_name("GB200"), gpu_count=144).validate().domain == 72


@pytest.mark.parametrize("value", [0, -72, 12.5, 6, "72"])
def test_a_bad_scaleup_domain_names_the_field(value):
    data = {
        "model": {"preset": "llama2-7b"},
        "training": {"tokens": 1e11, "global_batch_seqs": 256, "seq_len": 4096},
        "cluster": {"gpu_type": "GB200", "gpu_count": 72, "gpus_per_server": 4},
    }
    data["cluster"]["scaleup_domain"] = value
    with pytest.raises(ValidationError) as err:
        parse_config(data)
    assert err.value.field == "cluster.scaleup_domain"


def test_tensor_parallelism_may_span_the_nvlink_domain_but_not_beyond():
    base = {
        "model": {"preset": "llama3-405b"},
        "training": {"tokens": 1e12, "global_batch_seqs": 512, "seq_len": 4096},
        "cluster": {"gpu_type": "GB200 NVL72", "gpu_count": 576},
    }
    plan = parse_config({**base, "layout": {"tp": 16}})  # 16 > a 4-GPU tray, ≤ 72
    assert plan.constraints.tp == 16
    with pytest.raises(ValidationError) as err:
        parse_config(
            {**base, "cluster": {"gpu_type": "H100", "gpu_count": 576}, "layout": {"tp": 16}}
        )
    assert err.value.field == "layout.tp"
    assert preset("llama3-405b").heads % 16 == 0


def test_a_plan_on_tpus_defaults_to_the_hyperscaler_reliability_class():
    # Issue 17: each part carries its reliability class default. TPUs are rented only as Google's
    # managed slices (hyperscaler); GPUs default to a standard cluster; an explicit class wins.
    import json

    from llmplanner.simulation.config import parse_goodput
    from llmplanner.simulation.planspec import parse_plan

    from .conftest import REPO

    assert {g.reliability_class for g in CATALOG if g.generation == "tpu"} == {"hyperscaler"}
    assert {g.reliability_class for g in CATALOG if g.generation != "tpu"} == {"standard"}
    tpu = {"gpu_type": "TPU v5p", "gpu_count": 256, "wall_clock_days": 30}
    assert parse_goodput(tpu).reliability_class == "hyperscaler"
    assert parse_goodput({**tpu, "gpu_type": "H100"}).reliability_class == "standard"
    assert parse_goodput({**tpu, "reliability_class": "unstable"}).reliability_class == "unstable"
    plan = json.loads((REPO / "llmplanner/simulation/examples/plan-cpt-7b-domain.json").read_text())
    assert parse_plan(plan).cluster.reliability_class == "standard"
    plan["cluster"] = {**plan["cluster"], "gpu_type": "TPU v5p", "gpu_count": 64}
    assert parse_plan(plan).cluster.reliability_class == "hyperscaler"
