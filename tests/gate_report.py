"""A pytest plugin recording what a test run really did, for the gate (``check_tests.py``).

With ``LLMPLANNER_TEST_REPORT=<path>`` it writes a JSON file at the end of the session: every
collected test with its outcome (passed, failed, error, skipped, xfailed, xpassed) and markers,
the tests deselected (``-k``, ``-m``), the options that narrow a run (test paths, ``-k``, ``-m``,
``--lf``, ``PYTEST_ADDOPTS``), the database vendor and the broker the run used. The checker then
refuses a run in which a test file, a marked category or a database was left out, whatever
option, environment variable or conftest caused it. With the variable unset it does nothing.

It is loaded from ``tests/conftest.py``; a run that bypasses that (``--noconftest``, ``-p
no:...``) writes no report, and the checker fails on a missing report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPORT_ENV = "LLMPLANNER_TEST_REPORT"


class GateReport:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.collected: dict[str, list[str]] = {}
        self.deselected: list[str] = []
        self.outcomes: dict[str, str] = {}
        self.skip_reasons: dict[str, str] = {}
        self.durations: dict[str, float] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # trylast: after every other plugin had the chance to reorder or drop items.
        for item in items:
            self.collected[item.nodeid] = sorted({m.name for m in item.iter_markers()})

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += [item.nodeid for item in items]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid
        self.durations[nodeid] = round(self.durations.get(nodeid, 0.0) + report.duration, 3)
        if report.failed:
            # A failure in setup or teardown is an error; one in the call is a failure.
            self.outcomes[nodeid] = "failed" if report.when == "call" else "error"
        elif report.skipped:
            if hasattr(report, "wasxfail"):
                self.outcomes[nodeid] = "xfailed"
            elif self.outcomes.get(nodeid) not in {"failed", "error"}:
                self.outcomes[nodeid] = "skipped"
                longrepr = report.longrepr
                reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
                self.skip_reasons[nodeid] = reason
        elif report.when == "call":
            if hasattr(report, "wasxfail"):
                self.outcomes[nodeid] = "xpassed"
            elif self.outcomes.get(nodeid) not in {"failed", "error"}:
                self.outcomes[nodeid] = "passed"
        # A passing setup or teardown changes nothing.

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = session.config
        data: dict[str, Any] = {
            "exitstatus": int(exitstatus),
            "args": list(config.invocation_params.args),
            "addopts_env": os.environ.get("PYTEST_ADDOPTS", ""),
            "keyword": config.getoption("keyword", ""),
            "markexpr": config.getoption("markexpr", ""),
            "last_failed": bool(config.getoption("lf", False)),
            "database": _database_vendor(),
            "broker": _broker(),
            "collected": self.collected,
            "deselected": self.deselected,
            "outcomes": self.outcomes,
            "skip_reasons": self.skip_reasons,
            "durations": self.durations,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(data, indent=1, sort_keys=True))


def _database_vendor() -> str:
    try:
        from django.db import connection

        vendor: str = connection.vendor  # "sqlite", "postgresql"; no query needed
    except Exception:  # Django not configured: the report still says what ran
        return "unknown"
    return vendor


def _broker() -> str:
    try:
        from django.conf import settings

        url: str = settings.CELERY_BROKER_URL
    except Exception:
        return "unknown"
    return url.split(":", 1)[0]


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(REPORT_ENV)
    if path and not config.pluginmanager.has_plugin("llmplanner-gate-report"):
        config.pluginmanager.register(GateReport(Path(path)), "llmplanner-gate-report")
