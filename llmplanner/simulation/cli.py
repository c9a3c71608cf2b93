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
    from .config import load_config
    from .estimate import estimate

    est = estimate(load_config(args.config))
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
            f"NO LAYOUT FITS: the closest needs {r.memory_gib:.1f} GiB per GPU, "
            f"short by {est.shortfall_gib:.1f} GiB"
        )
    print("Layout  " + _fmt_layout(r))
    print("        " + r.explanation)
    print(f"Throughput {r.tokens_per_s:,.0f} tokens/s, MFU {r.mfu:.1%}, HFU {r.hfu:.1%}")
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


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .calibrate import PUBLISHED_RUNS, calibrate_rows, load_rows

    report = calibrate_rows(load_rows(args.runs or PUBLISHED_RUNS))
    if args.json:
        _print_json(report.as_json())
        return 0
    print(f"{'row':48s} {'metric':6s} {'pred':>7s} {'meas':>7s} {'err':>6s}  layout")
    for r in report.rows:
        if r.predicted is None:
            print(
                f"{r.id[:48]:48s} {r.metric:6s} {'—':>7s} {r.measured or 0:7.3f} {'':>6s}  "
                f"cannot predict: {r.reason}"
            )
        else:
            print(
                f"{r.id[:48]:48s} {r.metric:6s} {r.predicted:7.3f} {r.measured:7.3f} "
                f"{r.ape:6.1%}  {r.layout}"
            )
    print()
    for name, s in report.per_source.items():
        print(
            f"{name:40s} rows {int(s['rows']):4d}  predicted {int(s['predicted']):4d}  "
            f"MAPE {_percent(s['mape'])}"
        )
    print(f"{'overall':40s} MAPE {_percent(report.mape)}")
    return 0


def cmd_goodput(args: argparse.Namespace) -> int:
    from .config import load_json, parse_goodput
    from .reliability import simulate_goodput

    spec = parse_goodput(load_json(args.run))
    if args.trials is not None:
        spec = replace(spec, trials=args.trials).validate()
    if args.seed is not None:
        spec = replace(spec, seed=args.seed).validate()
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
    p.set_defaults(func=cmd_calibrate)
    p = sub.add_parser("goodput", help="reliability Monte Carlo of one training run")
    p.add_argument("run")
    p.add_argument("--trials", type=int)
    p.add_argument("--seed", type=int)
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
