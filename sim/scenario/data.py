"""Where miglab's shipped data lives: ``data/`` in a checkout, ``sim/_data`` when installed.

The presets a scenario may name (``workload.preset``, ``host.profile``, a policy file) are
YAML files in ``data/workloads``, ``data/hosts`` and ``data/policies``. A checkout reads
them from the repository's ``data/``; an installed wheel carries the same folders inside
the package as ``sim/_data`` (``[tool.hatch.build.targets.wheel.force-include]`` in
``pyproject.toml``). :func:`data_path` hides the difference.

    >>> data_path("workloads", "web-server.yaml").name
    'web-server.yaml'
    >>> "lab-tcg" in preset_names("hosts"), read_preset("workloads", "idle")["dirty-rate"]
    (True, 0)

The scenario loader and the dashboard's pickers both call :func:`preset_names` and
:func:`read_preset`, so a picker offers exactly what a scenario may name.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, Final

from sim._bounded import load_yaml, read_text
from sim._exceptions import ScenarioError

__all__ = ["DATA_DIR", "data_path", "preset_names", "read_preset"]

_SIM: Final = Path(__file__).resolve().parent.parent
"""The ``sim`` package folder (this module is ``sim/scenario/data.py``)."""

DATA_DIR: Final = _SIM.parent / "data"
"""``data/`` of a checkout (absent from an installed package)."""

_PACKAGED_DATA: Final = _SIM / "_data"
"""Where a wheel puts ``data/workloads``, ``data/hosts`` and ``data/policies``."""


def data_path(*parts: str) -> Path:
    """A file under ``data/`` in a checkout, or under the installed package's ``_data``."""
    here = DATA_DIR.joinpath(*parts)
    return here if here.exists() else _PACKAGED_DATA.joinpath(*parts)


def preset_names(kind: str) -> list[str]:
    """The shipped presets of ``kind`` by name: the stems of ``data/<kind>/*.yaml``.

    ``kind`` is a folder of ``data/``: ``workloads``, ``hosts`` or ``policies``. These are
    the names a scenario may give (``workload.preset``, ``host.profile``, a policy's
    ``file``) and the names the dashboard's pickers offer.
    """
    roots = (DATA_DIR, _PACKAGED_DATA)
    return sorted({p.stem for root in roots for p in root.joinpath(kind).glob("*.yaml")})


def read_preset(kind: str, name: str) -> dict[str, Any]:
    """The values of shipped preset ``name`` of ``kind``, as a scenario section takes them.

    A preset file is a mapping of the section's keys, optionally wrapped in a ``values:``
    block beside its description; the block is unwrapped. Only names
    :func:`preset_names` lists are opened, so a name can never reach another file.

    Raises:
        ScenarioError: no such preset (the message lists the shipped ones), or its file
            is not a YAML mapping.
    """
    available = preset_names(kind)
    if name not in available:
        raise ScenarioError(f"no such {kind} preset {name!r}; available: "
                            + (", ".join(available) or "none"))
    path = data_path(kind, f"{name}.yaml")
    stat = path.stat()
    return copy.deepcopy(_parsed_preset(kind, name, str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=64)
def _parsed_preset(kind: str, name: str, path: str, mtime_ns: int, size: int
                   ) -> dict[str, Any]:
    """The preset file's values, parsed once per version of the file (its modification time
    and size are in the key): a sweep, a search or a lab comparison validates a scenario
    naming a preset once per point."""
    loaded = load_yaml(read_text(Path(path), what=f"{kind} preset", error=ScenarioError), path,
                       error=ScenarioError)
    values = loaded.get("values", loaded) if isinstance(loaded, dict) else loaded
    if not isinstance(values, dict):
        raise ScenarioError(f"data/{kind}/{name}.yaml is not a mapping")
    return dict(values)
