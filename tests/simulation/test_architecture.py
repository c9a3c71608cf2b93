from __future__ import annotations

import pytest

from llmplanner.simulation import ModelSpec, ValidationError, infer_from_params, preset


@pytest.mark.parametrize(
    "key, total_b, active_b",
    [
        ("gpt3-175b", 175.0, 175.0),  # Brown et al. 2020
        ("llama2-7b", 6.74, 6.74),  # Touvron et al. 2023
        ("llama2-70b", 69.0, 69.0),
        ("llama3-8b", 8.03, 8.03),  # Llama 3 model card
        ("llama3-70b", 70.6, 70.6),
        ("llama3-405b", 405.9, 405.9),
        ("mixtral-8x7b", 46.7, 12.9),  # Jiang et al. 2024
        ("deepseek-v3", 671.0, 37.0),  # DeepSeek-V3 report: 671B total, 37B active
    ],
)
def test_presets_match_published_parameter_counts(key, total_b, active_b):
    model = preset(key)
    assert model.total_params() / 1e9 == pytest.approx(total_b, rel=0.015)
    assert model.active_params() / 1e9 == pytest.approx(active_b, rel=0.025)


def test_it_finds_presets_case_and_dash_insensitively():
    assert preset("GPT3-175B") is preset("gpt3_175b")


def test_it_rejects_an_unknown_preset_naming_the_field():
    with pytest.raises(ValidationError) as err:
        preset("gpt-9")
    assert err.value.field == "model.preset"


def test_inferred_shapes_follow_published_ladders():
    # GPT-3 Table 2.1: 6.7B is 32 layers × 4096; 13B is 40 × 5120.
    m7 = infer_from_params(6.7e9)
    assert (m7.layers, m7.hidden) == (32, 4096)
    m13 = infer_from_params(13e9)
    assert m13.hidden == 5120 and abs(m13.layers - 40) <= 1
    # Widths from 4k up split into 8 head groups, so tensor parallelism of 8 stays possible.
    for size in (7e9, 70e9, 175e9):
        assert infer_from_params(size).heads % 8 == 0
    for size in (0.125e9, 1.3e9, 30e9, 175e9):
        assert infer_from_params(size).total_params() == pytest.approx(size, rel=0.05)


def test_it_rejects_heads_that_do_not_divide_hidden():
    with pytest.raises(ValidationError) as err:
        ModelSpec("x", layers=2, hidden=100, heads=3, ffn_hidden=400).validate()
    assert err.value.field == "model.heads"


@pytest.mark.parametrize("field, value", [("layers", 0), ("hidden", -5), ("layers", 10**7)])
def test_it_rejects_absurd_sizes(field, value):
    kwargs = dict(layers=2, hidden=128, heads=2, ffn_hidden=512)
    kwargs[field] = value
    with pytest.raises(ValidationError) as err:
        ModelSpec("x", **kwargs).validate()
    assert err.value.field == f"model.{field}"
