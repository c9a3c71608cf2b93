"""The "assumptions and sources" section: every default number the plan leans on, with its
citation. Values are read from the simulation core's constants (never copied), so the document
says what the core actually used; the sources are those the core's comments and docstrings give.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from django.utils.translation import gettext as _

from apps.programs.catalogs import ROLE_TEMPLATES
from llmplanner.simulation.calibrate import load_rows
from llmplanner.simulation.perf import FITTED
from llmplanner.simulation.planspec import (
    DEFAULT_MONTHLY_CNY,
    plan_main_pool,
)
from llmplanner.simulation.program import DAYS_PER_MONTH
from llmplanner.simulation.reliability import DEFAULT_RATES, PROVIDER_CLASSES, RELIABILITY_CLASSES


@cache
def benchmark_rows() -> int:
    """The published benchmark rows the step-time parameters are fitted to (read once, on first
    use rather than at start-up)."""
    return sum(1 for r in load_rows() if r.get("category") == "throughput_benchmark")


KOKOLIS = "Kokolis et al. 2024 (Meta RSC); OPT-175B and BLOOM-176B logbooks"


def role_names() -> dict[str, str]:
    """The core's role keys by their template names, in the active language."""
    return {key: _(name) for key, name, core, *_rest in ROLE_TEMPLATES if key == core}


def _salary_sources() -> dict[str, str]:
    return {key: source for key, _n, core, _c, _h, _g, source in ROLE_TEMPLATES if key == core}


def _plan_currency(inputs: dict[str, Any]) -> dict[str, Any]:
    """The plan's currency and rate from its inputs (a report carries them in ``plan`` too)."""
    return {k: inputs[k] for k in ("currency", "usd_to_cny") if k in inputs}


def _salary(monthly_cny: float, plan: dict[str, Any]) -> str:
    """A seed-004 salary (CNY per month) in the plan's currency, as the core costs it: a USD plan
    divides by its ``usd_to_cny`` (``planspec._parse_team``), shown in whole dollars with the
    CNY figure it comes from."""
    if plan.get("currency") != "USD":
        return _("¥%(amount)s per month") % {"amount": f"{monthly_cny:,}"}
    try:
        rate = float(plan.get("usd_to_cny") or 0)
    except (TypeError, ValueError):
        rate = 0.0
    if not (math.isfinite(rate) and rate > 0):
        return _("¥%(amount)s per month") % {"amount": f"{monthly_cny:,}"}
    usd = Decimal(str(monthly_cny / rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return _("$%(amount)s per month (¥%(cny)s at 1 USD = %(rate)s CNY)") % {
        "amount": f"{usd:,}",
        "cny": f"{monthly_cny:,}",
        "rate": f"{rate:g}",
    }


def assumption_rows(inputs: dict[str, Any], report: dict[str, Any]) -> list[dict[str, str]]:
    """Rows of ``{"topic", "value", "source"}``: the defaults, then each rule the checks and the
    risk register applied (deduplicated)."""
    cluster = plan_main_pool(inputs)
    reliability = str(cluster.get("reliability_class") or "standard")
    provider = str(cluster.get("provider_class") or "standard")
    multiplier, restart_min = RELIABILITY_CLASSES.get(reliability, RELIABILITY_CLASSES["standard"])
    late_p, late_days = PROVIDER_CLASSES.get(provider, PROVIDER_CLASSES["standard"])
    goodput = ((report.get("main_run") or {}).get("goodput")) or {}
    names = role_names()
    sources = _salary_sources()
    plan = {**_plan_currency(inputs), **(report.get("plan") or {})}
    rows = [
        {
            "topic": _("Monte Carlo"),
            "value": _("%(trials)s trials, seed %(seed)s")
            % {"trials": report.get("trials"), "seed": report.get("seed")},
            "source": _("planning assumption: P10/P50/P90 over the trials"),
        },
        {
            "topic": _("Month length"),
            "value": _("%(days).2f days") % {"days": DAYS_PER_MONTH},
            "source": _("365.25 / 12"),
        },
        {
            "topic": _("Contingency"),
            "value": f"{float(inputs.get('contingency') or 0) * 100:.0f}%",
            "source": _("the scenario's input"),
        },
        {
            "topic": _("Failure rates of a training job"),
            "value": _(
                "GPU %(gpu)s per 1000 GPU-days; host %(host)s and network %(net)s per 1000 "
                "node-days; software %(sw)s per day"
            )
            % {
                "gpu": DEFAULT_RATES.gpu_per_1000_gpu_days,
                "host": DEFAULT_RATES.host_per_1000_node_days,
                "net": DEFAULT_RATES.network_per_1000_node_days,
                # Software and infrastructure grow with the job (per 1000 node-days) plus a
                # small per-job rate; the string's "per day" ends the sentence.
                "sw": f"{DEFAULT_RATES.software_per_1000_node_days:g} / 1000 node-days + "
                f"{DEFAULT_RATES.software_per_day:g}",
            },
            "source": KOKOLIS,
        },
        {
            "topic": _("Cluster reliability class"),
            "value": _("%(cls)s: failure rate × %(mult)s, restart %(minutes).0f min")
            % {"cls": reliability, "mult": multiplier, "minutes": restart_min},
            "source": _("Dubey et al. 2024 (Llama 3, §3.3.4); %(k)s; OneMoreAI 2023; Yi Tay 2024")
            % {"k": KOKOLIS},
        },
        {
            "topic": _("Provider delivery"),
            "value": _("%(cls)s: late with probability %(p).0f%%, median delay %(days).0f days")
            % {"cls": provider, "p": late_p * 100, "days": late_days},
            "source": _("Yi Tay 2024: providers delivering months late"),
        },
        {
            "topic": _("Checkpoint interval"),
            "value": _("%(minutes).0f min (Young/Daly optimum)")
            % {"minutes": goodput.get("checkpoint_interval_min") or 0}
            if goodput
            else "—",
            "source": _("Young 1974; Daly 2006: √(2 × save time × MTBF)"),
        },
        _storage_row(report),
        {
            "topic": _("Compute-optimal data"),
            "value": _("20 tokens per parameter"),
            "source": "Hoffmann et al. 2022 (Chinchilla)",
        },
        {
            "topic": _("Step time and MFU"),
            "value": _("%(n)s efficiency parameters fitted globally to %(rows)s published runs")
            % {"n": len(FITTED), "rows": benchmark_rows()},
            "source": "Narayanan et al. 2021 (Megatron-LM); MosaicML llm-foundry; NVIDIA NeMo",
        },
        {
            "topic": _("Memory per GPU"),
            "value": _("activations, recompute, parallelism; 2 + 2 + 12 bytes per parameter"),
            "source": "Korthikanti et al. 2022; Rajbhandari et al. 2020 (ZeRO)",
        },
    ]
    for role, monthly in DEFAULT_MONTHLY_CNY.items():
        rows.append(
            {
                "topic": _("Salary: %(role)s") % {"role": names.get(role, role)},
                "value": _salary(monthly, plan),
                "source": sources.get(role, "vertical-LLM survey 2023"),
            }
        )
    seen = set()
    for item in [*report.get("data_checks", []), *report.get("risks", [])]:
        rule = str(item.get("rule") or item.get("title") or "")
        source = str(item.get("source") or "")
        if not source or (rule, source) in seen:
            continue
        seen.add((rule, source))
        rows.append({"topic": _("Rule"), "value": rule, "source": source})
    return rows


def _storage_row(report: dict[str, Any]) -> dict[str, str]:
    """The storage policy the run priced (older reports: the core's default policy)."""
    policy = (report.get("storage") or {}).get("policy") or {}
    currency = str((report.get("plan") or {}).get("currency") or "USD")
    if policy:
        kept, hot, cold = (
            policy["keep_last"],
            policy["price_per_tb_month"],
            policy["archive_price_per_tb_month"],
        )
    else:
        # A report of core 0.1 (no "storage"): it priced 5 checkpoints at $20 per TB-month for
        # the main run only; say so rather than today's policy.
        return {
            "topic": _("Storage"),
            "value": _("%(kept)s checkpoints kept during the main run, $%(price).0f per TB-month")
            % {"kept": 5, "price": 20},
            "source": _("2024 list prices of parallel file systems and object stores"),
        }
    return {
        "topic": _("Storage"),
        "value": _(
            "last %(kept)s checkpoints on fast storage (%(hot)s %(currency)s per TB-month) while "
            "the main run writes them; a checkpoint at 25/50/75/100%% of the main run and each "
            "ladder rung, fine-tuned weights and raw datasets archived (%(cold)s %(currency)s per "
            "TB-month), tokenised data on fast storage, all to the program's end"
        )
        % {"kept": kept, "hot": f"{hot:,.0f}", "cold": f"{cold:,.0f}", "currency": currency},
        "source": _(
            "2024 list prices: AWS FSx for Lustre ≈ $0.14, S3 Standard ≈ $0.023 per GB-month"
        ),
    }
