"""``python -m llmplanner.simulation <command>`` — the command line of the simulation core."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from typing import Any

from .errors import ValidationError
from .search import RankedLayout


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _fmt_layout(r: RankedLayout) -> str:
    return (
        f"{r.layout.describe():60s} {r.step_time_s:8.2f} s/step  "
        f"{r.model_tflops_per_gpu:6.1f} TFLOP/s/GPU  "
        f"MFU {r.mfu:5.1%}  {r.memory_gib:6.1f} GiB"
    )


def cmd_estimate(args: argparse.Namespace) -> int:
    """One plan's estimate. A plan whose layout does not fit in GPU memory exits 0 (the estimate is
    an answer: "it does not fit", ``"fits": false``) but prints no time and no cost — only the
    memory shortfall and what would fit. Exit 2 is for input the core refuses."""
    from .config import load_config
    from .estimate import estimate

    est = estimate(load_config(args.config), explain=True)
    if args.json:
        _print_json(est.as_json())
        return 0
    r = est.layout
    print(
        f"{est.model_name}: {est.params_total / 1e9:.1f}B parameters "
        f"({est.params_active / 1e9:.1f}B active)"
    )
    print(
        f"Tokens {est.tokens:.3g}, {est.total_model_flops:.3g} model FLOPs "
        f"({est.model_flops_per_token:.3g} per token)"
    )
    print(
        f"Cluster {est.gpu_count} × {est.gpu_type}; examined {est.candidates_examined} layouts, "
        f"{est.candidates_feasible} fit"
    )
    if not est.fits:
        print(
            f"DOES NOT FIT (fits: false): the closest layout, {r.layout.describe()}, needs "
            f"{r.memory_gib:,.1f} GiB per GPU of {est.gpu_memory_gib:g} GiB — short by "
            f"{est.shortfall_gib:,.1f} GiB"
        )
        print(
            "        "
            + ", ".join(f"{k} {v:,.1f}" for k, v in r.memory_breakdown_gib.items())
            + " GiB"
        )
        print("No time or cost: this plan cannot run as given.")
        if est.fit_suggestion is not None:
            print("What would fit:")
            for line in est.fit_suggestion.lines():
                print("  - " + line)
        return 0
    print("Layout  " + _fmt_layout(r))
    print("        " + r.explanation)
    print(f"Throughput {r.tokens_per_s:,.0f} tokens/s, MFU {r.mfu:.1%}, HFU {r.hfu:.1%}")
    cmp = est.precision_comparison
    if cmp is not None:
        print(
            f"FP8 vs {cmp.baseline.upper()}: {cmp.speedup:.2f}× the throughput "
            f"({cmp.baseline.upper()} {cmp.baseline_tokens_per_s:,.0f} tokens/s with "
            f"{cmp.baseline_layout})"
        )
        if cmp.note:
            print("        " + cmp.note)
    print(f"Time {est.wall_clock_days:,.1f} days, {est.gpu_hours:,.0f} GPU-hours")
    c = est.cost
    print(
        f"Cost {c.total:,} {c.currency} (compute {c.compute:,}, power {c.power:,}; "
        f"{c.price_per_gpu_hour} per GPU-hour)"
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .config import load_config
    from .estimate import run_search

    plan = load_config(args.config)
    result = run_search(plan, top_k=args.top)
    if args.json:
        _print_json(
            {
                "candidates_examined": result.candidates_examined,
                "candidates_valid": result.candidates_valid,
                "candidates_feasible": result.candidates_feasible,
                "shortfall_gib": result.shortfall_gib,
                "top": [
                    dict(
                        layout=r.layout.describe(),
                        **{k: v for k, v in r.__dict__.items() if k != "layout"},
                        fields=r.layout.__dict__,
                    )
                    for r in result.top
                ],
                "best_infeasible": None
                if result.best_infeasible is None
                else result.best_infeasible.layout.describe(),
            }
        )
        return 0
    print(
        f"Examined {result.candidates_examined} layouts: {result.candidates_valid} valid, "
        f"{result.candidates_feasible} fit in memory"
    )
    if not result.top and result.best_infeasible is not None:
        print(
            f"None fits. Closest: {result.best_infeasible.layout.describe()} needs "
            f"{result.best_infeasible.memory_gib:.1f} GiB, "
            f"short by {result.shortfall_gib:.1f} GiB per GPU"
        )
    for i, r in enumerate(result.top, 1):
        print(f"{i:2d}. " + _fmt_layout(r))
        print("    " + r.explanation)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Variants of one plan (the web app's "What if"): a row per variant, and under a step up in
    GPUs that is faster than the GPU ratio (superlinear), why."""
    from .config import load_json
    from .sweep import run_sweep, sweep_variants

    if not 1 <= args.trials <= 200_000:
        raise ValidationError("--trials", "must be between 1 and 200000")
    if args.seed < 0:
        raise ValidationError("--seed", "must be ≥ 0")
    axes = {
        name: values
        for name, values in (
            ("gpu_count", args.gpu_count),
            ("gpu_type", args.gpu_type),
            ("precision", args.precision),
            ("strategy", args.strategy),
        )
        if values
    }
    points = run_sweep(
        load_json(args.plan), sweep_variants(axes), trials=args.trials, seed=args.seed
    )
    if args.json:
        _print_json([p.as_json() for p in points])
        return 0
    for p in points:
        variant = " ".join(f"{k}={v}" for k, v in p.variant.items())
        if not p.ok:
            print(f"{variant:32s} cannot run: {p.error}")
            continue
        mfu = "—" if p.mfu is None else f"{p.mfu:.1%}"
        print(
            f"{variant:32s} finish P50 {p.finish_days_p50:8,.0f} d  P90 {p.finish_days_p90:8,.0f} d"
            f"  cost P50 {p.cost_p50:16,.0f}  MFU {mfu:>6s}  {p.layout}"
        )
        if p.main_run is not None and not p.main_run["fits"]:
            print("    the main run does not fit in GPU memory on these GPUs")
        if p.scaling_note:
            print("    " + p.scaling_note)
    return 0


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibrate import (
        PUBLISHED_RUNS,
        RATIO_LIMIT,
        calibrate_rows,
        coverage,
        group_ratios,
        load_rows,
    )

    if args.fit or args.check_fit:
        return _calibrate_fit(args)
    rows = load_rows(args.runs or PUBLISHED_RUNS)
    report = calibrate_rows(rows)
    groups = group_ratios(rows, report=report)
    if args.json:
        data = report.as_json()
        data["groups"] = [
            {
                "group": g.label,
                "source": g.key[0],
                "rows": g.rows,
                "workloads": g.workloads,
                "published_workload": g.published_workload,
                "searched_workload": g.searched_workload,
                "metric": g.metric,
                "published_best": g.published_best,
                "searched_best": g.searched_best,
                "ratio": g.ratio,
                "pinned_best": g.pinned_best,
                "search_gain": g.search_gain,
                "model_error": g.model_error,
                "layout": g.layout,
                "reason": g.reason or None,
            }
            for g in groups
        ]
        data["ratio_limit"] = RATIO_LIMIT
        done, measured = coverage(rows, report)
        data["coverage"] = {"predicted": done, "measured_rows": measured}
        _print_json(data)
        return 0
    print(f"{'row':48s} {'metric':6s} {'pred':>7s} {'meas':>7s} {'err':>6s}  layout")
    for r in report.rows:
        if r.predicted is None:
            print(
                f"{r.id[:48]:48s} {r.metric:6s} {'—':>7s} {r.measured or 0:7.3f} {'':>6s}  "
                f"cannot predict: {r.reason}"
            )
        else:
            note = f"  ({r.note})" if r.note else ""
            print(
                f"{r.id[:48]:48s} {r.metric:6s} {r.predicted:7.3f} {r.measured:7.3f} "
                f"{r.ape:6.1%}  {r.layout}{note}"
            )
    print()
    print(
        f"Searched best ÷ published best per model × cluster group (limit {RATIO_LIMIT:.2f}; the "
        "best over the workloads its authors ran there, each with its layout free and the "
        "software as published) = search gain over the published best's layout × the model's "
        "error at that layout:"
    )
    over = 0
    for g in sorted(groups, key=lambda g: -(g.ratio or 0.0)):
        if g.ratio is None:
            print(f"  {'—':>5s}  {g.label}: {g.reason}")
            continue
        flag = "  OVER" if g.ratio > RATIO_LIMIT else ""
        over += g.ratio > RATIO_LIMIT
        split = (
            f" = search ×{g.search_gain:.2f} · model ×{g.model_error:.2f}"
            if g.search_gain is not None and g.model_error is not None
            else ""
        )
        print(
            f"  {g.ratio:5.2f}{split}  {g.label}: published {g.published_best:.3f} "
            f"({g.published_workload}), searched {g.searched_best:.3f} ({g.searched_workload}; "
            f"{g.layout}){flag}"
        )
    searched_over = sum(
        1 for g in groups if g.search_gain is not None and g.search_gain > RATIO_LIMIT
    )
    print(
        f"  {over} of {len(groups)} groups over the limit; the search alone gains more than "
        f"the limit over the published best's layout in {searched_over}"
    )
    print()
    for name, s in report.per_source.items():
        print(
            f"{name:40s} rows {int(s['rows']):4d}  predicted {int(s['predicted']):4d}  "
            f"MAPE {_percent(s['mape'])}"
        )
    print(f"{'overall':40s} MAPE {_percent(report.mape)}")
    done, measured = coverage(rows, report)
    print(
        f"coverage: {done} of the {measured} rows that report a throughput are predicted "
        f"({done / measured:.1%})"
        if measured
        else "coverage: no row reports a throughput"
    )
    return 0


def _calibrate_fit(args: argparse.Namespace) -> int:
    from .calibrate import PUBLISHED_RUNS
    from .fit import data_hash, format_parameters, run_fit, stored_hash, write_fitted

    source = args.runs or PUBLISHED_RUNS
    report = run_fit(source, loso=args.fit, from_priors=args.fit)
    print(f"MAPE with the stored parameters  {_percent(report.current_mape)}")
    print(f"MAPE after a refit               {_percent(report.fitted_mape)}")
    print(f"fitted: {format_parameters(report.fitted)}")
    for name, sources in report.exercised_by.items():
        print(f"  {name:40s} moves {', '.join(sorted(sources)) or 'no row'}")
    if report.loso:
        print("Leave one source out (each predicted by parameters fitted without it):")
        for name, mape in report.loso.items():
            print(f"  {name:40s} MAPE {_percent(mape)}")
    if args.fit:
        write_fitted(report.fitted, source)
        print("written to llmplanner/simulation/data/fitted_efficiency.json")
        return 0
    if stored_hash() != data_hash(source):
        print("STALE: the stored parameters were fitted on another version of the data set")
        return 1
    if report.stale:
        print("STALE: a refit lowers the MAPE by more than half a point; run calibrate --fit")
        return 1
    print("ok: the stored parameters are current")
    return 0


def cmd_goodput(args: argparse.Namespace) -> int:
    from .config import load_json, parse_goodput
    from .reliability import simulate_goodput

    spec = parse_goodput(load_json(args.run))
    if args.trials is not None:
        spec = replace(spec, trials=args.trials).validate()
    if args.seed is not None:
        spec = replace(spec, seed=args.seed).validate()
    if args.checkpoint is not None:
        spec = replace(spec, checkpoint=args.checkpoint).validate()
    summary = simulate_goodput(spec).summary()
    if args.json:
        _print_json(summary)
        return 0
    for key, value in summary.items():
        if isinstance(value, dict):
            print(
                f"{key:34s} P10 {value['p10']:10.3g}  P50 {value['p50']:10.3g}  "
                f"P90 {value['p90']:10.3g}"
            )
        elif isinstance(value, str):
            print(f"{key:34s} {value}")
        else:
            print(f"{key:34s} {value:.4g}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from .config import load_json
    from .report import run_plan

    if not 1 <= args.trials <= 200_000:
        raise ValidationError("--trials", "must be between 1 and 200000")
    if args.seed < 0:
        raise ValidationError("--seed", "must be ≥ 0")
    result = run_plan(load_json(args.plan), trials=args.trials, seed=args.seed)
    if args.json:
        _print_json(result)
        return 0
    plan, totals = result["plan"], result["totals"]
    cur = plan["currency"]
    print(f"{plan['name']} — {plan['strategy']}, {plan['gpu_count']} × {plan['gpu_type']}")
    c, f = totals["cost"], totals["finish_days"]
    print(f"Cost      P10 {c['p10']:>16,.0f}  P50 {c['p50']:>16,.0f}  P90 {c['p90']:>16,.0f} {cur}")
    print(
        f"Finish    P10 {f['p10']:>12.0f} d    P50 {f['p50']:>12.0f} d    P90 {f['p90']:>12.0f} d"
    )
    if totals["p_miss_deadline"] is not None:
        print(f"P(miss the deadline) {totals['p_miss_deadline']:.0%}")
    if totals["p_over_budget"] is not None:
        print(f"P(over budget) {totals['p_over_budget']:.0%}")
    if result["main_run"]:
        m = result["main_run"]
        ettr = m["goodput"]["effective_training_time"]["p50"]
        print(
            f"Main run  {m['layout']}, MFU {m['mfu']:.0%}, ideal {m['ideal_days']:.1f} days; "
            f"effective training time P50 {ettr:.0%}"
        )
    for s in result["stages"]:
        if s.get("shortfall_gib"):
            print(
                f"WARNING: {s['name']} does not fit in GPU memory: "
                f"short by {s['shortfall_gib']:.1f} GiB per GPU"
            )
    print("\nStages")
    for s in result["stages"]:
        print(
            f"  {s['name']:34s} day {s['start_days']['p50']:6.0f} → {s['finish_days']['p50']:6.0f} "
            f"(P90 {s['finish_days']['p90']:6.0f})  {s['note']}"
        )
    print("\nGPU pools (a booked window is paid used or idle; GPU time beyond it extends it)")
    for p in result["pools"]:
        months = p["months"] or 0
        booked = (
            f"{months:g} month{'' if months == 1 else 's'} from {p['start_date'] or 'the start'}"
        )
        window = booked if p["window"] == "booked" else "open: delivery to the main run's end"
        ext = p["extension_days"]
        print(
            f"  {p['purpose']:11s} {p['gpu_count']} × {p['gpu_type']} ({p['mode']}), {window}; "
            f"paid P50 {p['window_cost']['p50']:,.0f} {cur}"
            + (
                f"; P(extended) {p['p_extended']:.0%}, +{ext['p50']:.0f} d P50 / "
                f"{ext['p90']:.0f} d P90, {p['extension_cost']['p50']:,.0f} {cur} P50"
                if p["p_extended"]
                else ""
            )
        )
    m = result["monthly"]
    print(f"\nMonths ({cur}; per-month P50 / cumulative P50 / cumulative P90)")
    total = m["total_p50"]
    for label, month, cum50, cum90 in zip(
        m["labels"], total, m["cumulative_p50"], m["cumulative_p90"], strict=True
    ):
        print(f"  {label:8s} {month:>14,.0f} {cum50:>16,.0f} {cum90:>16,.0f}")
    print("\nTop risks")
    for r in result["risks"][:5]:
        print(f"  {r['likelihood']:4.0%}  {r['title']}  — {r['mitigation']}")
    print("\nData checks")
    for d in result["data_checks"]:
        print(f"  {d['level']:7s} {d['message']}  [{d['rule']}; {d['source']}]")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    results = run_bench(repeats=args.repeats, loop_sample=args.loop_sample)
    if args.json:
        _print_json(results)
    else:
        for key, value in results.items():
            print(f"{key:32s} {value:.4g}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m llmplanner.simulation", description="LLM training plan simulation core"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("estimate", help="one plan: layout given or searched, time and cost")
    p.add_argument("config")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_estimate)
    p = sub.add_parser("search", help="ranked parallel layouts")
    p.add_argument("config")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("sweep", help="variants of one plan: GPU counts, GPU types, precisions")
    p.add_argument("plan")
    p.add_argument("--gpu-count", type=int, nargs="+")
    p.add_argument("--gpu-type", nargs="+")
    p.add_argument("--precision", nargs="+")
    p.add_argument("--strategy", nargs="+")
    p.add_argument("--trials", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser(
        "calibrate", help="predict published throughput benchmarks and report the error"
    )
    p.add_argument(
        "runs",
        nargs="?",
        help="a JSON list of runs (default: the published runs shipped with the core, "
        "llmplanner/simulation/data/published_runs.json)",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--fit",
        action="store_true",
        help="refit the efficiency parameters (deterministic), print leave-one-source-out errors "
        "and write data/fitted_efficiency.json",
    )
    p.add_argument(
        "--check-fit",
        action="store_true",
        help="exit 1 when a refit would lower the MAPE by more than half a point or the data set "
        "changed since the fit (CI runs this)",
    )
    p.set_defaults(func=cmd_calibrate)
    p = sub.add_parser("goodput", help="reliability Monte Carlo of one training run")
    p.add_argument("run")
    p.add_argument("--trials", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--checkpoint",
        choices=("sync", "async"),
        help="checkpoint strategy, overriding the run's (default: its reliability class's)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_goodput)
    p = sub.add_parser("plan", help="the whole program: stages, Monte Carlo, milestones, risks")
    p.add_argument("plan")
    p.add_argument("--trials", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser("bench", help="speed benchmarks (medians)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--loop-sample",
        type=int,
        default=0,
        help="loop over this many candidates and extrapolate (0 = all)",
    )
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "top", 1) < 1:
        parser.error("--top must be at least 1")
    try:
        return int(args.func(args))
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except ValidationError as exc:
        print(f"error: {exc.field}: {exc.message}", file=sys.stderr)
        return 2
