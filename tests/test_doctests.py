"""The examples in sim/'s docstrings run and show what they say.

Every module opens with a short use (the project's style); until now nothing ran them, and
three had drifted (``sim._serve`` showed the wrong slice of its command line).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import sim

MODULES = sorted(m.name for m in pkgutil.walk_packages(sim.__path__, "sim."))


def test_every_package_module_is_found() -> None:
    """The walk reaches into the packages (a module added anywhere gets its examples run)."""
    assert {"sim.engine.loop", "sim.ui.draft", "sim.scenario.model", "sim.units"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, report=True)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
