"""Mutation testing of the simulation core (issue 15): which one-line changes do the tests miss?

    .venv/bin/python scripts/mutation.py [MODULE ...] [--jobs N] [--fail-under PCT] [--keep]

MODULE is a file of ``llmplanner/simulation`` without ``.py`` (default: perf reliability cost
program). Each module is mutated by mutmut (pinned in pyproject's dev extra) and checked against
its own test selection, ``TESTS`` below, plus ``tests/simulation/test_worked_numbers_<module>.py``
when that file exists. For each module it prints the mutants, how many the tests killed, survived
or timed out, the score and every mutant not killed, as ``file:line`` and the change, so someone
can write the missing test.

score = (killed + timeout) / mutants. A timeout is a mutant the tests noticed (it made them hang);
"no tests" mutants (code no selected test runs) and "suspicious" ones count as not killed.
Equivalent mutants (no test can tell them apart) stay in the denominator: name them in review
rather than tuning a test to them.

mutmut 3 works in a ``mutants/`` folder beside the configuration it reads. This script copies the
working tree's ``llmplanner/``, ``apps/``, ``tests/`` and ``pyproject.toml`` into a fresh temporary
folder, adds the ``[tool.mutmut]`` table there and runs mutmut there: the work tree is never
written to, nothing is cached between runs, and the temporary folder is removed afterwards (kept
with ``--keep``, e.g. to run ``mutmut show NAME`` or ``mutmut browse`` in it). The tests run as
``scripts/test.sh`` runs them (Django settings, a throwaway SECRET_KEY, VAR_DIR in the temporary
folder, nothing inherited that narrows or redirects pytest).

Exit status: 0 when every module ran (and reached ``--fail-under`` if given); 1 when a module's
score is under ``--fail-under``; 2 when the tool failed (mutmut missing and not installable, the
clean tests failing, mutmut crashing or exceeding ``--timeout``).
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = "llmplanner/simulation"

# The targeted test selection of each module: the tests written against it, not the whole suite
# (which takes minutes per mutant). tests/simulation/test_worked_numbers_<module>.py joins its
# module's selection when it exists.
TESTS: dict[str, list[str]] = {
    "perf": [
        "tests/simulation/test_compute.py",
        "tests/simulation/test_memory.py",
        "tests/simulation/test_perf_terms.py",
        "tests/simulation/test_realistic_search.py",
    ],
    "reliability": ["tests/simulation/test_reliability.py"],
    "cost": ["tests/simulation/test_cost.py"],
    "program": ["tests/simulation/test_program.py", "tests/simulation/test_calendar.py"],
}
DEFAULT_MODULES = ["perf", "reliability", "cost", "program"]

# What the copy in the temporary folder holds: the package, the Django apps its settings load,
# the tests and the configuration (pytest's, and the [tool.mutmut] table added to it).
COPY_DIRS = ["llmplanner", "apps", "tests"]
COPY_FILES = ["pyproject.toml"]
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")

# Environment variables that would narrow the test run or point it at real services.
CLEARED_ENV = [
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "LLMPLANNER_FUZZ",
    "LLMPLANNER_TEST_REPORT",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
]

DETECTED = ("killed", "timeout")

# Run in the temporary folder with the venv's Python: reads mutmut's results for one source file
# with mutmut's own status table and diffs, printed as JSON. (Importing mutmut reads the
# configuration of the current folder, so this cannot run in the script's own process.)
READ_RESULTS = r"""
import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

path = sys.argv[1]
data = SourceFileMutationData(path=path)
data.load()
rows = []
for name, code in sorted(data.exit_code_by_key.items()):
    status = status_by_exit_code[code]
    function, cls = orig_function_and_class_names_from_key(name)
    row = {"name": name, "exit_code": code, "status": status, "function": function, "class": cls}
    if status not in ("killed", "timeout"):
        row["diff"] = get_diff_for_mutant(name, path=path)
    rows.append(row)
json.dump(rows, sys.stdout)
"""


class ToolFailure(Exception):
    """mutmut could not produce a result: the script exits 2."""


@dataclass
class Survivor:
    name: str
    status: str
    line: int | None
    change: str
    diff: str


@dataclass
class ModuleResult:
    module: str
    tests: list[str]
    seconds: float
    counts: dict[str, int]
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def mutants(self) -> int:
        return sum(self.counts.values())

    @property
    def detected(self) -> int:
        return sum(self.counts.get(status, 0) for status in DETECTED)

    @property
    def score(self) -> float:
        return 100.0 * self.detected / self.mutants if self.mutants else 0.0


def pinned_mutmut() -> str:
    """The mutmut requirement of pyproject's dev extra, e.g. ``mutmut==3.8.1``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for requirement in project["project"]["optional-dependencies"]["dev"]:
        if re.match(r"mutmut\b", requirement):
            return str(requirement)
    return "mutmut"


def mutmut_command(install: bool) -> list[str]:
    """The mutmut executable beside this Python; installs the pinned version when it is missing."""
    executable = Path(sys.executable).parent / "mutmut"
    if not executable.exists() and install:
        requirement = pinned_mutmut()
        print(
            f"[mutation] mutmut is missing: installing {requirement} into {sys.prefix}", flush=True
        )
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ],
            check=False,
        )
        if done.returncode != 0:
            raise ToolFailure(f"pip could not install {requirement}")
    if not executable.exists():
        raise ToolFailure(
            f"no mutmut beside {sys.executable}: run `{sys.executable} -m pip install "
            f"'{pinned_mutmut()}'` (or drop --no-install)"
        )
    return [str(executable)]


def selection(module: str) -> list[str]:
    tests = list(TESTS.get(module, []))
    worked = f"tests/simulation/test_worked_numbers_{module}.py"
    if (ROOT / worked).exists() and worked not in tests:
        tests.append(worked)
    missing = [t for t in tests if not (ROOT / t).exists()]
    if missing:
        raise ToolFailure(f"{module}: test files not found: {', '.join(missing)}")
    if not tests:
        raise ToolFailure(f"{module}: no tests selected (add it to TESTS in {__file__})")
    return tests


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def prepare(workdir: Path, module: str, tests: list[str]) -> None:
    """Copy the work tree's code and tests into ``workdir`` and configure mutmut there."""
    for name in COPY_DIRS:
        shutil.copytree(ROOT / name, workdir / name, ignore=COPY_IGNORE)
    for name in COPY_FILES:
        shutil.copy2(ROOT / name, workdir / name)
    pyproject = workdir / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    # Only this script's table: drop one the project file may carry.
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    text += f"""
[tool.mutmut]
source_paths = ["llmplanner"]
only_mutate = [{json.dumps(f"{CORE}/{module}.py")}]
also_copy = ["apps"]
pytest_add_cli_args = ["-p", "no:cacheprovider"]
pytest_add_cli_args_test_selection = {toml_list(tests)}
use_git_change_detection = false
"""
    pyproject.write_text(text, encoding="utf-8")
    tomllib.loads(text)  # fails here, not inside mutmut, if the table is malformed


def child_environment(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env["DJANGO_SETTINGS_MODULE"] = "llmplanner.settings"
    env["SECRET_KEY"] = env.get("SECRET_KEY") or "insecure-key-for-tests-only"
    env["VAR_DIR"] = str(workdir / "var")
    return env


def run_mutmut(
    command: list[str], workdir: Path, env: dict[str, str], jobs: int, timeout: float
) -> None:
    log_path = workdir / "mutmut.log"
    with open(log_path, "w", encoding="utf-8") as log:
        # Its own process group, so that a timeout ends mutmut and the workers it forked, and
        # nothing else.
        proc = subprocess.Popen(
            [*command, "run", "--max-children", str(jobs)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise ToolFailure(f"mutmut ran over --timeout {timeout:.0f} s") from None
        except KeyboardInterrupt:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
    if returncode != 0:
        tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
        raise ToolFailure(f"mutmut exited {returncode}; the end of its output:\n{tail}")


def read_results(workdir: Path, env: dict[str, str], source: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", READ_RESULTS, source],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ToolFailure(f"could not read mutmut's results:\n{done.stderr[-4000:]}")
    rows = json.loads(done.stdout)
    if not rows:
        raise ToolFailure(f"mutmut made no mutants of {source}")
    return list(rows)


def function_spans(source_text: str) -> dict[tuple[str | None, str], tuple[int, int]]:
    """(class, function) → first and last line of the function in the original file."""
    spans: dict[tuple[str | None, str], tuple[int, int]] = {}

    def visit(body: list[ast.stmt], cls: str | None) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                spans[(cls, node.name)] = (first, node.end_lineno or node.lineno)
            elif isinstance(node, ast.ClassDef) and cls is None:
                visit(node.body, node.name)

    visit(ast.parse(source_text).body, None)
    return spans


def locate(diff: str, lines: list[str], span: tuple[int, int] | None) -> tuple[int | None, str]:
    """The original line a mutant changed, and the change as ``old → new``."""
    removed = [
        ln[1:] for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")
    ]
    added = [ln[1:] for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    change = " / ".join(s.strip() for s in removed) + "  →  " + " / ".join(s.strip() for s in added)
    if not removed or span is None:
        return (span[0] if span else None), change
    # The diff is of the function alone; find its first removed line in the function's span.
    # The hunk header says where in the function it is, which decides between equal lines.
    want = removed[0].strip()
    match = re.search(r"^@@ -(\d+)", diff, re.M)
    hunk = int(match.group(1)) if match else 1
    offset = next(
        (i for i, ln in enumerate(diff.splitlines()[3:]) if ln.startswith("-")), 0
    )  # lines of context before the first removed line
    first, last = span
    candidates = [n for n in range(first, last + 1) if lines[n - 1].strip() == want]
    if not candidates:
        return first, change
    guess = first + hunk - 1 + offset
    return min(candidates, key=lambda n: abs(n - guess)), change


def mutant_number(name: str) -> int:
    """``...__mutmut_12`` → 12, so that survivors list in the order mutmut numbered them."""
    tail = name.rpartition("__mutmut_")[2]
    return int(tail) if tail.isdigit() else 0


def run_module(
    module: str, command: list[str], jobs: int, timeout: float, keep: bool
) -> ModuleResult:
    source = f"{CORE}/{module}.py"
    if not (ROOT / source).exists():
        raise ToolFailure(f"no {source}")
    tests = selection(module)
    workdir = Path(tempfile.mkdtemp(prefix=f"llmplanner-mutation-{module}-"))
    try:
        prepare(workdir, module, tests)
        env = child_environment(workdir)
        started = time.monotonic()
        run_mutmut(command, workdir, env, jobs, timeout)
        seconds = time.monotonic() - started
        rows = read_results(workdir, env, source)
        original = (workdir / source).read_text(encoding="utf-8")
        lines = original.splitlines()
        spans = function_spans(original)
        counts: dict[str, int] = {}
        survivors = []
        for row in rows:
            status = str(row["status"])
            counts[status] = counts.get(status, 0) + 1
            if status in DETECTED:
                continue
            cls = row["class"]
            span = spans.get((str(cls) if cls else None, str(row["function"])))
            diff = str(row.get("diff", ""))
            line, change = locate(diff, lines, span)
            survivors.append(Survivor(str(row["name"]), status, line, change, diff))
        survivors.sort(key=lambda s: (s.line or 0, mutant_number(s.name)))
        return ModuleResult(module, tests, seconds, counts, survivors)
    finally:
        if keep:
            print(f"[mutation] kept {workdir} (run `mutmut show NAME` there)", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def report(result: ModuleResult, show_diffs: bool) -> None:
    c = result.counts
    others = {k: v for k, v in c.items() if k not in ("killed", "survived", "timeout")}
    print(f"\n== {result.module}: {CORE}/{result.module}.py")
    print(f"   tests: {' '.join(result.tests)}")
    print(
        f"   mutants {result.mutants}  killed {c.get('killed', 0)}  "
        f"survived {c.get('survived', 0)}  timeout {c.get('timeout', 0)}"
        + "".join(f"  {k} {v}" for k, v in sorted(others.items()))
        + f"  score {result.score:.1f}%  ({result.seconds:.0f} s)"
    )
    if result.survivors:
        print("   not killed (file:line  status  change  [mutant]):")
    for s in result.survivors:
        where = f"{CORE}/{result.module}.py:{s.line if s.line else '?'}"
        print(f"   {where}  {s.status}  {s.change}  [{s.name.rpartition('.')[2]}]")
        if show_diffs and s.diff:
            print("      " + s.diff.replace("\n", "\n      "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "modules",
        nargs="*",
        default=DEFAULT_MODULES,
        help=f"modules of {CORE} (default: {' '.join(DEFAULT_MODULES)})",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="mutants tested at once (mutmut --max-children; default 1: the machines are shared)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="limit per module, s")
    parser.add_argument("--fail-under", type=float, help="exit 1 if a score is below this %%")
    parser.add_argument("--diff", action="store_true", help="print each survivor's diff too")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="fail instead of installing the pinned mutmut when it is missing",
    )
    args = parser.parse_args(argv)
    modules = [m.removesuffix(".py") for m in args.modules]
    try:
        command = mutmut_command(install=not args.no_install)
        version = importlib.metadata.version("mutmut")
        print(f"[mutation] mutmut {version}; modules: {' '.join(modules)}; jobs {args.jobs}")
        results = []
        for module in modules:
            print(f"[mutation] {module}: running mutmut ...", flush=True)
            result = run_module(module, command, args.jobs, args.timeout, args.keep)
            report(result, args.diff)
            results.append(result)
    except ToolFailure as err:
        print(f"[mutation] FAILED: {err}", file=sys.stderr)
        return 2
    if len(results) > 1:
        print("\nmodule        mutants  killed  survived  timeout  score    time")
        for r in results:
            print(
                f"{r.module:<12} {r.mutants:>8} {r.counts.get('killed', 0):>7} "
                f"{r.counts.get('survived', 0):>9} {r.counts.get('timeout', 0):>8} "
                f"{r.score:>6.1f}% {r.seconds:>6.0f} s"
            )
    if args.fail_under is not None and any(r.score < args.fail_under for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
