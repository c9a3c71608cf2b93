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
from django.utils.translation import gettext_noop

FOLDER = Path(__file__).resolve().parent / "blueprints"

# The templates' names and goals, for makemessages (the pages show them translated).
_TRANSLATABLE = (
    gettext_noop("GPT-3-class 175B from scratch"),
    gettext_noop(
        "A 175B dense base model, then SFT and DPO, to match GPT-3 on English and Chinese "
        "benchmarks."
    ),
    gettext_noop("7B domain model by continued pretraining"),
    gettext_noop("A Chinese legal assistant from an open 7B base, keeping its general ability."),
    gettext_noop("SFT of a 7B on 10k instructions"),
    gettext_noop("A customer-service assistant tuned from Llama-2 7B on 10k instructions."),
    gettext_noop("RAG over a domain knowledge base"),
    gettext_noop(
        "Answer engineers' questions from 2B tokens of manuals and tickets, with citations."
    ),
    gettext_noop("ICL with a long-context API model"),
    gettext_noop(
        "Draft contract clauses from 30k-token prompts of house examples, without training."
    ),
)


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
