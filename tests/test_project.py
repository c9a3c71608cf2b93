"""Project-level contracts: the README's two commands, CI, vendored assets, the core boundary."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "llmplanner" / "simulation"


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```(?:sh|bash|shell)?\n(.*?)```", section, flags=re.DOTALL)
    assert block, "README's Quick start has no fenced block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_it_documents_exactly_two_commands_start_then_test():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert not any(line.lstrip().startswith("#") for line in commands)
    for line in commands:
        script = ROOT / line.split()[0]
        assert script.is_file() and os.access(script, os.X_OK), line


def test_it_runs_the_readme_test_command_in_ci():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    assert quick_start_commands()[1] in ci.read_text()


def test_ci_clears_what_could_narrow_or_redirect_its_runs_and_limits_each_step():
    ci = (ROOT / ".ci" / "run").read_text()
    unset = " ".join(line for line in ci.splitlines() if line.startswith("unset "))
    for name in ("PYTEST_ADDOPTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "VAR_DIR"):
        assert name in unset, name
    assert "mktemp -d" in ci and "ci_resources.py claim" in ci and "ci_resources.py release" in ci
    assert ci.count('limited "$SUITE_LIMIT" ./scripts/test.sh') == 2
    assert (
        "LLMPLANNER_EXPECT_DATABASE=sqlite" in ci and "LLMPLANNER_EXPECT_DATABASE=postgresql" in ci
    )


def test_it_documents_every_configuration_variable_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    names = re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE)
    assert len(names) >= 20 and "DATABASE_URL" in names
    for name in names:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("asset", ["htmx.min.js", "plotly.min.js", "pico.min.css"])
def test_it_vendors_front_end_assets(asset):
    # No CDN: the app must work offline.
    assert (ROOT / "static" / "vendor" / asset).stat().st_size > 10_000


def test_it_loads_no_script_or_style_from_another_host():
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert len(templates) >= 10
    for template in templates:
        assert not re.search(r"""(src|href)=["']https?://""", template.read_text()), template


def _imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_it_keeps_the_simulation_core_to_stdlib_and_numpy():
    allowed = set(sys.stdlib_module_names) | {"numpy", "llmplanner"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_top_level_modules(path) - allowed)
        for path in CORE.rglob("*.py")
    }
    assert len(offenders) >= 15 and "llmplanner/simulation/perf.py" in offenders
    assert {path: mods for path, mods in offenders.items() if mods} == {}


def test_it_keeps_the_simulation_core_apart_from_the_rest_of_the_project():
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) >= 15
    for path in modules:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.startswith("llmplanner."):
                    assert node.module.startswith("llmplanner.simulation"), (path, node.module)


def test_nothing_in_the_project_reaches_outside_the_repository():
    # A user's clone has nothing beside it: the calibration data, the style guide and the domain
    # notes the project relies on live inside the repository.
    tracked = (
        subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        )
        .stdout.decode()
        .split("\0")
    )
    pattern = re.compile(
        r"\.\./shared|parent\s*/\s*[\"']shared[\"']|parents\[\d\]\s*/\s*[\"']shared"
    )
    assert len(tracked) > 100 and "llmplanner/simulation/data/published_runs.json" in tracked
    offenders = []
    for name in filter(None, tracked):
        path = ROOT / name
        if path.suffix in {".png", ".mo", ".ico", ".woff", ".woff2", ".xlsx", ".pdf"}:
            continue
        if name == "tests/test_project.py" or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        offenders += [f"{name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not offenders, offenders
