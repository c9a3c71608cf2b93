"""The templates a program can start from: scenario documents in ``blueprints/*.yaml``.

Each file is a format-1 scenario document (``apps.programs.documents``) with its ``program``
section; the file name (``1-gpt3-175b-from-scratch.yaml``) orders the list and, without its
number, is the key. To add a template, export a scenario as YAML from the UI, tidy it, and drop
it in the folder; ``tests/programs/test_blueprints.py`` checks every file imports and simulates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

FOLDER = Path(__file__).resolve().parent / "blueprints"


@dataclass(frozen=True)
class Blueprint:
    key: str
    name: str
    goal: str
    strategy: str
    text: str = field(repr=False)


@cache
def blueprint_list() -> tuple[Blueprint, ...]:
    out = []
    for path in sorted(FOLDER.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        out.append(
            Blueprint(
                key=path.stem.split("-", 1)[1],
                name=data["program"]["name"],
                goal=data["program"].get("goal", ""),
                strategy=data["scenario"]["strategy"],
                text=text,
            )
        )
    return tuple(out)


def blueprint_get(key: str) -> Blueprint | None:
    return next((b for b in blueprint_list() if b.key == key), None)
