"""Programs and their scenarios: the plan a manager writes down, before anything is simulated.

Money is stored in the program's currency (``Program.currency``); token counts are whole tokens;
GPU prices are per GPU-hour. The catalogs (GPU types, role templates, model presets) are global,
edited in the admin and seeded from the simulation core (``apps.programs.catalogs``).

``Scenario.version`` is an optimistic lock: every change to a scenario or one of its lines bumps
it with a conditional UPDATE (``services._scenario_bump``), so two people editing one scenario
never silently overwrite each other.
"""

from apps.programs.models.catalogs import GPUType, ModelPreset, RoleTemplate
from apps.programs.models.lines import (
    Dataset,
    DeliveryRisk,
    GPUBudgetLine,
    Purpose,
    ReliabilityClass,
    RentOrBuy,
    ScenarioActivity,
    TeamLine,
)
from apps.programs.models.scenarios import (
    Currency,
    Precision,
    Program,
    RLHFMethod,
    Scenario,
    Strategy,
)

__all__ = [
    "Currency",
    "Dataset",
    "DeliveryRisk",
    "GPUBudgetLine",
    "GPUType",
    "ModelPreset",
    "Precision",
    "Program",
    "Purpose",
    "RLHFMethod",
    "ReliabilityClass",
    "RentOrBuy",
    "RoleTemplate",
    "Scenario",
    "ScenarioActivity",
    "Strategy",
    "TeamLine",
]
