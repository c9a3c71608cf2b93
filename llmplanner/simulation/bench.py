"""Speed benchmarks of the core (the ``bench`` command): medians over repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import numpy as np

from .architecture import PRESETS, ModelSpec
from .hardware import gpu_by_name
from .perf import DEFAULT_EFFICIENCY, Candidates, evaluate
from .search import LayoutConstraints, build_candidates, search
from .specs import ClusterSpec, TrainingSpec


def _median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scenario_405b() -> tuple[ModelSpec, TrainingSpec, ClusterSpec]:
    model = PRESETS["llama3-405b"]
    training = TrainingSpec(tokens=15.6e12, global_batch_seqs=2048, seq_len=8192, precision="bf16")
    return model, training, ClusterSpec(gpu=gpu_by_name("H100"), gpu_count=16_384)


def scenario_175b() -> tuple[ModelSpec, TrainingSpec, ClusterSpec]:
    model = PRESETS["gpt3-175b"]
    training = TrainingSpec(tokens=300e9, global_batch_seqs=1536, seq_len=2048, precision="fp16")
    return model, training, ClusterSpec(gpu=gpu_by_name("A100-80GB"), gpu_count=1024)


def loop_evaluate(
    model: ModelSpec, training: TrainingSpec, cluster: ClusterSpec, cand: Candidates
) -> np.ndarray:
    """The same evaluation one candidate at a time: the baseline of the vectorised search."""
    names = [f.name for f in fields(Candidates)]
    columns = [np.asarray(getattr(cand, n)) for n in names]
    out = np.empty(len(cand))
    for i in range(len(cand)):
        one = Candidates(**{n: col[i : i + 1] for n, col in zip(names, columns, strict=True)})
        out[i] = evaluate(model, training, cluster, one, DEFAULT_EFFICIENCY).step_time_s[0]
    return out


def run_bench(repeats: int = 5, loop_sample: int = 0) -> dict[str, float]:
    """Time the searches; ``loop_sample`` > 0 loops over that many candidates and extrapolates
    (0 loops over the whole GPT-3 space, as the target asks)."""
    results: dict[str, float] = {}
    m405 = scenario_405b()
    results["search_405b_16384_s"] = _median_seconds(lambda: search(*m405, top_k=5), repeats)
    m175 = scenario_175b()
    results["search_175b_1024_s"] = _median_seconds(lambda: search(*m175, top_k=5), repeats)
    cand = build_candidates(*m175, LayoutConstraints())
    results["search_candidates"] = float(len(cand))
    results["search_405b_candidates"] = float(len(build_candidates(*m405, LayoutConstraints())))
    vector_s = _median_seconds(lambda: evaluate(*m175, cand), repeats)
    n_loop = len(cand) if loop_sample <= 0 else min(loop_sample, len(cand))
    sample = cand.take(np.arange(n_loop))
    start = time.perf_counter()
    looped = loop_evaluate(*m175, sample)
    loop_s = (time.perf_counter() - start) * len(cand) / n_loop
    vec = evaluate(*m175, sample).step_time_s
    if not np.allclose(looped, vec, equal_nan=True):
        raise AssertionError("loop and vectorised evaluation disagree")
    results["search_vectorised_eval_s"] = vector_s
    results["search_loop_eval_s"] = loop_s
    results["search_speedup_vs_loop"] = loop_s / vector_s
    return results
