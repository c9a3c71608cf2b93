"""The core is a library: stdlib + numpy only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "llmplanner" / "simulation"
ALLOWED_THIRD_PARTY = {"numpy"}


def test_it_imports_only_stdlib_and_numpy():
    stdlib = set(sys.stdlib_module_names)
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in stdlib and top not in ALLOWED_THIRD_PARTY:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_it_loads_without_django_or_celery():
    code = (
        "import sys, llmplanner.simulation, llmplanner.simulation.cli, llmplanner.simulation.bench;"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django','celery','rest_framework','kombu','redis','psycopg','plotly'})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=CORE.parents[1],
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == ""
