"""Speed benchmarks of the core (the ``bench`` command): medians over repeated runs."""

from __future__ import annotations

import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from .architecture import PRESETS, ModelSpec
from .hardware import gpu_by_name
from .perf import DEFAULT_EFFICIENCY, Candidates, evaluate
from .reliability import GoodputSpec, simulate_goodput, simulate_goodput_loop
from .report import run_plan
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


def monte_carlo_spec(seed: int = 0) -> GoodputSpec:
    """10,000 trials of a 90-day run on 16,384 GPUs (the target of issue 4)."""
    return GoodputSpec(
        gpu_count=16_384,
        work_hours=90 * 24,
        checkpoint_save_s=300,
        params=405e9,
        trials=10_000,
        seed=seed,
    )


def bench_monte_carlo(repeats: int = 5, loop_trials: int = 100) -> dict[str, float]:
    results: dict[str, float] = {}
    spec = monte_carlo_spec()
    results["monte_carlo_10k_s"] = _median_seconds(lambda: simulate_goodput(spec), repeats)
    tracemalloc.start()
    simulate_goodput(spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results["monte_carlo_peak_mb"] = peak / 2**20
    start = time.perf_counter()
    looped = simulate_goodput_loop(spec, trials=loop_trials)
    loop_s = (time.perf_counter() - start) * spec.trials / loop_trials
    vector = simulate_goodput(spec).wall_hours[:loop_trials]
    if abs(looped.mean() / vector.mean() - 1.0) > 0.05:
        raise AssertionError("loop and vectorised Monte Carlo disagree")
    results["monte_carlo_loop_s"] = loop_s
    results["monte_carlo_speedup_vs_loop"] = loop_s / results["monte_carlo_10k_s"]
    plan = json.loads((Path(__file__).parent / "examples" / "plan-gpt3-175b.json").read_text())
    results["plan_gpt3_2000_trials_s"] = _median_seconds(
        lambda: run_plan(plan, trials=2000, seed=0), repeats
    )
    results["plan_20k_trials_peak_mb"] = plan_peak_mb(plan, trials=20_000)
    return results


def plan_peak_mb(plan: dict[str, Any], trials: int) -> float:
    """Peak memory of one ``run_plan`` in MiB, as tracemalloc counts it: every allocation made
    through Python's and numpy's allocators (numpy reports its array buffers to tracemalloc), not
    the interpreter and libraries already loaded (the process's resident set adds ~45 MiB)."""
    tracemalloc.start()
    try:
        run_plan(plan, trials=trials, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


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
    results.update(bench_monte_carlo(repeats))
    return results
