#!/usr/bin/env python3
"""The gate: did a test run really run every test, and did every one pass?

Reads the report ``tests/gate_report.py`` writes (``LLMPLANNER_TEST_REPORT``) and compares it
with the test files on disk, read without pytest (an ``ast`` walk), so that nothing a run was
told — ``-k``, ``-m``, ``--lf``, a path, ``PYTEST_ADDOPTS``, a conftest that drops tests, a skip
that fires where it should not — can shrink the run unnoticed. It fails when:

- the report is missing (pytest never reached the end, or the plugin was bypassed);
- pytest's exit status is not 0, or any test failed, errored, was skipped or xfailed;
- tests were deselected, or the run was narrowed by ``-k``/``-m``/``--lf``/``PYTEST_ADDOPTS``;
- a test function on disk has no passing test in the run (a file, a class or a whole category —
  e2e, faults, integration — left out), or a category has no passing test at all;
- the run used another database or broker than ``--database`` / ``--broker`` say.

It prints the counts per category. Exit 0 when the run is whole, 1 otherwise, 2 on bad usage.

    python scripts/check_tests.py var/test/test-report.json --database sqlite --broker fsatomic
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def test_functions_on_disk(tests: Path = TESTS) -> set[str]:
    """``path::name`` or ``path::Class::name`` of every test function pytest would collect."""
    found: set[str] = set()
    for path in sorted(tests.rglob("test_*.py")):
        rel = path.relative_to(tests.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("test"):
                    found.add(f"{rel}::{node.name}")
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                for member in node.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        if member.name.startswith("test"):
                            found.add(f"{rel}::{node.name}::{member.name}")
    return found


def function_of(nodeid: str) -> str:
    """The test function of a collected node id: parameters dropped."""
    return re.sub(r"\[.*\]$", "", nodeid, flags=re.DOTALL)


def category_of(nodeid: str) -> str:
    """``tests/api/test_x.py::t`` → ``api``; a top-level ``tests/test_x.py`` → ``project``."""
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 else "project"


def check(report: dict, on_disk: set[str], database: str | None, broker: str | None) -> list[str]:
    problems: list[str] = []
    if report.get("exitstatus") != 0:
        problems.append(f"pytest exited with status {report.get('exitstatus')}")
    for option in ("keyword", "markexpr"):
        if report.get(option):
            problems.append(f"the run was narrowed by {option} {report[option]!r}")
    if report.get("last_failed"):
        problems.append("the run was narrowed by --lf")
    if report.get("addopts_env", "").strip():
        problems.append(f"PYTEST_ADDOPTS was set: {report['addopts_env']!r}")
    if report.get("deselected"):
        problems.append(
            f"{len(report['deselected'])} tests were deselected, e.g. {report['deselected'][0]}"
        )
    if database and report.get("database") != database:
        problems.append(f"the run used the database {report.get('database')!r}, not {database!r}")
    if broker and report.get("broker") != broker:
        problems.append(f"the run used the broker {report.get('broker')!r}, not {broker!r}")

    collected: dict[str, list[str]] = report.get("collected", {})
    outcomes: dict[str, str] = report.get("outcomes", {})
    for nodeid in collected:
        outcome = outcomes.get(nodeid, "not run")
        if outcome != "passed":
            reason = report.get("skip_reasons", {}).get(nodeid, "")
            problems.append(f"{nodeid}: {outcome}" + (f" ({reason})" if reason else ""))

    passed_functions = {function_of(n) for n, o in outcomes.items() if o == "passed"}
    missing = sorted(on_disk - passed_functions)
    if missing:
        problems.append(f"{len(missing)} test functions on disk did not pass in this run:")
        problems += [f"  {name}" for name in missing[:50]]
        if len(missing) > 50:
            problems.append(f"  … and {len(missing) - 50} more")
    categories = {category_of(name) for name in on_disk}
    passed_categories = {category_of(n) for n, o in outcomes.items() if o == "passed"}
    for category in sorted(categories - passed_categories):
        problems.append(f"category {category!r}: no test passed")
    marked = [n for n, markers in collected.items() if "integration" in markers]
    if not any(outcomes.get(n) == "passed" for n in marked):
        problems.append("no integration test (real worker process) passed")
    return problems


def summary(report: dict) -> str:
    per_category: dict[str, Counter[str]] = defaultdict(Counter)
    for nodeid in report.get("collected", {}):
        per_category[category_of(nodeid)][report["outcomes"].get(nodeid, "not run")] += 1
    lines = [f"{'category':12s} {'collected':>9s} {'passed':>7s} {'other':>6s}"]
    for category, counts in sorted(per_category.items()):
        total = sum(counts.values())
        lines.append(
            f"{category:12s} {total:9d} {counts['passed']:7d} {total - counts['passed']:6d}"
        )
    collected = len(report.get("collected", {}))
    passed = sum(1 for o in report.get("outcomes", {}).values() if o == "passed")
    lines.append(
        f"{'all':12s} {collected:9d} {passed:7d} {collected - passed:6d}"
        f"   database={report.get('database')} broker={report.get('broker')}"
    )
    durations = report.get("durations", {})
    slowest = sorted(durations.items(), key=lambda item: -item[1])[:5]
    if slowest:
        lines.append("slowest (setup + call + teardown; each test's limit is pytest-timeout's):")
        lines += [f"  {seconds:7.1f} s  {nodeid}" for nodeid, seconds in slowest]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--database", help="the vendor the run must have used: sqlite, postgresql")
    parser.add_argument(
        "--broker", help="the broker scheme the run must have used: fsatomic, redis"
    )
    parser.add_argument(
        "--tests", type=Path, default=TESTS, help="the tests folder (default: ours)"
    )
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"[gate] FAILED: no test report at {args.report}: pytest did not finish", flush=True)
        return 1
    except json.JSONDecodeError as exc:
        print(f"[gate] FAILED: the test report {args.report} is not JSON: {exc}", flush=True)
        return 1
    print(summary(report))
    problems = check(report, test_functions_on_disk(args.tests), args.database, args.broker)
    if problems:
        print("[gate] FAILED: the run is not the whole suite, or not all of it passed:")
        for problem in problems[:200]:
            print(f"  - {problem}")
        return 1
    print(f"[gate] ok: {len(report['collected'])} tests collected, all passed, none left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
