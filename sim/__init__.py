"""miglab: predict QEMU live migration before you press the button.

The public API, in the order a user meets it::

    import sim
    scenario = sim.load_scenario("web.yaml")     # parsed, defaults filled, checked as QEMU does
    result = sim.simulate(scenario)              # SimPy model of QEMU's migration thread
    print(result.to_dict()["downtime"])          # query-migrate names
    print(sim.diagnose(scenario, result).text())  # why it does not converge, and the fix

Everything a user can cause raises a subclass of :class:`MiglabError`; QEMU's own
refusals come as :class:`QemuError` carrying QEMU's exact text.
"""

from typing import TYPE_CHECKING, Any

from sim._exceptions import (
    InvalidScenarioError,
    LabError,
    MiglabError,
    Problem,
    QemuError,
    ScenarioError,
    UnitError,
)
from sim.models import ScenarioFile
from sim.qemu import VERSIONS, HostSupport, QmpMonitor
from sim.result import Action, GuestCost, RamStats, Result
from sim.scenario import Scenario, ValidationReport, load_scenario, validate
from sim.schema import json_schema
from sim.summary import describe, verdict
from sim.units import parse_duration, parse_rate, parse_size

__all__ = [
    "VERSIONS",
    "Action",
    "GuestCost",
    "HostSupport",
    "InvalidScenarioError",
    "LabError",
    "MiglabError",
    "Problem",
    "QemuError",
    "QmpMonitor",
    "RamStats",
    "Result",
    "Scenario",
    "ScenarioError",
    "ScenarioFile",
    "UnitError",
    "ValidationReport",
    "describe",
    "diagnose",
    "json_schema",
    "load_scenario",
    "parse_duration",
    "parse_rate",
    "parse_size",
    "simulate",
    "validate",
    "verdict",
]

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sim.diagnosis import diagnose
    from sim.engine import simulate


def __getattr__(name: str) -> Any:
    # The engine (SimPy, pandas) loads on first use, so `import sim` stays quick for the
    # validator and the QMP emulator.
    if name == "simulate":
        from sim.engine import simulate

        return simulate
    if name == "diagnose":
        from sim.diagnosis import diagnose

        return diagnose
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    # dir(sim) and help(sim) list the lazily loaded names too.
    return sorted(set(globals()) | set(__all__))
