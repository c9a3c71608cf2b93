"""Hostile scenario documents, shared by ``tests/security/test_hostile_documents.py`` (each is
refused with a message naming the problem) and ``scripts/bench_api.py`` (which times the
refusals: how fast is a benchmark's figure, never a test's assert)."""

from __future__ import annotations

from typing import Any

import yaml


def deep_yaml_block(depth: int) -> str:
    return "".join(f"{' ' * i}a:\n" for i in range(depth)) + " " * depth + "b: 1\n"


BILLION_LAUGHS = """\
format: llmplanner-scenario
format_version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
scenario:
  name: laughs
  description: *i
"""

# (name, text, what the refusal says)
STRUCTURE_BOMBS: list[tuple[str, str, str]] = [
    ("json-objects", '{"a": ' * 10_000 + "1" + "}" * 10_000, "nested"),
    ("json-unclosed", "[" * 100_000, "nested"),
    ("json-arrays", "[" * 10_000 + "]" * 10_000, "nested"),
    ("yaml-inline", "a: " * 5_000 + "1", "not valid YAML"),  # one-line mappings: a syntax error
    ("yaml-block", deep_yaml_block(10_000), "nested"),
    ("yaml-sequences", "- " * 10_000 + "1", "nested"),
    ("yaml-flow", "{a: " * 10_000 + "1" + "}" * 10_000, "nested"),
    ("billion-laughs", BILLION_LAUGHS, "aliases"),
]

BAD_GPU_LINES = 900


def with_bad_gpu_lines(document: dict[str, Any], count: int = BAD_GPU_LINES) -> str:
    """``document`` (a scenario document) as YAML with ``count`` copies of its first GPU line,
    each with a negative GPU count: as many errors, each on a line of its own."""
    line = document["scenario"]["gpu_budget"][0]
    # Distinct dicts: one object repeated would be written once, with YAML aliases to it.
    lines = [{**line, "gpu_count": -1} for _ in range(count)]
    scenario = {**document["scenario"], "gpu_budget": lines}
    return yaml.safe_dump({**document, "scenario": scenario}, sort_keys=False)
