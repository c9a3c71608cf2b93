"""GPU catalog: peak dense throughput, memory, bandwidths, power and default prices.

Every number carries its source. "Dense" means without 2:4 structured sparsity: vendors' headline
figures (e.g. H100's 1,979 BF16 TFLOP/s) are the sparse ones and are exactly twice the dense peak
(DOMAIN.md §3). Bandwidths are stored as the vendor states them (scale-up: bidirectional per GPU;
scale-out: the NIC line rate per GPU); the throughput model converts to one-way bytes per second.

Prices are defaults a user overrides per budget line. CNY anchor (seed 000/004): 8×A100 rented for a
year ≈ 800k CNY list, ~50% off at volume ⇒ ≈ 50,000 CNY per GPU-year ⇒ 5.71 CNY per GPU-hour.
USD figures are 2024–2025 public on-demand list prices of GPU clouds (Lambda, CoreWeave, RunPod
price pages) rounded; Chinese-market figures for H800/H20 are 2024 rental quotes reported in the
Chinese press. They are estimates and are labelled so in the UI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ValidationError

PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "fp8")


@dataclass(frozen=True)
class GPUSpec:
    """One accelerator type. Throughput in TFLOP/s (dense), memory in GiB as usable by training."""

    key: str
    name: str
    aliases: tuple[str, ...]
    vendor: str
    # Efficiency class used by the throughput model: ampere, hopper, blackwell, cdna3, turing.
    generation: str
    peak_tflops: dict[str, float] = field(hash=False)
    memory_gib: float = 80.0
    hbm_tbps: float = 2.0
    scaleup_gbps_bidir: float = 600.0  # NVLink / Infinity Fabric per GPU, GB/s both directions
    scaleout_gbit_per_gpu: float = 200.0  # InfiniBand/RoCE line rate per GPU, Gbit/s
    gpus_per_server: int = 8
    tdp_w: float = 400.0
    price_usd_per_gpu_hour: float = 2.0
    price_cny_per_gpu_hour: float = 14.0
    capex_usd_per_gpu: float = (
        25_000.0  # one GPU's share of a full server (GPU, host, NICs, switches)
    )

    @property
    def scaleup_bytes_per_s(self) -> float:
        """One-way scale-up bandwidth per GPU in bytes/s (half the bidirectional figure)."""
        return self.scaleup_gbps_bidir * 1e9 / 2

    @property
    def scaleout_bytes_per_s(self) -> float:
        """One-way scale-out bandwidth per GPU in bytes/s (line rate; efficiency applied later)."""
        return self.scaleout_gbit_per_gpu * 1e9 / 8

    @property
    def hbm_bytes_per_s(self) -> float:
        return self.hbm_tbps * 1e12

    def peak_flops(self, precision: str) -> float:
        """Dense peak in FLOP/s for a precision; ``ValidationError`` if the card lacks it."""
        tflops = self.peak_tflops.get(precision)
        if not tflops:
            raise ValidationError(
                "training.precision", f"{self.name} has no {precision} tensor cores"
            )
        return tflops * 1e12


_A100_PEAKS = {"fp32": 19.5, "tf32": 156.0, "fp16": 312.0, "bf16": 312.0}
_H100_PEAKS = {"fp32": 67.0, "tf32": 494.7, "fp16": 989.4, "bf16": 989.4, "fp8": 1978.9}

CATALOG: tuple[GPUSpec, ...] = (
    # A100 SXM4 40/80 GB: NVIDIA A100 datasheet (312 dense BF16, 1.555/2.039 TB/s, 600 GB/s NVLink3,
    # 400 W); calibration gpu_spec rows gpu-spec-a100-sxm4-{40,80}gb. DGX A100 has one 200 Gb/s HDR
    # NIC per GPU (DGX A100 user guide). Capex: DGX A100 list ≈ $200k / 8.
    GPUSpec(
        key="a100-40gb",
        name="A100 SXM 40GB",
        aliases=("a100-40", "a100-sxm4-40gb", "a100 40gb"),
        vendor="NVIDIA",
        generation="ampere",
        peak_tflops=_A100_PEAKS,
        memory_gib=40.0,
        hbm_tbps=1.555,
        scaleup_gbps_bidir=600.0,
        scaleout_gbit_per_gpu=200.0,
        tdp_w=400.0,
        price_usd_per_gpu_hour=1.29,  # Lambda on-demand 8×A100 40GB SXM, 2024
        price_cny_per_gpu_hour=4.6,  # ≈ 80% of the 80 GB anchor (seed 000), estimate
        capex_usd_per_gpu=20_000.0,
    ),
    GPUSpec(
        key="a100-80gb",
        name="A100 SXM 80GB",
        aliases=("a100", "a100-80", "a100-sxm4-80gb", "a100-sxm-80gb", "a100 80gb"),
        vendor="NVIDIA",
        generation="ampere",
        peak_tflops=_A100_PEAKS,
        memory_gib=80.0,
        hbm_tbps=2.039,
        scaleup_gbps_bidir=600.0,
        scaleout_gbit_per_gpu=200.0,
        tdp_w=400.0,
        price_usd_per_gpu_hour=1.79,  # Lambda on-demand 8×A100 80GB SXM, 2024
        price_cny_per_gpu_hour=5.71,  # seed 000: ≈ 50k CNY per GPU-year at volume discount
        capex_usd_per_gpu=25_000.0,
    ),
    # A800 = A100 with NVLink cut from 600 to 400 GB/s, compute and memory unchanged (seed 000;
    # calibration row gpu-spec-a800-sxm-80gb).
    GPUSpec(
        key="a800-80gb",
        name="A800 SXM 80GB",
        aliases=("a800", "a800-80", "a800-sxm-80gb", "a800 80gb"),
        vendor="NVIDIA",
        generation="ampere",
        peak_tflops=_A100_PEAKS,
        memory_gib=80.0,
        hbm_tbps=2.039,
        scaleup_gbps_bidir=400.0,
        scaleout_gbit_per_gpu=200.0,
        tdp_w=400.0,
        price_usd_per_gpu_hour=1.79,  # sold only in China; priced like A100 80GB
        price_cny_per_gpu_hour=5.71,  # seed 000/004 anchor (A100/A800 rented at ≈ 50k CNY/GPU-year)
        capex_usd_per_gpu=25_000.0,
    ),
    # H100 SXM5: NVIDIA H100 datasheet (989 dense BF16, 1,979 dense FP8, 3.35 TB/s, 900 GB/s
    # NVLink4,
    # 700 W); DGX H100 has 8×400 Gb/s NDR (calibration rows from dgxc-benchmarking).
    GPUSpec(
        key="h100-80gb",
        name="H100 SXM 80GB",
        aliases=("h100", "h100-sxm", "h100-80", "h100-sxm-80gb", "h100-sxm5-80gb", "h100 80gb"),
        vendor="NVIDIA",
        generation="hopper",
        peak_tflops=_H100_PEAKS,
        memory_gib=80.0,
        hbm_tbps=3.35,
        scaleup_gbps_bidir=900.0,
        scaleout_gbit_per_gpu=400.0,
        tdp_w=700.0,
        price_usd_per_gpu_hour=2.99,  # Lambda on-demand 8×H100 SXM, 2024
        price_cny_per_gpu_hour=16.0,  # China rental quotes 2024 (≈ 140k CNY per GPU-year), estimate
        capex_usd_per_gpu=40_000.0,  # DGX H100 list ≈ $320k / 8
    ),
    # H800: same GH100 die, NVLink cut to 400 GB/s bidirectional (calibration
    # gpu-spec-h800-sxm5-80gb;
    # DeepSeek-V3 report §3.2.2: ~160 GB/s usable NVLink vs 50 GB/s IB per GPU).
    GPUSpec(
        key="h800-80gb",
        name="H800 SXM 80GB",
        aliases=("h800", "h800-sxm", "h800-80", "h800-sxm5-80gb", "h800 80gb"),
        vendor="NVIDIA",
        generation="hopper",
        peak_tflops=_H100_PEAKS,
        memory_gib=80.0,
        hbm_tbps=3.35,
        scaleup_gbps_bidir=400.0,
        scaleout_gbit_per_gpu=400.0,
        tdp_w=700.0,
        price_usd_per_gpu_hour=2.00,  # DeepSeek-V3 report assumes $2 per H800 GPU-hour
        price_cny_per_gpu_hour=14.0,  # China rental quotes 2024, estimate
        capex_usd_per_gpu=38_000.0,
    ),
    # H20: China-market Hopper with 148 dense BF16 / 296 FP8 TFLOP/s, 96 GB HBM3 at 4.0 TB/s, 900
    # GB/s
    # NVLink, 400 W (NVIDIA H20 product brief as reported by the press, 2024).
    GPUSpec(
        key="h20-96gb",
        name="H20 96GB",
        aliases=("h20", "h20-96", "h20 96gb"),
        vendor="NVIDIA",
        generation="hopper",
        peak_tflops={"fp32": 44.0, "tf32": 74.0, "fp16": 148.0, "bf16": 148.0, "fp8": 296.0},
        memory_gib=96.0,
        hbm_tbps=4.0,
        scaleup_gbps_bidir=900.0,
        scaleout_gbit_per_gpu=400.0,
        tdp_w=400.0,
        price_usd_per_gpu_hour=1.00,  # estimate: ≈ a third of H100, in line with its compute
        price_cny_per_gpu_hour=6.5,  # China rental quotes 2024, estimate
        capex_usd_per_gpu=15_000.0,
    ),
    # H200 SXM: H100 compute with 141 GB HBM3e at 4.8 TB/s (calibration gpu-spec-h200-sxm-141gb).
    GPUSpec(
        key="h200-141gb",
        name="H200 SXM 141GB",
        aliases=("h200", "h200-sxm", "h200-141", "h200 141gb"),
        vendor="NVIDIA",
        generation="hopper",
        peak_tflops=_H100_PEAKS,
        memory_gib=141.0 * 1e9 / 2**30,
        hbm_tbps=4.8,
        scaleup_gbps_bidir=900.0,
        scaleout_gbit_per_gpu=400.0,
        tdp_w=700.0,
        price_usd_per_gpu_hour=3.50,  # GPU cloud on-demand list prices 2025, rounded
        price_cny_per_gpu_hour=22.0,  # estimate
        capex_usd_per_gpu=45_000.0,
    ),
    # B200 (HGX/DGX, 1000 W): dgxc-benchmarking peak table (2,250 dense BF16, 4,500 FP8), 180 GB
    # HBM3e at 7.7 TB/s, NVLink5 1.8 TB/s (calibration gpu-spec-b200-hgx-dgx-1000w).
    GPUSpec(
        key="b200-180gb",
        name="B200 180GB",
        aliases=("b200", "b200-180", "b200 180gb"),
        vendor="NVIDIA",
        generation="blackwell",
        peak_tflops={"fp32": 80.0, "tf32": 1125.0, "fp16": 2250.0, "bf16": 2250.0, "fp8": 4500.0},
        memory_gib=180.0 * 1e9 / 2**30,
        hbm_tbps=7.7,
        scaleup_gbps_bidir=1800.0,
        scaleout_gbit_per_gpu=400.0,
        tdp_w=1000.0,
        price_usd_per_gpu_hour=5.00,  # GPU cloud on-demand list prices 2025, rounded
        price_cny_per_gpu_hour=35.0,  # estimate
        capex_usd_per_gpu=60_000.0,
    ),
    # MI300X: AMD datasheet (1,307 dense BF16, 2,615 FP8, 192 GB HBM3 at 5.3 TB/s, 896 GB/s Infinity
    # Fabric, 750 W); calibration gpu-spec-amd-mi300x.
    GPUSpec(
        key="mi300x-192gb",
        name="MI300X 192GB",
        aliases=("mi300x", "mi300", "mi300x-192", "amd mi300x"),
        vendor="AMD",
        generation="cdna3",
        peak_tflops={"fp32": 163.4, "tf32": 653.7, "fp16": 1307.4, "bf16": 1307.4, "fp8": 2614.9},
        memory_gib=192.0 * 1e9 / 2**30,
        hbm_tbps=5.3,
        scaleup_gbps_bidir=896.0,
        scaleout_gbit_per_gpu=400.0,
        tdp_w=750.0,
        price_usd_per_gpu_hour=2.50,  # GPU cloud on-demand list prices 2025, rounded
        price_cny_per_gpu_hour=15.0,  # estimate
        capex_usd_per_gpu=30_000.0,
    ),
    # V100 SXM2 32GB (Volta): 125 TFLOP/s FP16 tensor, no BF16, 900 GB/s HBM2, 300 GB/s NVLink2,
    # 100 Gb/s EDR per GPU in DGX-1/Selene-era clusters (NVIDIA V100 datasheet). Common in pre-2021
    # published runs (Megatron-LM 2019, GPT-3-era cost estimates).
    GPUSpec(
        key="v100-32gb",
        name="V100 SXM2 32GB",
        aliases=("v100", "v100-32", "v100-sxm2-32gb", "v100 32gb", "tesla v100"),
        vendor="NVIDIA",
        generation="volta",
        peak_tflops={"fp32": 15.7, "fp16": 125.0},
        memory_gib=32.0,
        hbm_tbps=0.9,
        scaleup_gbps_bidir=300.0,
        scaleout_gbit_per_gpu=100.0,
        tdp_w=300.0,
        price_usd_per_gpu_hour=0.80,  # GPU cloud list prices 2024, rounded
        price_cny_per_gpu_hour=3.0,  # estimate
        capex_usd_per_gpu=8_000.0,
    ),
    # RTX 4090 24GB (Ada, consumer; common for small SFT runs in China): 165 TFLOP/s dense BF16/FP16
    # tensor with FP32 accumulate, 330 FP8, 1.0 TB/s GDDR6X, PCIe 4.0 ×16 only (Ada whitepaper).
    GPUSpec(
        key="rtx4090-24gb",
        name="RTX 4090 24GB",
        aliases=("4090", "rtx4090", "rtx 4090", "rtx-4090"),
        vendor="NVIDIA",
        generation="ada",
        peak_tflops={"fp32": 82.6, "fp16": 165.2, "bf16": 165.2, "fp8": 330.3},
        memory_gib=24.0,
        hbm_tbps=1.008,
        scaleup_gbps_bidir=64.0,  # PCIe 4.0 ×16: 32 GB/s each way
        scaleout_gbit_per_gpu=25.0 / 8,
        tdp_w=450.0,
        price_usd_per_gpu_hour=0.40,  # consumer-GPU marketplaces, 2024
        price_cny_per_gpu_hour=2.0,  # Chinese GPU rental platforms, 2024, estimate
        capex_usd_per_gpu=2_500.0,
    ),
    # RTX 2080 Ti (Turing, consumer): 53.8 TFLOP/s FP16 tensor with FP32 accumulate (GeForce Turing
    # whitepaper), no BF16, 11 GB GDDR6 at 616 GB/s, PCIe 3.0 ×16 between cards, 10–25 GbE between
    # servers. Seed 000: GPT-2 once needed 512 of these where two A100 servers would do.
    GPUSpec(
        key="rtx2080ti-11gb",
        name="RTX 2080 Ti 11GB",
        aliases=("2080ti", "2080 ti", "rtx2080ti", "rtx 2080 ti", "rtx-2080ti"),
        vendor="NVIDIA",
        generation="turing",
        peak_tflops={"fp32": 13.4, "fp16": 53.8},
        memory_gib=11.0 * 1e9 / 2**30,
        hbm_tbps=0.616,
        scaleup_gbps_bidir=32.0,  # PCIe 3.0 ×16: 16 GB/s each way
        scaleout_gbit_per_gpu=25.0 / 8,  # one 25 GbE NIC shared by 8 cards
        tdp_w=250.0,
        price_usd_per_gpu_hour=0.20,  # consumer-GPU marketplaces, 2024
        price_cny_per_gpu_hour=1.2,  # estimate
        capex_usd_per_gpu=1_500.0,
    ),
)

_BY_KEY = {gpu.key: gpu for gpu in CATALOG}


def _normalise(name: str) -> str:
    name = name.lower().strip()
    name = re.sub(r"\(.*?\)", "", name)  # "H100-SXM-80GB (DGX H100, 8x400G IB)" → "h100-sxm-80gb"
    return re.sub(r"[\s_\-]+", "", name)


_ALIASES: dict[str, str] = {}
for _gpu in CATALOG:
    for _alias in (_gpu.key, _gpu.name, *_gpu.aliases):
        _ALIASES[_normalise(_alias)] = _gpu.key


def gpu_by_name(name: str, field_name: str = "cluster.gpu_type") -> GPUSpec:
    """Find a GPU by a common name, case- and punctuation-insensitively.

    Accepts catalog keys, names and aliases (``H100``, ``h100-sxm-80gb``, ``A100-80GB``); a trailing
    form factor or parenthesised note is ignored. Unknown names raise ``ValidationError``.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(field_name, "must name a GPU type")
    norm = _normalise(name)
    key = _ALIASES.get(norm)
    if key is None:
        # Tolerate decorations such as "sxm5", "sxm4", "sxm", "pcie" (treated as SXM) or a memory
        # suffix.
        stripped = re.sub(r"(sxm5|sxm4|sxm|hgx|dgx)", "", norm)
        key = _ALIASES.get(stripped)
    if key is None:
        known = ", ".join(gpu.name for gpu in CATALOG)
        raise ValidationError(field_name, f"unknown GPU type {name!r}; known: {known}")
    return _BY_KEY[key]
