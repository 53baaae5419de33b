"""The error tree: every public error lives in :mod:`sim._exceptions`, appears in its docstring's
tree, inherits :class:`~sim.MiglabError`, and is still importable from the module that raises it."""

from __future__ import annotations

import importlib
import pkgutil
import re

import sim
from sim import _exceptions
from sim.engine.loop import WorkBudgetExceeded

INTERNAL = {WorkBudgetExceeded}
"""Control flow inside the engine, never raised to a caller (``simulate`` turns it into a
``failed`` result), so not part of the public tree."""


def _errors_defined_anywhere() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for info in pkgutil.walk_packages(sim.__path__, "sim."):
        if info.name.startswith(("sim.lab", "sim._serve", "sim.plots", "sim.report")):
            continue  # optional dependencies; checked by the re-export test below
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) \
                    and value.__module__.startswith("sim"):
                found.add(value)
    return found


def test_every_error_is_in_the_tree() -> None:
    tree = {getattr(_exceptions, n) for n in _exceptions.__all__ if n != "Problem"}
    assert _errors_defined_anywhere() - INTERNAL <= tree
    doc = _exceptions.__doc__ or ""
    for cls in tree:
        assert issubclass(cls, _exceptions.MiglabError), cls
        assert re.search(rf"(^|\s){cls.__name__} ", doc, re.M), f"{cls.__name__} not in the tree"
        assert cls.__module__ == "sim._exceptions"


def test_old_import_paths_still_work() -> None:
    places = {"sim.export": "ExportError", "sim.sweep": "SweepError AxisError",
              "sim.fleet": "FleetError", "sim.recommend": "RecommendError",
              "sim.report": "ReportError", "sim.imports": "ImportError_",
              "sim.lab.qmp": "QMPError QMPProtocolError",
              "sim.lab.qemu_proc": "QemuNotFoundError QemuExitedError",
              "sim.lab.guest": "GuestBuildError"}
    for module, names in places.items():
        for name in names.split():
            assert getattr(importlib.import_module(module), name) is getattr(_exceptions, name)
