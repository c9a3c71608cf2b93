from __future__ import annotations

import pytest

from llmplanner.simulation import CATALOG, ValidationError, gpu_by_name


@pytest.mark.parametrize(
    "name, key",
    [
        ("H100", "h100-80gb"),
        ("h100-sxm-80gb", "h100-80gb"),
        ("H100-SXM-80GB (DGX H100, 8x400G IB)", "h100-80gb"),
        ("A100-80GB", "a100-80gb"),
        ("a100-40gb", "a100-40gb"),
        ("A800", "a800-80gb"),
        ("h800", "h800-80gb"),
        ("H20", "h20-96gb"),
        ("H200", "h200-141gb"),
        ("B200", "b200-180gb"),
        ("MI300X", "mi300x-192gb"),
        ("2080Ti", "rtx2080ti-11gb"),
        ("V100", "v100-32gb"),
        ("RTX 4090", "rtx4090-24gb"),
    ],
)
def test_it_finds_gpus_by_common_names(name, key):
    assert gpu_by_name(name).key == key


def test_it_rejects_an_unknown_gpu_naming_the_field():
    with pytest.raises(ValidationError) as err:
        gpu_by_name("Z9000")
    assert err.value.field == "cluster.gpu_type"
    assert "Z9000" in err.value.message


def test_h100_dense_bf16_is_half_the_sparse_headline():
    # DOMAIN.md §3: the quoted 1979 TFLOPs is with sparsity; dense is ~989.
    assert gpu_by_name("H100").peak_tflops["bf16"] == pytest.approx(1979 / 2, rel=0.001)


def test_a800_is_an_a100_with_nvlink_cut_to_400():
    a100, a800 = gpu_by_name("A100-80GB"), gpu_by_name("A800")
    assert a800.peak_tflops == a100.peak_tflops
    assert (a100.scaleup_gbps_bidir, a800.scaleup_gbps_bidir) == (600, 400)


def test_h800_keeps_h100_compute_with_slower_nvlink():
    h100, h800 = gpu_by_name("H100"), gpu_by_name("H800")
    assert h800.peak_tflops["bf16"] == h100.peak_tflops["bf16"]
    assert h800.scaleup_gbps_bidir < h100.scaleup_gbps_bidir


def test_every_gpu_has_prices_in_both_currencies_and_a_16bit_peak():
    for gpu in CATALOG:
        assert gpu.price_cny_per_gpu_hour > 0 and gpu.price_usd_per_gpu_hour > 0
        assert gpu.peak_tflops.get("bf16") or gpu.peak_tflops.get("fp16")


def test_the_2080ti_has_no_bf16():
    with pytest.raises(ValidationError) as err:
        gpu_by_name("2080Ti").peak_flops("bf16")
    assert err.value.field == "training.precision"
