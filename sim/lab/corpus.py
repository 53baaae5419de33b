"""The lab corpus: real migrations stored one JSON object per line.

A corpus is the flight recorder archive: each line holds one real run as
:meth:`sim.lab.runner.LabRun.to_record` wrote it — the scenario as given, the guest's page
content, the QEMU version and accelerator, QEMU's ``calc-dirty-rate`` and the guest's own
dirty rates, the ``query-migrate``-shaped result and the 100 ms timeline. Lines are
appended one run at a time, so an interrupted generation keeps what it finished.

Example::

    records = load_corpus(Path("data/lab/corpus.jsonl"))
    append_record(Path("data/lab/corpus.jsonl"), run.to_record())
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["append_record", "load_corpus", "save_corpus", "setting_of"]


def _clean(value: Any) -> Any:
    """Replace NaN/inf (not JSON) with ``None``, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def setting_of(name: str) -> str:
    """The setting a run repeats: ``rate-20M-r2`` → ``rate-20M``; a first run is its own.

    Repeats are named ``<setting>-r2``, ``-r3`` … (``scripts/lab-corpus.py``), so a setting's
    own name must not end in ``-r`` and a digit (``tests/lab`` checks the shipped corpus).
    """
    return name.rsplit("-r", 1)[0] if name[-3:-1] == "-r" and name[-1].isdigit() else name


def load_corpus(path: Path) -> list[dict[str, Any]]:
    """Read every record of a JSON-lines corpus (a directory: all its ``*.jsonl``).

    Args:
        path: A ``.jsonl`` file or a directory of them.

    Returns:
        The records in file order; blank lines are skipped.

    Raises:
        ValueError: A line is not a JSON object (the message names file and line).
    """
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    records: list[dict[str, Any]] = []
    for file in files:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError(f"{file}:{number}: expected a JSON object")
            records.append(record)
    return records


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one record as a line (creating the file and its directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(_clean(record), sort_keys=True) + "\n")


def save_corpus(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Write records as a new JSON-lines file (replacing it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(_clean(r), sort_keys=True) + "\n" for r in records),
                    encoding="utf-8")
