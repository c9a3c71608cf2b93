"""The simulation core: a pure library (stdlib + numpy) that turns a plan into numbers.

Frozen dataclasses in and out, units in names, no Django, Celery or database imports (a test
enforces it). Entry points: ``estimate`` (one run), ``search`` (ranked layouts), ``calibrate_rows``
(accuracy on published runs) and the command line ``python -m llmplanner.simulation``.
"""

from .architecture import PRESETS, ModelSpec, infer_from_params, preset
from .config import PlanConfig, parse_config
from .cost import CostBreakdown, CostInputs, compute_cost, gpu_years
from .errors import ValidationError
from .estimate import Estimate, estimate
from .hardware import CATALOG, GPUSpec, gpu_by_name
from .perf import DEFAULT_EFFICIENCY, Efficiency
from .search import LayoutConstraints, RankedLayout, SearchResult, search
from .specs import ClusterSpec, Layout, TrainingSpec

__version__ = "0.4.0"

__all__ = [
    "CATALOG",
    "DEFAULT_EFFICIENCY",
    "PRESETS",
    "ClusterSpec",
    "CostBreakdown",
    "CostInputs",
    "Efficiency",
    "Estimate",
    "GPUSpec",
    "Layout",
    "LayoutConstraints",
    "ModelSpec",
    "PlanConfig",
    "RankedLayout",
    "SearchResult",
    "TrainingSpec",
    "ValidationError",
    "compute_cost",
    "estimate",
    "gpu_by_name",
    "gpu_years",
    "infer_from_params",
    "parse_config",
    "preset",
    "search",
]
