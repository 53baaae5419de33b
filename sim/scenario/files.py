"""Reading a scenario file: bounded YAML or JSON text into a plain dict, not yet validated.

    >>> parse_scenario_text("vm: {memory: 8GiB}")
    {'vm': {'memory': '8GiB'}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from sim._bounded import MAX_INPUT_BYTES, load_yaml, read_text
from sim._exceptions import ScenarioError

__all__ = ["MAX_FILE_BYTES", "parse_scenario_text", "read_scenario_file"]

MAX_FILE_BYTES: Final = MAX_INPUT_BYTES
"""Largest scenario file accepted (1 MiB)."""


def read_scenario_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON scenario file into a dict (no validation).

    The file is read through :mod:`sim._bounded`: a regular file of at most 1 MiB, UTF-8,
    YAML 1.2 numbers, no duplicate keys, no Python objects, nesting and aliases capped.

    Raises:
        ScenarioError: the file is missing, too large, not YAML/JSON, or not a mapping.
    """
    p = Path(path)
    text = read_text(p, what="scenario file", limit=MAX_FILE_BYTES, error=ScenarioError)
    return parse_scenario_text(text, str(p))


def parse_scenario_text(text: str, where: str = "scenario") -> dict[str, Any]:
    """Parse scenario text (YAML, of which JSON is a subset) into a dict, bounded as
    :func:`read_scenario_file` is.

    Raises:
        ScenarioError: not YAML/JSON, beyond the limits, or not a mapping at the top.
    """
    data = load_yaml(text, where, limit=MAX_FILE_BYTES, error=ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a scenario must be a mapping (YAML/JSON object) "
                            f"with keys such as vm, workload, parameters; got "
                            f"{type(data).__name__}")
    return data
