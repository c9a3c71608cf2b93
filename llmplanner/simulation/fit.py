"""Fit the global efficiency parameters to the published benchmarks (``calibrate --fit``).

Reproducible and deterministic: the same data set gives the same parameters on every machine.

- Every benchmark row is turned into the core's inputs once (``calibrate.row_setup``) and its
  candidate layouts are built and filtered by memory once: memory does not depend on the fitted
  parameters, so each trial of the fit only re-times the layouts that fit.
- The objective is the mean absolute percentage error of the predicted MFU (HFU where a row
  reports only that), averaged over rows and over sources alike so that the 189 rows of one
  source do not drown the 10 of another.
- The searched best of every model × cluster group (``calibrate.group_ratios``: the best over the
  workloads its authors ran there, each layout free) may not exceed the best they published by
  more than ``RATIO_LIMIT``: a fit that makes
  layouts nobody achieved look fast is penalised (the layouts the authors tried and rejected are
  evidence too). For speed each group keeps the 300 layouts that fit and are fastest under the
  priors; the reported ratios use the full search.
- The search is coordinate descent in log space with shrinking steps (×1.5, ×1.2, ×1.05, ×1.01),
  over ``perf.FITTED`` only; fractions of a peak stay in (0.05, 1].
- ``leave_one_source_out`` refits without each source and predicts that source with the result:
  the error a new kind of run should expect, not the error on the rows the fit has seen.
- The fitted values are written to ``data/fitted_efficiency.json`` with the data set's SHA-256;
  ``perf.DEFAULT_EFFICIENCY`` loads them. ``stale`` says whether a refit would lower the MAPE by
  more than half a point (the stored parameters no longer match the model or the data).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .calibrate import (
    PUBLISHED_RUNS,
    RATIO_LIMIT,
    RowSetup,
    freed,
    group_workloads,
    load_rows,
    row_setup,
)
from .errors import ValidationError
from .perf import (
    FITTED,
    FITTED_FILE,
    PRIOR_EFFICIENCY,
    Candidates,
    Efficiency,
    evaluate,
)
from .search import build_candidates

STEPS = (1.5, 1.2, 1.05, 1.01)
PRIOR_WEIGHT = 0.01
FRACTIONS = (
    "gemm_peak_fraction_ampere",
    "gemm_peak_fraction_hopper",
    "gemm_peak_fraction_tpu",
    "fp8_gemm_relative",
    "attention_peak_fraction",
    "net_efficiency",
    "dp_overlap",
    "tp_overlap_exposed",
    "overlap_contention",
)


@dataclass
class Prepared:
    setup: RowSetup
    candidates: Candidates  # layouts that fit in memory
    own_peak: float


def prepare(rows: list[dict[str, Any]]) -> list[Prepared]:
    """Benchmark rows the core can predict, with the candidate layouts that fit."""
    out = []
    for row in rows:
        if row.get("category") != "throughput_benchmark":
            continue
        setup = row_setup(row)
        if setup.reason or setup.model is None or setup.training is None:
            continue
        assert setup.cluster is not None and setup.constraints is not None
        try:
            cand = build_candidates(setup.model, setup.training, setup.cluster, setup.constraints)
            ev = evaluate(setup.model, setup.training, setup.cluster, cand, PRIOR_EFFICIENCY)
        except ValidationError:  # a row the core refuses is simply not fitted
            continue
        keep = np.flatnonzero(ev.feasible)
        if not keep.size:
            continue
        out.append(
            Prepared(
                setup,
                cand.take(keep),
                setup.cluster.gpu.peak_flops(setup.training.precision),
            )
        )
    return out


@dataclass
class Group:
    prepared: list[Prepared]  # the group's workloads (its best row of each), layouts freed
    published_best: float


def _top(setup: RowSetup, keep: int = 300) -> Candidates | None:
    assert setup.model is not None and setup.training is not None and setup.cluster is not None
    assert setup.constraints is not None
    try:
        cand = build_candidates(setup.model, setup.training, setup.cluster, setup.constraints)
    except ValidationError:
        return None
    # Chosen under the priors only, so that a fit depends on the data and the code, never on the
    # parameters stored by the previous fit.
    ev = evaluate(setup.model, setup.training, setup.cluster, cand, PRIOR_EFFICIENCY)
    fits = np.flatnonzero(ev.feasible)
    if not fits.size:
        return None
    order = fits[np.argsort(-ev.tokens_per_s[fits], kind="stable")[:keep]]
    return cand.take(np.sort(order))


def prepare_groups(rows: list[dict[str, Any]]) -> list[Group]:
    """The model × cluster groups of ``calibrate.group_workloads``, each workload's layouts freed
    and cut to the fastest that fit."""
    groups = []
    for group in group_workloads(rows).values():
        published = max(float(s.base["measured"]) for s in group.best.values())
        prepared = []
        for setup in group.best.values():
            free = freed(setup)
            cand = _top(free)
            if cand is None:
                continue
            assert free.cluster is not None and free.training is not None
            peak = free.cluster.gpu.peak_flops(free.training.precision)
            prepared.append(Prepared(free, cand, peak))
        if prepared:
            groups.append(Group(prepared, published))
    return groups


def ratios(groups: list[Group], eff: Efficiency) -> np.ndarray:
    """Each group's searched best (the best of its workloads) ÷ its published best."""
    flat = [p for g in groups for p in g.prepared]
    values = predict(flat, eff)
    out, i = np.empty(len(groups)), 0
    for k, g in enumerate(groups):
        out[k] = values[i : i + len(g.prepared)].max() / g.published_best
        i += len(g.prepared)
    return out


def predict(prepared: list[Prepared], eff: Efficiency) -> np.ndarray:
    """Predicted MFU/HFU of every prepared row (the fastest fitting layout, as the search picks)."""
    values = np.empty(len(prepared))
    for i, p in enumerate(prepared):
        s = p.setup
        assert s.model is not None and s.training is not None and s.cluster is not None
        ev = evaluate(s.model, s.training, s.cluster, p.candidates, eff)
        best = int(np.argmax(ev.tokens_per_s))
        metric = ev.mfu if s.metric == "mfu" else ev.hfu
        values[i] = float(metric[best]) * p.own_peak / s.basis_flops
    return values


def errors(prepared: list[Prepared], eff: Efficiency) -> np.ndarray:
    measured = np.array([float(p.setup.base["measured"]) for p in prepared])
    return np.asarray(np.abs(predict(prepared, eff) - measured) / measured)


def per_source(prepared: list[Prepared], ape: np.ndarray) -> dict[str, float]:
    sources: dict[str, list[float]] = {}
    for p, e in zip(prepared, ape, strict=True):
        sources.setdefault(str(p.setup.base["source"]), []).append(float(e))
    return {k: sum(v) / len(v) for k, v in sorted(sources.items())}


def objective(
    prepared: list[Prepared], eff: Efficiency, groups: list[Group] | None = None
) -> float:
    """Mean APE over rows + mean of the sources' MAPEs + the excess of searched bests over
    ``RATIO_LIMIT`` (minus a 2% margin), averaged over groups + ``PRIOR_WEIGHT`` × the squared
    log-distance of each fitted parameter from its prior."""
    ape = errors(prepared, eff)
    by_source = per_source(prepared, ape)
    value = float(ape.mean()) + sum(by_source.values()) / len(by_source)
    if groups:
        excess = np.maximum(0.0, ratios(groups, eff) - (RATIO_LIMIT - 0.02))
        value += float(excess.mean())
    # A weak log-normal prior around the physical values: parameters the rows barely constrain
    # (attention against elementwise traffic, when a source is left out) stay near physics
    # instead of drifting to a corner. A factor of 2 away from a prior costs 0.5 points.
    value += PRIOR_WEIGHT * sum(
        math.log(getattr(eff, name) / getattr(PRIOR_EFFICIENCY, name)) ** 2 for name in FITTED
    )
    return value


def _bounded(name: str, value: float) -> float:
    if name in FRACTIONS:
        return min(1.0, max(0.05, value))
    return value


def fit(
    prepared: list[Prepared],
    start: Efficiency = PRIOR_EFFICIENCY,
    params: tuple[str, ...] = FITTED,
    groups: list[Group] | None = None,
) -> Efficiency:
    """Coordinate descent from ``start`` over ``params`` (deterministic)."""
    best = start
    best_value = objective(prepared, best, groups)
    for step in STEPS:
        for _ in range(4):
            improved = False
            for name in params:
                for factor in (step, 1.0 / step):
                    value = _bounded(name, getattr(best, name) * factor)
                    if value == getattr(best, name):
                        continue
                    trial = best.replace(**{name: value})
                    trial_value = objective(prepared, trial, groups)
                    if trial_value < best_value - 1e-9:
                        best, best_value, improved = trial, trial_value, True
                        break
            if not improved:
                break
    return best


def exercised(prepared: list[Prepared], name: str, eff: Efficiency) -> set[str]:
    """Sources whose predictions move when ``name`` moves by 10%."""
    base = predict(prepared, eff)
    moved = predict(prepared, eff.replace(**{name: getattr(eff, name) * 1.1}))
    changed = np.abs(moved - base) > 1e-6 * np.maximum(np.abs(base), 1e-12)
    return {str(p.setup.base["source"]) for p, c in zip(prepared, changed, strict=True) if c}


def leave_one_source_out(
    prepared: list[Prepared], groups: list[Group] | None = None
) -> dict[str, float]:
    """Each source's MAPE when predicted by parameters fitted (from the priors) without its rows
    and without its groups."""
    out = {}
    sources = sorted({str(p.setup.base["source"]) for p in prepared})
    for source in sources:
        train = [p for p in prepared if p.setup.base["source"] != source]
        test = [p for p in prepared if p.setup.base["source"] == source]
        kept = [g for g in groups or [] if g.prepared[0].setup.base["source"] != source]
        eff = fit(train, groups=kept) if train else PRIOR_EFFICIENCY
        out[source] = float(errors(test, eff).mean())
    return out


def data_hash(path: str | Path = PUBLISHED_RUNS) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_fitted(eff: Efficiency, source: str | Path, path: Path = FITTED_FILE) -> dict[str, Any]:
    data = {
        "data_set": Path(source).name,
        "data_sha256": data_hash(source),
        "parameters": {name: float(f"{getattr(eff, name):.6g}") for name in FITTED},
        "note": "written by `python -m llmplanner.simulation calibrate --fit`; do not edit by hand",
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def stored_hash(path: Path = FITTED_FILE) -> str | None:
    try:
        return str(json.loads(path.read_text(encoding="utf-8")).get("data_sha256"))
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class FitReport:
    current_mape: float
    fitted_mape: float
    fitted: Efficiency
    loso: dict[str, float]
    exercised_by: dict[str, set[str]]

    @property
    def stale(self) -> bool:
        """A refit would lower the MAPE by more than half a point."""
        return self.current_mape - self.fitted_mape > 0.005


def run_fit(
    source: str | Path = PUBLISHED_RUNS,
    current: Efficiency | None = None,
    loso: bool = True,
    from_priors: bool = True,
) -> FitReport:
    """Refit: from the priors when ``from_priors`` (``--fit``: the result depends only on the data
    set and the code), else from the stored parameters (``--check-fit``: quick, and a refit that
    moves far from them shows they are stale); with leave-one-source-out errors when ``loso``."""
    from .perf import DEFAULT_EFFICIENCY

    rows = load_rows(source)
    prepared = prepare(rows)
    if not prepared:
        raise ValidationError("RUNS", "no benchmark row of this data set can be predicted")
    groups = prepare_groups(rows)
    now = current or DEFAULT_EFFICIENCY
    fitted = fit(prepared, groups=groups) if from_priors else fit(prepared, now, groups=groups)
    return FitReport(
        current_mape=float(errors(prepared, now).mean()),
        fitted_mape=float(errors(prepared, fitted).mean()),
        fitted=fitted,
        loso=leave_one_source_out(prepared, groups) if loso else {},
        exercised_by={name: exercised(prepared, name, fitted) for name in FITTED},
    )


def format_parameters(eff: Efficiency) -> str:
    return ", ".join(
        f"{name}={getattr(eff, name):.4g}" for name in FITTED if math.isfinite(getattr(eff, name))
    )
