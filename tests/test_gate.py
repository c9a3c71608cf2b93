"""The gate (``scripts/check_tests.py`` reading ``tests/gate_report.py``'s report) refuses a run
that was narrowed, skipped a test or left one out — here on a small suite of its own, run by a
real pytest process."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str):  # type: ignore[no-untyped-def]
    """``scripts/<name>.py`` as a module (``scripts/`` is not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_tests = _script("check_tests")

SUITE = {
    "test_numbers.py": """
import pytest

def test_adds():
    assert 1 + 1 == 2

@pytest.mark.parametrize("n", [1, 2])
def test_counts(n):
    assert n > 0

class TestWords:
    def test_upper(self):
        assert "a".upper() == "A"
""",
    "api/test_reads.py": """
import pytest

def test_reads():
    assert True

@pytest.mark.integration
def test_with_a_worker():
    assert True
""",
}


@pytest.fixture
def suite(tmp_path):
    tests = tmp_path / "tests"
    for name, text in SUITE.items():
        (tests / name).parent.mkdir(parents=True, exist_ok=True)
        (tests / name).write_text(text)
    return tests


def run(tests: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    report = tests.parent / "report.json"
    report.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.gate_report", "-p", "no:cacheprovider"]
        + ["--rootdir", str(tests.parent), "-c", os.devnull, str(tests), "-q", *args],
        cwd=ROOT,
        env={**os.environ, "LLMPLANNER_TEST_REPORT": str(report), **(env or {})},
        capture_output=True,
        timeout=120,
    )
    return json.loads(report.read_text())


def problems(tests: Path, report: dict, **expect: str) -> list[str]:
    return check_tests.check(
        report, check_tests.test_functions_on_disk(tests), expect.get("database"), None
    )


def test_it_reads_every_test_function_from_disk(suite):
    assert check_tests.test_functions_on_disk(suite) == {
        "tests/test_numbers.py::test_adds",
        "tests/test_numbers.py::test_counts",
        "tests/test_numbers.py::TestWords::test_upper",
        "tests/api/test_reads.py::test_reads",
        "tests/api/test_reads.py::test_with_a_worker",
    }


def test_a_whole_passing_run_is_accepted(suite):
    report = run(suite)
    assert len(report["collected"]) == 6 and set(report["outcomes"].values()) == {"passed"}
    assert problems(suite, report) == []
    summary = check_tests.summary(report)
    assert "api" in summary and "project" in summary and "6" in summary


def test_a_deselected_test_or_a_keyword_fails_the_gate(suite):
    found = problems(suite, run(suite, "-k", "not upper"))
    assert any("deselected" in p for p in found)
    assert any("keyword" in p for p in found)
    assert any(p.strip() == "tests/test_numbers.py::TestWords::test_upper" for p in found)


def test_a_marker_filter_that_drops_a_category_fails_the_gate(suite):
    found = problems(suite, run(suite, "-m", "not integration"))
    assert any("markexpr" in p for p in found)
    assert any("no integration test" in p for p in found)


def test_an_inherited_pytest_addopts_fails_the_gate(suite):
    found = problems(suite, run(suite, env={"PYTEST_ADDOPTS": "-x"}))
    assert any("PYTEST_ADDOPTS" in p for p in found)


def test_a_skipped_or_failing_test_fails_the_gate(suite):
    (suite / "api" / "test_reads.py").write_text(
        "import pytest\n\ndef test_reads():\n    pytest.skip('no server here')\n\n"
        "@pytest.mark.integration\ndef test_with_a_worker():\n    assert False\n"
    )
    found = problems(suite, run(suite))
    assert "tests/api/test_reads.py::test_reads: skipped (Skipped: no server here)" in found
    assert "tests/api/test_reads.py::test_with_a_worker: failed" in found
    assert any("category 'api': no test passed" in p for p in found)
    assert any("exited with status 1" in p for p in found)


def test_a_file_left_out_of_the_run_fails_the_gate(suite):
    found = problems(suite, run(suite, "--ignore", str(suite / "api")))
    assert "  tests/api/test_reads.py::test_reads" in found


def test_the_wrong_database_fails_the_gate(suite):
    report = run(suite)
    assert problems(suite, report, database=report["database"]) == []
    assert any(
        "not 'postgresql-elsewhere'" in p
        for p in problems(suite, report, database="postgresql-elsewhere")
    )


def test_a_missing_report_fails_the_gate(tmp_path, capsys):
    assert check_tests.main([str(tmp_path / "none.json")]) == 1
    assert "no test report" in capsys.readouterr().out


def test_ci_gives_each_run_a_database_name_of_its_own():
    ci_resources = _script("ci_resources")
    base = "postgres://postgres@127.0.0.1:5432/postgres"
    assert ci_resources.postgres_url(base, "20261202_77") == (
        "postgres://postgres@127.0.0.1:5432/llmplanner_ci_20261202_77"
    )
    assert ci_resources.postgres_url(base, "a") != ci_resources.postgres_url(base, "b")
    with pytest.raises(SystemExit):
        ci_resources.postgres_url(base, "x; DROP DATABASE y")
    assert ci_resources.REGISTRY_DB not in ci_resources.CANDIDATES
