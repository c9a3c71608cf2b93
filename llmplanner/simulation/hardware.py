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

# Compute precisions of the matrix multiplies. The 8- and 4-bit formats differ in how they scale:
# - "fp8": E4M3/E5M2 with one scale per tensor (delayed or current scaling; Transformer Engine on
#   Hopper, Ada, Blackwell, CDNA3; Micikevicius et al. 2022).
# - "fp8-blockwise": FP8 with one FP32 scale per 1×128 activation tile and 128×128 weight block
#   (DeepSeek-V3 report §3.3, 2024); runs on Hopper and Blackwell tensor cores, the scales applied
#   in the GEMM's epilogue / promotion step.
# - "mxfp8": OCP Microscaling FP8, one E8M0 (power-of-two) scale per 32 elements, applied by the
#   tensor cores themselves (OCP MX specification v1.0, 2023; Blackwell, CDNA4).
# - "nvfp4": NVIDIA's FP4 (E2M1) with one E4M3 scale per 16 elements and an FP32 scale per tensor
#   (Blackwell only; NVIDIA, "Pretraining Large Language Models with NVFP4", 2025).
# - "mxfp4": OCP Microscaling FP4, one E8M0 scale per 32 elements (Blackwell, AMD CDNA4).
PRECISIONS = (
    "fp32",
    "tf32",
    "fp16",
    "bf16",
    "fp8",
    "fp8-blockwise",
    "mxfp8",
    "nvfp4",
    "mxfp4",
)
FP8_FORMATS = ("fp8", "fp8-blockwise", "mxfp8")
FP4_FORMATS = ("nvfp4", "mxfp4")


def is_fp8_family(precision: str) -> bool:
    """True for every 8-bit floating-point format (tensor-wise, block-wise, microscaled)."""
    return precision in FP8_FORMATS


def is_low_precision(precision: str) -> bool:
    """True for the 8- and 4-bit formats: GEMMs in the format, attention, norms and the optimizer
    in BF16/FP32 (as Transformer Engine runs them)."""
    return precision in FP8_FORMATS or precision in FP4_FORMATS


def _formats(peaks: dict[str, float], *, fp4: float = 0.0, **extra: bool) -> dict[str, float]:
    """A peak table with the scaled formats a part runs at its FP8 (or FP4) rate.

    ``blockwise`` and ``mx`` name the FP8 variants the part's tensor cores run at the FP8 peak;
    ``fp4`` is the dense FP4 peak, ``nvfp4``/``mxfp4`` whether that peak holds for the format.
    """
    out = dict(peaks)
    if extra.get("blockwise"):
        out["fp8-blockwise"] = peaks["fp8"]
    if extra.get("mx"):
        out["mxfp8"] = peaks["fp8"]
    if fp4 and extra.get("nvfp4"):
        out["nvfp4"] = fp4
    if fp4 and extra.get("mxfp4"):
        out["mxfp4"] = fp4
    return out


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
    # GPUs sharing the scale-up link (NVLink/NVSwitch, Infinity Fabric, ICI, Gaudi's RoCE mesh);
    # 0 ⇒ one server. GB200/GB300 NVL72 join 72 GPUs over NVLink 5 switches across 18 trays of 4; a
    # TPU slice is one ICI torus.
    scaleup_domain: int = 0
    scaleup_link: str = "NVLink"
    tdp_w: float = 400.0
    price_usd_per_gpu_hour: float = 2.0
    price_cny_per_gpu_hour: float = 14.0
    capex_usd_per_gpu: float = (
        25_000.0  # one GPU's share of a full server (GPU, host, NICs, switches)
    )
    # The reliability class (``reliability.RELIABILITY_CLASSES``) a plan on this part takes when its
    # config names none. The class describes who runs the cluster more than the chip: GPUs are
    # bought and rented from every kind of provider ("standard"); TPUs are only rented as Google's
    # managed slices, where failures are rare — Tay (Reka, 2024, "Training great LLMs entirely from
    # ground up in the wilderness as a startup", §GPUs vs TPUs): at Google a UL2 20B job ran for a
    # month without failing, against GPU jobs that fail within days — "hyperscaler".
    reliability_class: str = "standard"

    @property
    def domain(self) -> int:
        """GPUs in one scale-up domain (a server unless the part's domain is larger)."""
        return self.scaleup_domain or self.gpus_per_server

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
            raise ValidationError("training.precision", self.lacks(precision))
        return tflops * 1e12

    def lacks(self, precision: str) -> str:
        """The refusal for a precision this part has no tensor cores for, naming what it has."""
        has = ", ".join(p for p in PRECISIONS if self.peak_tflops.get(p))
        return f"{self.name} has no {precision} tensor cores; it runs {has}"


_A100_PEAKS = {"fp32": 19.5, "tf32": 156.0, "fp16": 312.0, "bf16": 312.0}
# Blackwell: FP8 block-wise, MXFP8 at the FP8 rate and NVFP4/MXFP4 at the FP4 rate (5th-generation
# tensor cores scale blocks in hardware; NVIDIA Blackwell architecture technical brief, 2024).
_BLACKWELL = {"blockwise": True, "mx": True, "nvfp4": True, "mxfp4": True}
_B200_PEAKS = _formats(
    {"fp32": 80.0, "tf32": 1125.0, "fp16": 2250.0, "bf16": 2250.0, "fp8": 4500.0},
    fp4=9000.0,
    **_BLACKWELL,
)
# Hopper runs DeepSeek-style block-wise FP8 at its FP8 rate (DeepGEMM, the scales applied when
# partial sums are promoted to FP32; DeepSeek-V3 report §3.3.2); it has no MX or FP4 tensor cores.
_H100_PEAKS = _formats(
    {"fp32": 67.0, "tf32": 494.7, "fp16": 989.4, "bf16": 989.4, "fp8": 1978.9}, blockwise=True
)

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
        peak_tflops=_formats(
            {"fp32": 44.0, "tf32": 74.0, "fp16": 148.0, "bf16": 148.0, "fp8": 296.0},
            blockwise=True,
        ),
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
    # HBM3e at 7.7 TB/s, NVLink5 1.8 TB/s (calibration gpu-spec-b200-hgx-dgx-1000w); 9,000 dense
    # FP4 (NVIDIA HGX B200 datasheet: 72 PFLOPS FP4 without sparsity per 8 GPUs).
    GPUSpec(
        key="b200-180gb",
        name="B200 180GB",
        aliases=("b200", "b200-180", "b200 180gb"),
        vendor="NVIDIA",
        generation="blackwell",
        peak_tflops=_B200_PEAKS,
        memory_gib=180.0 * 1e9 / 2**30,
        hbm_tbps=7.7,
        scaleup_gbps_bidir=1800.0,
        scaleout_gbit_per_gpu=400.0,
        tdp_w=1000.0,
        price_usd_per_gpu_hour=5.00,  # GPU cloud on-demand list prices 2025, rounded
        price_cny_per_gpu_hour=35.0,  # estimate
        capex_usd_per_gpu=60_000.0,
    ),
    # B300 / HGX B300 (Blackwell Ultra, 1,100 W): NVIDIA HGX B300 datasheet (2025) per 8 GPUs: FP4
    # 108 PFLOPS without sparsity, FP8 72 and BF16 36 PFLOPS with sparsity (⇒ 13,500 / 4,500 /
    # 2,250 dense per GPU), 2.3 TB HBM3e (288 GB per GPU) at up to 8 TB/s, NVLink 5 1.8 TB/s,
    # ConnectX-8 800 Gb/s per GPU.
    GPUSpec(
        key="b300-288gb",
        name="B300 288GB",
        aliases=("b300", "b300-288", "b300 288gb", "blackwell ultra", "hgx b300"),
        vendor="NVIDIA",
        generation="blackwell",
        peak_tflops=_formats(
            {"fp32": 75.0, "tf32": 1125.0, "fp16": 2250.0, "bf16": 2250.0, "fp8": 4500.0},
            fp4=13500.0,
            **_BLACKWELL,
        ),
        memory_gib=288.0 * 1e9 / 2**30,
        hbm_tbps=8.0,
        scaleup_gbps_bidir=1800.0,
        scaleout_gbit_per_gpu=800.0,
        tdp_w=1100.0,
        price_usd_per_gpu_hour=6.50,  # estimate: GPU cloud list prices late 2025, ≈ 1.3× B200
        price_cny_per_gpu_hour=45.0,  # estimate (no public China rental list; export-controlled)
        capex_usd_per_gpu=65_000.0,  # estimate
    ),
    # GB200 NVL72 (Grace Blackwell, one rack): NVIDIA GB200 NVL72 datasheet (2024) per 72 GPUs: FP4
    # 1,440 / FP8 720 / BF16 360 PFLOPS with sparsity (⇒ 10,000 / 5,000 / 2,500 dense per GPU),
    # up to 13.4 TB HBM3e (186 GB per GPU) at 576 TB/s (8 TB/s per GPU), 130 TB/s NVLink 5 (1.8 TB/s
    # per GPU) joining all 72 GPUs through NVLink switch trays; compute trays of 4 GPUs, one
    # ConnectX-7 400 Gb/s NIC per GPU; 1,200 W per GPU (NVIDIA Blackwell technical brief).
    GPUSpec(
        key="gb200-nvl72",
        name="GB200 NVL72",
        aliases=(
            "gb200",
            "gb200 nvl72",
            "gb200-nvl72",
            "gb200nvl72",
            "dgx gb200",
            "dgx-gb200",
            "gb200 nvl",
        ),
        vendor="NVIDIA",
        generation="blackwell",
        peak_tflops=_formats(
            {"fp32": 80.0, "tf32": 1250.0, "fp16": 2500.0, "bf16": 2500.0, "fp8": 5000.0},
            fp4=10000.0,
            **_BLACKWELL,
        ),
        memory_gib=186.0 * 1e9 / 2**30,
        hbm_tbps=8.0,
        scaleup_gbps_bidir=1800.0,
        scaleout_gbit_per_gpu=400.0,
        gpus_per_server=4,
        scaleup_domain=72,
        tdp_w=1200.0,
        # CoreWeave on-demand GB200 NVL72, 2025: $42.00 per hour for a 4-GPU node.
        price_usd_per_gpu_hour=10.50,
        price_cny_per_gpu_hour=70.0,  # estimate: USD list × ≈ 6.7 (no China offering)
        capex_usd_per_gpu=45_000.0,  # estimate: ≈ $3.2M per rack reported in the press, 2024
    ),
    # GB300 NVL72 (Blackwell Ultra rack): NVIDIA GB300 NVL72 datasheet (2025): FP4 1,080 PFLOPS
    # without sparsity, FP8 720 and BF16 360 PFLOPS with sparsity per 72 GPUs (⇒ 15,000 / 5,000 /
    # 2,500 dense per GPU), 20.7 TB HBM3e (288 GB per GPU) at 8 TB/s per GPU, NVLink 5 at 1.8 TB/s
    # per GPU over all 72, ConnectX-8 800 Gb/s per GPU, 1,400 W per GPU.
    GPUSpec(
        key="gb300-nvl72",
        name="GB300 NVL72",
        aliases=("gb300", "gb300 nvl72", "gb300-nvl72", "dgx gb300", "dgx-gb300"),
        vendor="NVIDIA",
        generation="blackwell",
        peak_tflops=_formats(
            {"fp32": 80.0, "tf32": 1250.0, "fp16": 2500.0, "bf16": 2500.0, "fp8": 5000.0},
            fp4=15000.0,
            **_BLACKWELL,
        ),
        memory_gib=288.0 * 1e9 / 2**30,
        hbm_tbps=8.0,
        scaleup_gbps_bidir=1800.0,
        scaleout_gbit_per_gpu=800.0,
        gpus_per_server=4,
        scaleup_domain=72,
        tdp_w=1400.0,
        price_usd_per_gpu_hour=12.00,  # estimate: ≈ GB200 NVL72's list price × 1.15, late 2025
        price_cny_per_gpu_hour=80.0,  # estimate (no China offering)
        capex_usd_per_gpu=55_000.0,  # estimate: ≈ $3.5–4M per rack reported in the press, 2025
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
        scaleup_link="Infinity Fabric",
        scaleout_gbit_per_gpu=400.0,
        tdp_w=750.0,
        price_usd_per_gpu_hour=2.50,  # GPU cloud on-demand list prices 2025, rounded
        price_cny_per_gpu_hour=15.0,  # estimate
        capex_usd_per_gpu=30_000.0,
    ),
    # MI325X: AMD Instinct MI325X datasheet (2024): same CDNA3 compute as MI300X (1,307.4 dense
    # BF16, 2,614.9 FP8), 256 GB HBM3E at 6 TB/s, 896 GB/s Infinity Fabric, 1,000 W.
    GPUSpec(
        key="mi325x-256gb",
        name="MI325X 256GB",
        aliases=("mi325x", "mi325", "amd mi325x"),
        vendor="AMD",
        generation="cdna3",
        peak_tflops={"fp32": 163.4, "tf32": 653.7, "fp16": 1307.4, "bf16": 1307.4, "fp8": 2614.9},
        memory_gib=256.0 * 1e9 / 2**30,
        hbm_tbps=6.0,
        scaleup_gbps_bidir=896.0,
        scaleup_link="Infinity Fabric",
        scaleout_gbit_per_gpu=400.0,
        tdp_w=1000.0,
        price_usd_per_gpu_hour=2.75,  # estimate: GPU cloud list prices 2025, rounded
        price_cny_per_gpu_hour=17.0,  # estimate
        capex_usd_per_gpu=32_000.0,  # estimate
    ),
    # MI355X: AMD Instinct MI355X datasheet (2025): CDNA4, 2,516.6 dense FP16/BF16, 5,033.2 FP8,
    # 10,066.3 MXFP6/MXFP4 (no NVFP4: AMD implements the OCP MX formats), 288 GB HBM3E at 8 TB/s,
    # Infinity Fabric 7 links × 153.6 GB/s = 1,075 GB/s, 1,400 W; 400 Gb/s Pollara NIC per GPU.
    GPUSpec(
        key="mi355x-288gb",
        name="MI355X 288GB",
        aliases=("mi355x", "mi355", "amd mi355x"),
        vendor="AMD",
        generation="cdna4",
        peak_tflops=_formats(
            {"fp32": 157.3, "tf32": 1258.3, "fp16": 2516.6, "bf16": 2516.6, "fp8": 5033.2},
            fp4=10066.3,
            mx=True,
            mxfp4=True,
        ),
        memory_gib=288.0 * 1e9 / 2**30,
        hbm_tbps=8.0,
        scaleup_gbps_bidir=1075.2,
        scaleup_link="Infinity Fabric",
        scaleout_gbit_per_gpu=400.0,
        tdp_w=1400.0,
        price_usd_per_gpu_hour=3.50,  # estimate: GPU cloud list prices late 2025, rounded
        price_cny_per_gpu_hour=22.0,  # estimate
        capex_usd_per_gpu=40_000.0,  # estimate
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
        scaleup_link="PCIe",
        scaleout_gbit_per_gpu=25.0 / 8,
        tdp_w=450.0,
        price_usd_per_gpu_hour=0.40,  # consumer-GPU marketplaces, 2024
        price_cny_per_gpu_hour=2.0,  # Chinese GPU rental platforms, 2024, estimate
        capex_usd_per_gpu=2_500.0,
    ),
    # L40S 48GB (Ada, PCIe, 350 W): NVIDIA L40S datasheet: 362.05 dense BF16/FP16 tensor (733 with
    # sparsity), 733 dense FP8, 48 GB GDDR6 at 864 GB/s, PCIe Gen4 ×16 (64 GB/s both ways), no
    # NVLink.
    GPUSpec(
        key="l40s-48gb",
        name="L40S 48GB",
        aliases=("l40s", "l40s-48", "l40s 48gb", "nvidia l40s"),
        vendor="NVIDIA",
        generation="ada",
        peak_tflops={"fp32": 91.6, "tf32": 183.0, "fp16": 362.05, "bf16": 362.05, "fp8": 733.0},
        memory_gib=48.0,
        hbm_tbps=0.864,
        scaleup_gbps_bidir=64.0,
        scaleup_link="PCIe",
        scaleout_gbit_per_gpu=100.0,  # estimate: one 100–200 GbE NIC per one or two cards
        tdp_w=350.0,
        price_usd_per_gpu_hour=1.00,  # estimate: GPU cloud list prices 2025, rounded
        price_cny_per_gpu_hour=5.0,  # estimate: Chinese GPU rental platforms, 2025
        capex_usd_per_gpu=12_000.0,  # estimate
    ),
    # TPU v5e: Google Cloud TPU v5e documentation: 197 TFLOP/s BF16 per chip (no FP8), 16 GB HBM2
    # at 819 GB/s, 400 GB/s bidirectional ICI per chip, 8 chips per host, pods of 256 chips in a 2D
    # torus (the largest ICI slice: the scale-up domain), 2 × 100 Gb/s NICs per host (25 Gb/s DCN
    # per chip). Power: not published (estimate).
    GPUSpec(
        key="tpu-v5e",
        reliability_class="hyperscaler",
        name="TPU v5e",
        aliases=("v5e", "tpu v5e", "tpuv5e", "v5litepod", "tpu v5 lite"),
        vendor="Google",
        generation="tpu",
        peak_tflops={"bf16": 197.0},
        memory_gib=16.0,
        hbm_tbps=0.819,
        scaleup_gbps_bidir=400.0,
        scaleup_link="ICI",
        scaleout_gbit_per_gpu=25.0,
        gpus_per_server=8,
        scaleup_domain=256,
        tdp_w=250.0,  # estimate
        price_usd_per_gpu_hour=1.20,  # Google Cloud TPU on-demand list price per chip-hour, 2024
        price_cny_per_gpu_hour=8.6,  # USD list × 7.2: no Cloud TPU region in mainland China
        capex_usd_per_gpu=8_000.0,  # estimate (TPUs are rented, not sold)
    ),
    # TPU v5p: Google Cloud TPU v5p documentation: 459 TFLOP/s BF16 per chip (no FP8 listed; the
    # MXUs' 8-bit mode is integer), 95 GiB HBM2e at 2,765 GB/s, "interchip interconnect BW 4,800
    # Gbps" = 600 GB/s per chip (taken as both directions, as the v5e/v6e tables state theirs)
    # in a 3D torus, 4 chips per host,
    # 50 Gb/s DCN per chip; pods of 8,960 chips, the largest single slice 6,144 chips (the scale-up
    # domain; more goes multislice over DCN). Power: not published (estimate).
    GPUSpec(
        key="tpu-v5p",
        reliability_class="hyperscaler",
        name="TPU v5p",
        aliases=("v5p", "tpu v5p", "tpuv5p", "tpu-v5p"),
        vendor="Google",
        generation="tpu",
        peak_tflops={"bf16": 459.0},
        memory_gib=95.0,
        hbm_tbps=2.765,
        scaleup_gbps_bidir=600.0,
        scaleup_link="ICI",
        scaleout_gbit_per_gpu=50.0,
        gpus_per_server=4,
        scaleup_domain=6144,
        tdp_w=450.0,  # estimate
        price_usd_per_gpu_hour=4.20,  # Google Cloud TPU on-demand list price per chip-hour, 2024
        price_cny_per_gpu_hour=30.0,  # USD list × 7.2: no Cloud TPU region in mainland China
        capex_usd_per_gpu=20_000.0,  # estimate (TPUs are rented, not sold)
    ),
    # TPU v6e (Trillium): Google Cloud TPU v6e documentation: 918 TFLOP/s BF16 per chip (no FP8
    # listed), 32 GB HBM at 1,638 GB/s, 800 GB/s bidirectional ICI per chip, 8 chips per host, pods
    # of 256 chips in a 2D torus. DCN per chip and power: not in the table (estimates).
    GPUSpec(
        key="tpu-v6e",
        reliability_class="hyperscaler",
        name="TPU v6e (Trillium)",
        aliases=("v6e", "tpu v6e", "tpuv6e", "trillium", "tpu trillium"),
        vendor="Google",
        generation="tpu",
        peak_tflops={"bf16": 918.0},
        memory_gib=32.0,
        hbm_tbps=1.638,
        scaleup_gbps_bidir=800.0,
        scaleup_link="ICI",
        scaleout_gbit_per_gpu=100.0,  # estimate
        gpus_per_server=8,
        scaleup_domain=256,
        tdp_w=350.0,  # estimate
        price_usd_per_gpu_hour=2.70,  # Google Cloud TPU on-demand list price per chip-hour, 2024
        price_cny_per_gpu_hour=19.4,  # USD list × 7.2: no Cloud TPU region in mainland China
        capex_usd_per_gpu=12_000.0,  # estimate (TPUs are rented, not sold)
    ),
    # Gaudi 3 (HL-325L OAM): Intel Gaudi 3 white paper / Hot Chips 2024: 1,835 TFLOP/s BF16 and FP8
    # matrix (MME; no sparsity), 128 GB HBM2e at 3.67 TB/s, 24 × 200 GbE RoCE on die — 21 form the
    # all-to-all scale-up mesh of 8 OAMs (21 × 200 Gb/s = 525 GB/s each way), 3 scale out (600
    # Gb/s); 900 W air-cooled.
    GPUSpec(
        key="gaudi3-128gb",
        name="Gaudi 3 128GB",
        aliases=("gaudi3", "gaudi 3", "gaudi-3", "hl-325l", "hl325l", "intel gaudi 3"),
        vendor="Intel",
        generation="gaudi",
        peak_tflops={"bf16": 1835.0, "fp8": 1835.0},
        memory_gib=128.0 * 1e9 / 2**30,
        hbm_tbps=3.67,
        scaleup_gbps_bidir=1050.0,
        scaleup_link="RoCE (Gaudi scale-up)",
        scaleout_gbit_per_gpu=600.0,
        tdp_w=900.0,
        price_usd_per_gpu_hour=2.00,  # estimate: cloud list prices (IBM Cloud, Intel Tiber) 2025
        price_cny_per_gpu_hour=12.0,  # estimate
        capex_usd_per_gpu=22_000.0,  # Intel, 2024: an 8-OAM baseboard kit lists at $125,000
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
        scaleup_link="PCIe",
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
        stripped = re.sub(r"(sxm5|sxm4|sxm|hgx|dgx|nvidia|intel|google|amd)", "", norm)
        key = _ALIASES.get(stripped)
    if key is None:
        known = ", ".join(gpu.name for gpu in CATALOG)
        raise ValidationError(field_name, f"unknown GPU type {name!r}; known: {known}")
    return _BY_KEY[key]
