"""The core's report in the active language, for the pages and the PDF (never the API).

The simulation core writes each sentence in English and, beside it, the template and parameters
it was built from (``llmplanner.simulation.text``): ``title``, ``title_template``,
``title_params``. ``localize_report`` returns a copy of a report whose sentences are
``gettext(template) % params``, each parameter rendered the same way: nested text translated, a
role by its role template's name, a pool's purpose by its label, a list joined as the language
joins one. Whenever that cannot be done — a template the catalog does not translate (so English
pages show the core's own text), parameters the translation does not fit, a malformed row — the
sentence is the core's English, never an error. A report stored before the core wrote templates
keeps its English, except the sentences that are a template without parameters (stage and gate
names, rules), translated by their text.

Codes stay codes: stage keys, streams and levels keep their values and get ``stream_label`` and
``level_label`` beside them. A risk's ``owner`` becomes its role's name (the key moves to
``owner_key``; ``owner_label`` holds the name too) and ``likelihood_from`` its translated word
(the key in ``likelihood_from_key``). The template keys stay in the copy, so localizing twice
gives the same copy.

``CORE_TEMPLATES`` lists every template the core can write, for ``makemessages`` (which does not
read the core); ``tests/runs/test_report_text.py`` fails when the core writes one missing here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.utils.translation import gettext, gettext_noop, pgettext

from apps.reports.assumptions import role_names
from apps.runs.report_tables import purpose_label
from llmplanner.simulation.text import render

# Which sentences of which rows are translated (the rows are lists of dicts in the report).
TEXT_FIELDS = {
    "stages": ("name", "note"),
    "milestones": ("name", "criterion"),
    "risks": ("title", "mitigation", "source"),
    "data_checks": ("message", "rule", "source"),
}

CORE_TEMPLATES = [
    # program.py
    gettext_noop("Cluster reserved: %(pool)s"),
    gettext_noop("paid from delivery to the end of the main run, idle time included"),
    gettext_noop("GPUs booked: %(pool)s"),
    gettext_noop("1 month booked (%(purpose)s), paid used or idle"),
    gettext_noop("%(months)s months booked (%(purpose)s), paid used or idle"),
    gettext_noop("Team"),
    gettext_noop("Storage"),
    gettext_noop("Data preparation"),
    gettext_noop("Data mix build"),
    gettext_noop("Infrastructure burn-in"),
    gettext_noop("Scaling ladder: %(size)s"),
    gettext_noop("%(tokens)s tokens on 1 GPU, MFU %(mfu)s"),
    gettext_noop("%(tokens)s tokens on %(gpus)s GPUs, MFU %(mfu)s"),
    gettext_noop("Main pretraining × %(runs)s runs"),
    gettext_noop("Main pretraining"),
    gettext_noop("Continued pretraining × %(runs)s runs"),
    gettext_noop("Continued pretraining"),
    gettext_noop("%(layout)s, MFU %(mfu)s"),
    gettext_noop("Instruction data"),
    gettext_noop("SFT (1 run)"),
    gettext_noop("SFT (%(runs)s runs)"),
    gettext_noop("%(tokens)s tokens per run"),
    gettext_noop("%(tokens)s tokens"),
    gettext_noop("Preference data"),
    gettext_noop(
        "actor, critic, reference and reward model: %(gib)s GiB per GPU on %(gpus)s GPUs; "
        "%(iterations)s iterations of %(batch)s prompts, %(share)s of each generating"
    ),
    gettext_noop("RLHF (PPO)"),
    gettext_noop("Preference tuning (DPO)"),
    gettext_noop("Corpus ingest and embedding"),
    gettext_noop("Vector index"),
    gettext_noop("Retrieval evaluation"),
    gettext_noop("Prompt library"),
    gettext_noop("Evaluation"),
    gettext_noop("Release"),
    gettext_noop("Serving"),
    # risks.py
    gettext_noop(
        "Muennighoff et al. 2023: up to ~4 epochs of repeated data are nearly as good as fresh data"
    ),
    gettext_noop("No pretraining data in the inventory for %(tokens)s tokens of training."),
    gettext_noop(
        "No continued-pretraining data in the inventory for %(tokens)s tokens of training."
    ),
    gettext_noop("every training token needs a source"),
    gettext_noop("OneMoreAI 2023: data is the first of the three work streams"),
    gettext_noop("%(tokens)s training tokens from %(available)s available: 1 epoch."),
    gettext_noop("%(tokens)s training tokens from %(available)s available: %(epochs)s epochs."),
    gettext_noop("at most ~4 epochs"),
    gettext_noop("%(ratio)s tokens per parameter (%(tokens)s tokens for %(params)s parameters)."),
    gettext_noop("≥ 20 tokens per parameter"),
    gettext_noop("Hoffmann et al. 2022 (Chinchilla): compute-optimal D ≈ 20·N"),
    gettext_noop("%(tokens)s tokens is below what current base models are trained on."),
    gettext_noop("from-scratch base models start at ~2T tokens"),
    gettext_noop("Huang Wenhao 2023: base models start at ~2T tokens, some 3–4T"),
    gettext_noop("Domain share of the CPT mix is %(share)s."),
    gettext_noop(
        "domain ≤ 15%% in continued pretraining (every 100B domain tokens need 700–1000B general)"
    ),
    gettext_noop("vertical-LLM survey 2023"),
    gettext_noop("Domain share of pretraining is %(share)s."),
    gettext_noop("a 1:1 general:domain pretraining mix (BloombergGPT) is a known mistake"),
    gettext_noop("SFT data is %(share)s domain."),
    gettext_noop("SFT tolerates about 1:1 domain:general"),
    gettext_noop("%(share)s of tokens have cleared licences; not cleared: %(names)s."),
    gettext_noop("%(share)s of tokens have cleared licences."),
    gettext_noop("review every dataset's licence"),
    gettext_noop("OneMoreAI 2023; vertical-LLM survey 2023: data work needs licence review"),
    gettext_noop("%(share)s of tokens are Chinese, mostly from the web."),
    gettext_noop(
        "Chinese web quality is poor; knowledge-dense Chinese sources (papers, Q&A, code) are "
        "scarce — ~10%% of English"
    ),
    gettext_noop("OneMoreAI 2023"),
    gettext_noop("Still raw: %(names)s (cleaning is part of the data stage)."),
    gettext_noop("clean and deduplicate before training"),
    gettext_noop("OneMoreAI 2023: 45 TB raw → < 1 TB clean"),
    gettext_noop(
        "all training data cleaned and deduplicated; licence review of every dataset done (all "
        "cleared)"
    ),
    gettext_noop(
        "all training data cleaned and deduplicated; licence review of every dataset done (1 "
        "dataset not yet cleared)"
    ),
    gettext_noop(
        "all training data cleaned and deduplicated; licence review of every dataset done "
        "(%(count)s datasets not yet cleared)"
    ),
    gettext_noop("Data ready"),
    gettext_noop("Instruction data ready"),
    gettext_noop("%(samples)s instructions reviewed; domain:general ≈ 1:1"),
    gettext_noop("Burn-in passed"),
    gettext_noop(
        "restore-from-checkpoint drill passed; all-reduce bus bandwidth ≥ 80%% of line rate; a "
        "one-hour run reaches ≥ 90%% of the planned %(mfu)s MFU"
    ),
    gettext_noop(
        "final loss within 2%% of the scaling law's %(loss)s (Chinchilla fit; refit on the ladder)"
    ),
    gettext_noop("Main run %(share)s of tokens"),
    gettext_noop(
        "loss at most %(loss)s per the fitted scaling law (+3%%); no unrecovered divergence"
    ),
    gettext_noop("SFT done"),
    gettext_noop("instruction-following win-rate ≥ 60%% against the base model on a held-out set"),
    gettext_noop("Preference tuning done"),
    gettext_noop(
        "held-out win-rate up; no reward hacking (length or format exploits) found in review"
    ),
    gettext_noop("Retrieval evaluated"),
    gettext_noop("recall@10 ≥ 0.8 on the domain question set; answers cite their sources"),
    gettext_noop("Evaluation passed"),
    gettext_noop(
        "no general benchmark more than 2 points below the base; domain evaluation at target (a "
        "weak evaluation wastes GPU time)"
    ),
    gettext_noop("safety review and sign-off"),
    gettext_noop("Serving live"),
    gettext_noop("P95 latency and cost per 1,000 requests within plan after the first week"),
    gettext_noop("FP8 (tensor-wise scaling) diverges late in a long run"),
    gettext_noop(
        "compare with a BF16 reference run for the first tokens and at every gate; keep attention "
        "and norms in BF16; Smooth-SwiGLU or BF16 for the MLP outliers; fall back to BF16 on a "
        "spike"
    ),
    gettext_noop(
        "Fishman et al. 2024, 'Scaling FP8 training to trillion-token LLMs': instabilities appear "
        "only after ~200B tokens (SwiGLU outlier amplification)"
    ),
    gettext_noop("Block-wise FP8: accumulation and scaling errors"),
    gettext_noop(
        "promote partial sums to FP32 (every 128 elements), keep the BF16 reference run, keep "
        "embeddings, head, attention and norms in BF16"
    ),
    gettext_noop(
        "DeepSeek-V3 report §3.3 (2024): 1×128/128×128 scaling kept the loss within 0.25%% of BF16 "
        "over ~1T tokens of validation runs"
    ),
    gettext_noop("MXFP8: power-of-two block scales lose range"),
    gettext_noop(
        "round scales up (not down) when converting to E8M0, keep the BF16 reference run, keep "
        "attention and norms in BF16"
    ),
    gettext_noop(
        "NVIDIA, 'Recipes for pre-training LLMs with MXFP8' (Mishra et al., 2025) — matched BF16 "
        "with its scale-rounding recipe; citation details not verified here"
    ),
    gettext_noop("NVFP4: 4-bit training is young; loss gap and divergence"),
    gettext_noop(
        "follow the published recipe (random Hadamard transforms on weight-gradient inputs, 2D "
        "weight scaling, stochastic rounding of gradients, the last blocks in BF16) and switch to "
        "BF16 for the final tokens if the gap grows"
    ),
    gettext_noop(
        "NVIDIA, 'Pretraining Large Language Models with NVFP4' (2025): a 12B model on 10T tokens "
        "tracked FP8's loss with that recipe; larger models unpublished"
    ),
    gettext_noop("MXFP4: no published large pre-training run"),
    gettext_noop(
        "trial on a small model first; keep a BF16 fallback; prefer NVFP4-style finer scales"
    ),
    gettext_noop(
        "OCP MX specification v1.0 (2023); the NVFP4 paper (2025) reports MXFP4 needing more "
        "tokens to match NVFP4's loss — treat as unproven for pre-training"
    ),
    gettext_noop("Deadline missed"),
    gettext_noop("cut scope (fewer ladder steps or runs), add GPUs early, fix dates of gates now"),
    gettext_noop("program Monte Carlo"),
    gettext_noop("Budget overrun"),
    gettext_noop(
        "negotiate volume discounts (~50%% off, OneMoreAI 2023), buy instead of rent for long "
        "programs, stop a failing run at its gate"
    ),
    gettext_noop("%(stage)s does not fit in GPU memory (short by %(gib)s GiB)"),
    gettext_noop("more or larger GPUs, ZeRO-3 or offload, recomputation, or a smaller model"),
    gettext_noop("memory model: ZeRO (Rajbhandari 2020), activations (Korthikanti 2022)"),
    gettext_noop("Failures cost more than 10%% of the main run"),
    gettext_noop(
        "automated restart, hot spares, health checks every few minutes, checkpoint at the "
        "Young/Daly interval (%(minutes)s min)"
    ),
    gettext_noop("OneMoreAI 2023; Yi Tay 2024; Kokolis et al. 2024"),
    gettext_noop("More than %(count)s interruptions a day (on-call load)"),
    gettext_noop("automate detection and restart; rotate on-call; keep spare nodes warm"),
    gettext_noop(
        "OneMoreAI 2023: with thousands of GPUs a card fails almost daily; Kokolis et al. 2024"
    ),
    gettext_noop("Checkpoint saves take %(minutes)s min"),
    gettext_noop(
        "sharded asynchronous checkpoints to a parallel file system; keep a copy off the provider "
        "(Yi Tay 2024: a provider deleted checkpoints)"
    ),
    gettext_noop("OneMoreAI 2023: 2–3 TB, over ten minutes on poor storage"),
    gettext_noop("Loss spikes and rollbacks (FP16)"),
    gettext_noop("Loss spikes and rollbacks"),
    gettext_noop(
        "train in BF16; a run watcher decides rollbacks; skip bad data (OneMoreAI 2023: one "
        "10k-character sample of slashes broke a run)"
    ),
    gettext_noop(
        "a run watcher decides rollbacks; skip bad data (OneMoreAI 2023: one 10k-character sample "
        "of slashes broke a run)"
    ),
    gettext_noop("OneMoreAI 2023; vertical-LLM survey 2023: BF16 is more stable than FP16"),
    gettext_noop("Cluster delivered late or below spec (hardware lottery)"),
    gettext_noop(
        "acceptance burn-in in the contract, a second provider, start data work meanwhile"
    ),
    gettext_noop("Yi Tay 2024: providers delivering months late"),
    gettext_noop("%(gpu)s: NVLink cut to 400 GB/s"),
    gettext_noop("keep tensor parallelism ≤ 4, favour pipeline/ZeRO, overlap communication"),
    gettext_noop("OneMoreAI 2023: A800 = A100 with NVLink 600 → 400 GB/s"),
    gettext_noop("FP16 run with no run watcher"),
    gettext_noop("staff a run watcher (algorithm and engineering skills) around the clock"),
    gettext_noop("OneMoreAI 2023: FP16 needed a human 'crash watcher' to restart"),
    gettext_noop("Domain share above 15%% in CPT"),
    gettext_noop("lower the domain share to 10–15%% with general replay data"),
    gettext_noop("1:1 general:domain pretraining"),
    gettext_noop("pretrain on general data; add the domain in CPT/SFT"),
    gettext_noop("Too few tokens for the model size"),
    gettext_noop("train a smaller model on the same tokens, or get more data"),
    gettext_noop("Too many epochs over the data"),
    gettext_noop("collect more data or train fewer tokens"),
    gettext_noop("Unknown or restricted data licences"),
    gettext_noop("licence review of every dataset"),
    gettext_noop("Scarce knowledge-dense Chinese data"),
    gettext_noop("buy or license papers, Q&A and books; translate; filter web harder"),
    gettext_noop("No data inventory for the training run"),
    gettext_noop("list every source with tokens and licence"),
    gettext_noop("%(rule)s (%(source)s)"),
    gettext_noop("Algorithm team larger than ten"),
    gettext_noop("a few ideas directing large resources; don't split compute between sub-teams"),
    gettext_noop("OneMoreAI 2023; Huang Wenhao 2023: lean beats large"),
    gettext_noop("No distributed-training engineer past 3B parameters"),
    gettext_noop("hire or contract 4–5 distributed-training engineers"),
    gettext_noop("OneMoreAI 2023: model parallelism is where teams hit a wall from ~3B"),
    gettext_noop("Nobody watches the run and decides rollbacks"),
    gettext_noop("name a run watcher with algorithm and engineering skills"),
    gettext_noop("OneMoreAI 2023; vertical-LLM survey 2023"),
    gettext_noop("Reward hacking"),
    gettext_noop("held-out human review; KL and length penalties; prefer DPO when PPO is unstable"),
    gettext_noop("Weak evaluation wastes GPUs"),
    gettext_noop("build the evaluation set before training; evaluate every ladder step and gate"),
    gettext_noop("vertical-LLM survey 2023: bad evaluation wastes GPUs"),
    gettext_noop("Over-fitting to the domain"),
    gettext_noop("mix general data back in; fewer epochs; test out-of-domain"),
    gettext_noop("1 month"),
    gettext_noop("%(count)s months"),
    gettext_noop("%(pool)s booked for %(months)s (%(purpose)s) but no stage runs on it"),
    gettext_noop(
        "cancel the booking, or give it a purpose a stage uses (a second pool of one purpose stays "
        "idle: stages use the largest)"
    ),
    gettext_noop("the entered booking against the plan's stages"),
    gettext_noop(
        "%(stages)s outrun the %(pool)s booking of %(months)s; the rental is extended at the same "
        "price"
    ),
    gettext_noop(
        "book the pool longer or start it later, or confirm the provider can extend (capacity is "
        "often resold at the end of a booking)"
    ),
    gettext_noop("program Monte Carlo over the entered booking window"),
    gettext_noop("%(count)s × %(role)s, %(months)s months"),
    gettext_noop("1 person paid after the program's P90 finish (up to %(months)s months)"),
    gettext_noop("%(people)s people paid after the program's P90 finish (up to %(months)s months)"),
    gettext_noop(
        "end those lines with the program, or plan the next program for those months (%(who)s)"
    ),
    gettext_noop("team dates as entered against the program Monte Carlo"),
    gettext_noop("%(stage)s starts after every %(roles)s has left"),
    gettext_noop("%(stage)s starts before any %(roles)s joins (1 day early)"),
    gettext_noop("%(stage)s starts before any %(roles)s joins (%(days)s days early)"),
    gettext_noop("move the hire earlier, extend the contract, or start the stage later"),
    gettext_noop("team dates as entered against the stage's P50 start"),
    # search.py
    gettext_noop("compute"),
    gettext_noop("pipeline bubble"),
    gettext_noop("TP communication"),
    gettext_noop("CP communication"),
    gettext_noop("PP communication"),
    gettext_noop("DP/FSDP communication"),
    gettext_noop("EP all-to-all"),
    gettext_noop("optimizer step"),
    gettext_noop("fixed overhead"),
    gettext_noop(
        "%(share)s of each step is %(dominant)s; the largest overhead is %(worst)s "
        "(%(worst_share)s). Its %(groups)s groups span %(span)s GPUs, more than one "
        "%(per_server)s-GPU server, inside the %(domain)s-GPU %(link)s domain: their collectives "
        "run on %(link)s."
    ),
    gettext_noop(
        "%(share)s of each step is %(dominant)s; the largest overhead is %(worst)s "
        "(%(worst_share)s). Its %(groups)s groups span %(span)s GPUs, more than the %(domain)s-GPU "
        "%(link)s domain: the part beyond it runs on the scale-out network."
    ),
    gettext_noop(
        "%(share)s of each step is %(dominant)s; the largest overhead is %(worst)s "
        "(%(worst_share)s)."
    ),
    # forecast.py
    gettext_noop(
        "Throughput %(share)s of plan since %(date)s (%(days)s days observed, weighing "
        "%(weight)s against the model's prior)"
    ),
    gettext_noop("Interruptions: %(seen)s a day observed, %(plan)s planned; forecast %(post)s"),
    gettext_noop("Loss spikes: %(seen)s observed, forecast %(post)s a day"),
    gettext_noop("Reported MFU %(seen)s against %(plan)s planned"),
    gettext_noop("The main run has not started: its dates are the plan's"),
    gettext_noop(
        "The main run has not been reported; a stage after it has started, so it is taken as "
        "finished by then"
    ),
    gettext_noop("%(stage)s: not started on %(date)s"),
    gettext_noop("%(stage)s: done in %(days)s days (planned %(planned)s)"),
    gettext_noop("%(stage)s: %(share)s done after %(days)s days (planned %(planned)s days in all)"),
    gettext_noop("%(stage)s: started %(days)s days ago, no progress reported"),
]


@cache
def _constant_templates() -> dict[str, str]:
    """English text → template, for the templates without parameters (an older report)."""
    out = {}
    for template in CORE_TEMPLATES:
        try:
            out[template % {}] = template
        except (KeyError, ValueError, TypeError):
            continue  # it has parameters
    return out


def _stream_label(stream: str) -> str:
    return {
        "data": gettext("data"),
        "algorithm": gettext("algorithm"),
        "engineering": gettext("engineering"),
        "operations": gettext("operations"),
    }.get(stream, stream)


def _level_label(level: str) -> str:
    return {
        "ok": gettext("ok"),
        "info": gettext("info"),
        "warning": gettext("warning"),
        "error": gettext("error"),
    }.get(level, level)


def _likelihood_from_label(source: str) -> str:
    return {"monte carlo": gettext("Monte Carlo"), "rule": gettext("rule")}.get(source, source)


def _join(parts: list[str], join: str) -> str:
    if join == "semicolon":
        return pgettext("between items of a list", "; ").join(parts)
    comma = pgettext("between items of a list", ", ")
    if join == "or" and len(parts) > 1:
        return (
            comma.join(parts[:-1]) + pgettext("before the last item of a list", " or ") + parts[-1]
        )
    return comma.join(parts)


def _param(value: Any, roles: dict[str, str]) -> str:
    """One parameter in the active language (as the core's ``text.param_text`` in English)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        raise TypeError(value)
    if "template" in value:
        params = value.get("params") or {}
        return _sentence(value["template"], params, render(value["template"], params), roles)
    if "role" in value:
        return roles.get(value["role"], str(value["role"]))
    if "purpose" in value:
        return purpose_label(str(value["purpose"]))
    return _join([_param(v, roles) for v in value["items"]], str(value.get("join", "list")))


def _sentence(template: Any, params: Any, english: str, roles: dict[str, str]) -> str:
    """``gettext(template) % params`` in the active language, or ``english``."""
    if not isinstance(template, str) or not template or not isinstance(params, dict):
        return english
    translated = gettext(template)
    if translated == template:
        return english  # not in the catalog (or an English page): the core's own text
    try:
        return translated % {key: _param(value, roles) for key, value in params.items()}
    except (KeyError, ValueError, TypeError, IndexError, AttributeError):
        return english


def _localize_text(row: dict[str, Any], name: str, roles: dict[str, str]) -> None:
    english = row.get(name)
    if not isinstance(english, str):
        return
    template = row.get(f"{name}_template")
    if template is None:  # a report stored before the core wrote templates
        template = _constant_templates().get(english)
        params: Any = {}
    else:
        params = row.get(f"{name}_params")
    row[name] = _sentence(template, params, english, roles)


def localize_report(report: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``report`` with its sentences in the active language (module docstring);
    ``report`` itself is left as stored (the rows that change are copied, the rest shared)."""
    out = dict(report)
    roles = role_names()
    for section, names in TEXT_FIELDS.items():
        rows = out.get(section)
        if not isinstance(rows, list):
            continue
        out[section] = rows = [dict(row) if isinstance(row, dict) else row for row in rows]
        for row in rows:
            if not isinstance(row, dict):
                continue
            for name in names:
                _localize_text(row, name, roles)
            if section in ("stages", "milestones") and isinstance(row.get("stream"), str):
                row["stream_label"] = _stream_label(row["stream"])
            if section == "data_checks" and isinstance(row.get("level"), str):
                row["level_label"] = _level_label(row["level"])
            if section == "risks":
                owner = row.get("owner_key", row.get("owner"))
                source = row.get("likelihood_from_key", row.get("likelihood_from"))
                if isinstance(owner, str):
                    row["owner_key"] = owner
                    row["owner"] = row["owner_label"] = roles.get(owner, owner)
                if isinstance(source, str):
                    row["likelihood_from_key"] = source
                    row["likelihood_from"] = _likelihood_from_label(source)
    if isinstance(out.get("main_run"), dict):
        out["main_run"] = main = dict(out["main_run"])
        _localize_text(main, "explanation", roles)
    return out


def localize_texts(rows: list[Any], name: str = "text") -> list[Any]:
    """Copies of ``rows`` with their sentence ``name`` in the active language, as
    ``localize_report`` translates a report's rows: for rows the core wrote with
    ``Text.fields(name)`` outside a report (a forecast's ``drivers``). Anything else is kept."""
    roles = role_names()
    out = []
    for row in rows:
        if isinstance(row, dict):
            row = dict(row)
            _localize_text(row, name, roles)
        out.append(row)
    return out
