"""The scenario document: a versionable JSON/YAML file of one scenario, and its parser.

Format version 1::

    format: llmplanner-scenario
    format_version: 1
    program: {name, goal, deadline, budget_cap, currency, usd_to_cny,   # amounts are in currency
              alert_threshold}                                        # a percentage, 1-100
    scenario:
      name, description, strategy, start_date, full_runs, contingency_pct, ladder (null | [sizes])
      chain:    {sft, rlhf, rag, serving}
      model:    {preset | params_b | layers, hidden, heads, ffn_hidden, kv_heads, vocab}
      training: {tokens, precision, seq_len, global_batch_tokens}
      sft:      {samples, tokens_per_sample, epochs, runs, cost_per_sample}
      rlhf:     {preference_pairs}
      serving:  {requests_per_day, tokens_per_request, months, price_per_million_tokens}
      rag:      {corpus_tokens, embedding_price_per_million_tokens, vector_db_monthly}
      gpu_budget: [{purpose, provider, gpu_type (catalog key), gpu_count, mode,
                    price_per_gpu_hour (null: catalog), start_date, months, delivery_risk,
                    reliability_class, checkpoint_storage_gbps}]
      team: [{role (role template key), headcount, monthly_cost (null: template), allocation_pct,
              start_date, end_date}]
      data: [{name, tokens, language, kind, source, licence, quality, cleaning, cost, stage,
              ready_date}]
    plan: {...}   # the core's plan JSON, for reading and for the core; ignored on import

``document_dump`` writes one; ``document_parse`` reads one back into unsaved, fully validated
model instances (``ParsedScenario``) or raises ``DocumentError`` naming the line and field of the
first problems. Nothing in the database changes here; ``services.scenario_import`` saves.
The blueprints in ``apps/programs/blueprints/*.yaml`` (the demo templates) are such documents.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from apps.common.limits import MAX_JSON_DEPTH, json_depth
from apps.programs.currency import MONEY_FIELDS as CURRENCY_MONEY_FIELDS
from apps.programs.models import (
    Dataset,
    GPUBudgetLine,
    GPUType,
    ModelPreset,
    Program,
    RoleTemplate,
    Scenario,
    TeamLine,
)

FORMAT = "llmplanner-scenario"
FORMAT_VERSION = 1
MAX_BYTES = 1_000_000
# Lines per list (GPU budget, team, data): a real plan has tens; each line costs a catalog lookup
# and a full_clean, so a 1 MB file of 20 000 lines would keep a web worker busy for seconds.
MAX_LINES = 1000
# The largest model a ladder step may name: the custom size's own bound (100,000B parameters).
MAX_MODEL_PARAMS = 100_000 * 10**9

# Document section → {document key: Scenario field}.
SCENARIO_TOP = {
    "name": "name",
    "description": "description",
    "strategy": "strategy",
    "start_date": "start_date",
    "full_runs": "full_runs",
    "contingency_pct": "contingency_pct",
    "ladder": "ladder",
}
SCENARIO_SECTIONS: dict[str, dict[str, str]] = {
    "chain": {
        "sft": "with_sft",
        "rlhf": "rlhf_method",
        "rag": "with_rag",
        "serving": "with_serving",
    },
    "model": {
        "preset": "model_preset",
        "params_b": "custom_params_b",
        "layers": "custom_layers",
        "hidden": "custom_hidden",
        "heads": "custom_heads",
        "ffn_hidden": "custom_ffn_hidden",
        "kv_heads": "custom_kv_heads",
        "vocab": "custom_vocab",
    },
    "training": {
        "tokens": "training_tokens",
        "precision": "precision",
        "seq_len": "seq_len",
        "global_batch_tokens": "global_batch_tokens",
    },
    "sft": {
        "samples": "sft_samples",
        "tokens_per_sample": "sft_tokens_per_sample",
        "epochs": "sft_epochs",
        "runs": "sft_runs",
        "cost_per_sample": "sft_cost_per_sample",
    },
    "rlhf": {"preference_pairs": "rlhf_preference_pairs"},
    "serving": {
        "requests_per_day": "serving_requests_per_day",
        "tokens_per_request": "serving_tokens_per_request",
        "months": "serving_months",
        "price_per_million_tokens": "serving_price_per_million_tokens",
    },
    "rag": {
        "corpus_tokens": "rag_corpus_tokens",
        "embedding_price_per_million_tokens": "rag_embedding_price_per_million_tokens",
        "vector_db_monthly": "rag_vector_db_monthly",
    },
}
LINE_FIELDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "gpu_budget": (
        GPUBudgetLine,
        (
            "purpose",
            "provider",
            "gpu_type",
            "gpu_count",
            "mode",
            "price_per_gpu_hour",
            "start_date",
            "months",
            "delivery_risk",
            "reliability_class",
            "checkpoint_storage_gbps",
        ),
    ),
    "team": (
        TeamLine,
        ("role", "headcount", "monthly_cost", "allocation_pct", "start_date", "end_date"),
    ),
    "data": (
        Dataset,
        (
            "name",
            "tokens",
            "language",
            "kind",
            "source",
            "licence",
            "quality",
            "cleaning",
            "cost",
            "stage",
            "ready_date",
        ),
    ),
}
PROGRAM_FIELDS = (
    "name",
    "goal",
    "deadline",
    "budget_cap",
    "currency",
    "usd_to_cny",
    "alert_threshold",
)
# Amounts converted when a document in one currency is imported into a program in the other:
# the amounts a currency switch converts (one list, ``apps.programs.currency.MONEY_FIELDS``).
MONEY_FIELDS = {
    "scenario": CURRENCY_MONEY_FIELDS[Scenario],
    "gpu_budget": CURRENCY_MONEY_FIELDS[GPUBudgetLine],
    "team": CURRENCY_MONEY_FIELDS[TeamLine],
    "data": CURRENCY_MONEY_FIELDS[Dataset],
}
LOOKUPS = {
    "model_preset": (ModelPreset, "key"),
    "gpu_type": (GPUType, "key"),
    "role": (RoleTemplate, "key"),
}


# --- writing -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A model value as a JSON/YAML scalar: Decimal → int or float, date → ISO string."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "key"):  # catalog rows are referenced by key
        return value.key
    return value


def _line_dict(line: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(line, name)) for name in names}


def scenario_document(scenario: Scenario) -> dict[str, Any]:
    """The scenario (and its program's context) as a format-1 document dict."""
    from apps.programs.plan_adapter import scenario_to_plan_dict

    program = scenario.program
    body: dict[str, Any] = {
        key: _plain(getattr(scenario, name)) for key, name in SCENARIO_TOP.items()
    }
    for section, names in SCENARIO_SECTIONS.items():
        values = {key: _plain(getattr(scenario, name)) for key, name in names.items()}
        if section == "model":  # only what defines the model, not empty custom fields
            values = {k: v for k, v in values.items() if v not in (None, "")}
        body[section] = values
    lines = {
        "gpu_budget": scenario.budget_lines.select_related("gpu_type"),
        "team": scenario.team_lines.select_related("role"),
        "data": scenario.datasets.all(),
    }
    for key, rows in lines.items():
        body[key] = [_line_dict(row, LINE_FIELDS[key][1]) for row in rows]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "program": {name: _plain(getattr(program, name)) for name in PROGRAM_FIELDS},
        "scenario": body,
        "plan": scenario_to_plan_dict(scenario),
    }


def document_dump(document: dict[str, Any], fmt: str) -> str:
    """Text of a document: ``json`` (2-space indent) or ``yaml`` (block style, keys in order)."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


# --- reading -------------------------------------------------------------------------------


@dataclass
class ParsedScenario:
    """A document's scenario as unsaved, validated instances (no ``program``/``scenario`` set)."""

    scenario: Scenario
    lines: dict[str, list[Any]]
    program: dict[str, Any]
    program_instance: Program | None = None
    converted_from: str | None = None


class DocumentError(Exception):
    """A file that is not a valid scenario document; ``errors`` are ``(path, line, message)``."""

    def __init__(self, errors: list[tuple[str, int | None, str]]) -> None:
        self.errors = errors
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = []
        for path, line, text in self.errors[:5]:
            where = _("line %(line)s, %(path)s") % {"line": line, "path": path} if line else path
            parts.append(f"{where}: {text}" if where else text)
        more = len(self.errors) - 5
        if more > 0:
            parts.append(_("and %(count)s more") % {"count": more})
        return "; ".join(parts)


# Nesting and alias limits: a scenario document nests about 6 levels (its ``plan``) and holds a
# few thousand values at most. PyYAML's composer and ``json.loads`` recurse per level (10 000
# levels raise RecursionError), and YAML aliases let 1 KB expand to a billion values ("billion
# laughs": nine anchors of nine aliases each), so both are measured before anything is built.
MAX_DEPTH = MAX_JSON_DEPTH
MAX_NODES = 200_000
# The biggest whole number the database stores (a signed 64-bit integer); every count and amount
# of a scenario is far below it, and beyond it float() and Decimal contexts start to overflow.
MAX_NUMBER = 2**63 - 1


class _TooDeep(Exception):
    def __init__(self, line: int | None) -> None:
        self.line = line


class _GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that stops composing past ``MAX_DEPTH`` levels (before the recursion
    reaches Python's limit)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(root: yaml.Node) -> int:
    """How many values the node graph becomes once aliases are expanded (an alias is the same
    node object as its anchor, so the graph is a DAG; sizes are memoized per node)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        children = (
            [v for pair in node.value for v in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children_done:
            sizes[id(node)] = min(1 + sum(sizes[id(c)] for c in children), MAX_NODES + 1)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _compose(text: str) -> yaml.Node | None:
    """The YAML node graph of ``text``, within the depth and expansion limits."""
    loader = _GuardedLoader(text)
    try:
        node = loader.get_single_node()
    except _TooDeep as exc:
        raise DocumentError(
            [("", exc.line, _("nested more than %(max)s levels deep") % {"max": MAX_DEPTH})]
        ) from exc
    finally:
        loader.dispose()
    if node is not None and _expanded_size(node) > MAX_NODES:
        raise DocumentError(
            [
                (
                    "",
                    None,
                    _("its aliases expand to more than %(max)s values") % {"max": f"{MAX_NODES:,}"},
                )
            ]
        )
    return node


def _load(text: str) -> Any:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise DocumentError([("", None, _("The file is larger than 1 MB."))])
    if text.lstrip().startswith(("{", "[")):
        if json_depth(text) > MAX_DEPTH:
            raise DocumentError(
                [("", None, _("nested more than %(max)s levels deep") % {"max": MAX_DEPTH})]
            )
        try:
            # NaN and Infinity are not JSON (RFC 8259 §6) but Python's parser takes them; they
            # come out as floats that _check_values names with their field.
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentError(
                [
                    (
                        "",
                        exc.lineno,
                        _("not valid JSON (column %(col)s): %(msg)s")
                        % {"col": exc.colno, "msg": exc.msg},
                    )
                ]
            ) from exc
    try:
        node = _compose(text)
        loader = _GuardedLoader("")
        try:
            return loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(
            [("", mark.line + 1 if mark else None, _("not valid YAML: %(msg)s") % {"msg": problem})]
        ) from exc
    except (ValueError, TypeError, OverflowError) as exc:
        # PyYAML's constructors call date() and friends unguarded: ``2027-02-30`` is a ValueError.
        raise DocumentError([("", None, _("not valid YAML: %(msg)s") % {"msg": exc})]) from exc


def _line_of(node: yaml.Node | None, path: str) -> int | None:
    """The 1-based line where ``path`` (``scenario.team.2.headcount``) is, best effort."""
    line = None
    for part in [p for p in path.split(".") if p]:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line = next(k for k, v in node.value if v is match).start_mark.line + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


class _Collector:
    def __init__(self, text: str) -> None:
        self.text = text
        self.errors: list[tuple[str, int | None, str]] = []
        self._node: yaml.Node | None | bool = False  # composed once, on the first error

    def add(self, path: str, message: str) -> None:
        if self._node is False:
            try:
                self._node = _compose(self.text)
            except (DocumentError, yaml.YAMLError, ValueError):
                self._node = None
        node = self._node if isinstance(self._node, yaml.Node) else None
        self.errors.append((_display_path(path), _line_of(node, path), message))

    def add_validation(self, prefix: str, exc: ValidationError, names: dict[str, str]) -> None:
        """Errors of ``full_clean`` on a model, named by the document's keys."""
        for model_field, messages in exc.message_dict.items():
            key = names.get(model_field, model_field)
            path = f"{prefix}.{key}" if key != "__all__" else prefix
            for message in messages:
                self.add(path, message)


def _display_path(path: str) -> str:
    """``scenario.team.2.headcount`` → ``scenario.team[2].headcount``."""
    out = ""
    for part in path.split("."):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _object(value: Any, path: str, errors: _Collector, allowed: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(path, _("must be a mapping of fields"))
        return {}
    for key in sorted(set(value) - allowed, key=str):
        errors.add(
            f"{path}.{key}",
            _("unknown field; allowed: %(fields)s") % {"fields": ", ".join(sorted(allowed))},
        )
    # Only known fields go on: an unknown one would reach a model constructor as a keyword.
    return {k: v for k, v in value.items() if k in allowed}


def _text_problem(value: str) -> str | None:
    """Why a string cannot be stored, or None. Postgres refuses NUL in text; a lone surrogate
    (from a ``\\ud800`` escape) has no UTF-8 encoding, so neither database can store it."""
    if "\x00" in value:
        return _("must not contain NUL characters")
    if any("\ud800" <= c <= "\udfff" for c in value):
        return _("is not valid Unicode text (it holds a lone surrogate)")
    return None


def _check_values(value: Any, path: str, errors: _Collector) -> None:
    """Name every value no field can take, whatever the field: NaN and infinities, numbers past
    the database's 64-bit integers, text that cannot be stored (walked without recursion)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, float) and not math.isfinite(item):
            word = "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
            errors.add(where, _("must be a finite number, not %(value)s") % {"value": word})
        elif isinstance(item, (int, float)) and abs(item) > MAX_NUMBER:
            errors.add(where, _("is too large (at most %(max)s)") % {"max": f"{MAX_NUMBER:,}"})
        elif isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                errors.add(where, problem)
        elif isinstance(item, dict):
            stack.extend((v, f"{where}.{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}.{i}") for i, v in enumerate(item))


def _check_types(
    model: type, values: dict[str, Any], prefix: str, names: dict[str, str], errors: _Collector
) -> dict[str, Any]:
    """Drop (and name) values of a type their model field would mishandle rather than refuse:
    a list in a text field becomes its repr, a number in a date field a TypeError, the string
    "NaN" in a float field passes its min/max validators (NaN compares false)."""
    out = dict(values)
    for name, value in values.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        problem = None
        if value is None:
            continue
        text_field = isinstance(field, (models.CharField, models.TextField))
        if not text_field and not isinstance(field, models.JSONField):
            # full_clean skips Django's "empty values" ("", [], {}) in a blank field, and save
            # then fails on them (a 500): make "" mean "not given" where the field may be empty
            # and name the rest.
            if isinstance(value, (list, dict)):
                errors.add(
                    f"{prefix}.{names.get(name, name)}",
                    _("must be a single value, not a list or a mapping"),
                )
                out.pop(name)
                continue
            if isinstance(value, str) and not value.strip():
                if field.null:
                    out[name] = None
                else:
                    errors.add(f"{prefix}.{names.get(name, name)}", _("must not be empty"))
                    out.pop(name)
                continue
        if text_field and not isinstance(value, str):
            problem = _("must be text")
        elif isinstance(field, models.DateField) and not isinstance(value, (str, dt.date)):
            problem = _("must be a date, YYYY-MM-DD")
        elif isinstance(field, models.FloatField) and not isinstance(value, bool):
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                number = 0.0  # not a number at all: the field's own message names it
            if not math.isfinite(number):
                problem = _("must be a finite number")
        if problem:
            errors.add(f"{prefix}.{names.get(name, name)}", problem)
            out.pop(name)
    return out


def _lookup(name: str, value: Any, path: str, errors: _Collector) -> Any:
    model, key_field = LOOKUPS[name]
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 100 or _text_problem(value):
        errors.add(path, _("must be a catalog key (text), e.g. h100-80gb"))
        return None
    row = model.objects.filter(**{key_field: value}).first()
    if row is None:
        known = ", ".join(model.objects.values_list(key_field, flat=True))
        errors.add(
            path,
            _("unknown %(what)s %(value)r; known: %(known)s")
            % {"what": key_field, "value": value, "known": known},
        )
    return row


def _decimals(model: type, values: dict[str, Any]) -> dict[str, Any]:
    """Floats for decimal fields as written (0.7, not 0.6999999999999999555910790149937)."""
    out = dict(values)
    for name, value in values.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if isinstance(field, models.DecimalField) and isinstance(value, float):
            out[name] = Decimal(repr(value))
    return out


def _convert(value: Any, rate: Decimal, into: str) -> Any:
    if value in (None, ""):
        return value
    try:
        amount = Decimal(str(value))
        converted = amount * rate if into == "CNY" else amount / rate
        return converted.quantize(Decimal("0.01"))
    except ArithmeticError:  # not a number, or too many digits for a context: full_clean names it
        return value


def document_parse(text: str, *, currency: str | None = None) -> ParsedScenario:
    """Parse and validate a document (JSON or YAML text) without touching the database.

    ``currency``: the target program's; amounts in the other currency are converted at the
    document's ``usd_to_cny``. Raises ``DocumentError`` listing the problems with their lines.
    """
    data = _load(text)
    errors = _Collector(text)
    if not isinstance(data, dict):
        raise DocumentError([("", None, _("The file must hold a mapping (a JSON object)."))])
    top = _object(data, "", errors, {"format", "format_version", "program", "scenario", "plan"})
    if top.get("format") != FORMAT:
        errors.add("format", _("must be %(format)s") % {"format": FORMAT})
    version = top.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        errors.add("format_version", _("must be a whole number"))
    elif version > FORMAT_VERSION:
        errors.add(
            "format_version",
            _("%(version)s is newer than this llmplanner reads (%(mine)s)")
            % {"version": version, "mine": FORMAT_VERSION},
        )
    if errors.errors:
        raise DocumentError(errors.errors)
    # The plan section is ignored on import (it is rebuilt from the rest), so not checked.
    _check_values({k: top.get(k) for k in ("program", "scenario")}, "", errors)
    body_lines = top.get("scenario") if isinstance(top.get("scenario"), dict) else {}
    for key in LINE_FIELDS:
        raw = body_lines.get(key)
        if isinstance(raw, list) and len(raw) > MAX_LINES:
            errors.add(f"scenario.{key}", _("at most %(max)s lines per list") % {"max": MAX_LINES})
    if errors.errors:
        raise DocumentError(errors.errors)

    program = dict(_object(top.get("program"), "program", errors, set(PROGRAM_FIELDS)))
    source_currency = program.get("currency") or currency or "CNY"
    if source_currency not in ("CNY", "USD"):
        errors.add("program.currency", _("must be CNY or USD"))
        source_currency = currency or "CNY"
    try:
        rate = Decimal(str(program.get("usd_to_cny", "7.2")))
        # The program's own bounds (Program.usd_to_cny); Infinity would convert every amount
        # to Infinity, and a tiny rate to more digits than a Decimal context holds.
        if not (rate.is_finite() and Decimal("0.01") <= rate <= Decimal(1000)):
            raise ArithmeticError
    except ArithmeticError:
        errors.add("program.usd_to_cny", _("must be a number from 0.01 to 1000"))
        rate = Decimal("7.2")
    program_instance = None
    if program:
        checked = _check_types(Program, program, "program", {}, errors)
        program_instance = Program(
            **{k: v for k, v in _decimals(Program, checked).items() if v is not None}
        )
        try:
            program_instance.full_clean(exclude=["organization", "created_by"])
        except ValidationError as exc:
            errors.add_validation("program", exc, {f: f for f in PROGRAM_FIELDS})
    target_currency = currency or source_currency
    convert = source_currency != target_currency

    body = _object(
        top.get("scenario"),
        "scenario",
        errors,
        set(SCENARIO_TOP) | set(SCENARIO_SECTIONS) | set(LINE_FIELDS),
    )
    if top.get("scenario") is None:
        errors.add("scenario", _("is required"))
    values: dict[str, Any] = {}
    names: dict[str, str] = {}  # Scenario field → document path
    for key, name in SCENARIO_TOP.items():
        if key in body:
            values[name] = body[key]
        names[name] = key
    for section, fields_ in SCENARIO_SECTIONS.items():
        sec = _object(body.get(section), f"scenario.{section}", errors, set(fields_))
        for key, name in fields_.items():
            if key in sec:
                values[name] = sec[key]
            names[name] = f"{section}.{key}"
    if "ladder" in values and values["ladder"] is not None:
        ladder = values["ladder"]
        if not isinstance(ladder, list) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x <= MAX_MODEL_PARAMS
            for x in ladder
        ):
            errors.add("scenario.ladder", _("must be a list of model sizes in parameters"))
        else:
            values["ladder"] = [int(x) for x in ladder]
    if "model_preset" in values:
        values["model_preset"] = _lookup(
            "model_preset", values["model_preset"], "scenario.model.preset", errors
        )
    if convert:
        for name in MONEY_FIELDS["scenario"]:
            if name in values:
                values[name] = _convert(values[name], rate, target_currency)
    values = _decimals(Scenario, _check_types(Scenario, values, "scenario", names, errors))
    scenario = Scenario(**{k: v for k, v in values.items() if v is not None or k == "ladder"})
    try:
        scenario.full_clean(exclude=["program", "created_by"])
    except ValidationError as exc:
        errors.add_validation("scenario", exc, names)

    lines: dict[str, list[Any]] = {}
    for key, (model, line_fields) in LINE_FIELDS.items():
        raw = body.get(key) or []
        lines[key] = []
        if not isinstance(raw, list):
            errors.add(f"scenario.{key}", _("must be a list"))
            continue
        for i, item in enumerate(raw):
            path = f"scenario.{key}.{i}"
            row = dict(_object(item, path, errors, set(line_fields)))
            missing = []
            for name in ("gpu_type", "role"):
                if name in line_fields:
                    if row.get(name) in (None, ""):
                        errors.add(f"{path}.{name}", _("is required"))
                        row[name] = None
                    else:
                        row[name] = _lookup(name, row[name], f"{path}.{name}", errors)
                    if row[name] is None:
                        row.pop(name)
                        missing.append(name)
            if convert:
                for name in MONEY_FIELDS[key]:
                    if name in row:
                        row[name] = _convert(row[name], rate, target_currency)
            row = _decimals(model, _check_types(model, row, path, {}, errors))
            instance = model(
                **{
                    k: v
                    for k, v in row.items()
                    if v is not None
                    or k in ("price_per_gpu_hour", "monthly_cost", "start_date", "end_date")
                }
            )
            instance.scenario = scenario
            try:
                instance.full_clean(exclude=["scenario", *missing])
            except ValidationError as exc:
                errors.add_validation(path, exc, {f: f for f in line_fields})
            lines[key].append(instance)
    if errors.errors:
        raise DocumentError(errors.errors)
    return ParsedScenario(
        scenario=scenario,
        lines=lines,
        program=program,
        program_instance=program_instance,
        converted_from=source_currency if convert else None,
    )


def program_from_document(parsed: ParsedScenario) -> Program:
    """An unsaved, validated Program from a document's ``program`` section (for templates)."""
    if parsed.program_instance is None:
        raise DocumentError([("program", None, _("is required"))])
    return parsed.program_instance
