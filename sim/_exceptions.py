"""Every error miglab raises on purpose, in one tree, so callers can catch as broadly as they need.

```
MiglabError                        anything miglab refuses
 ├── UnitError (ValueError)        a size, rate or duration it cannot read
 ├── InputError (ValueError)       an input refused before it is read: too large, not a regular
 │                                 file, not UTF-8, YAML/JSON beyond limits, a file outside data/
 ├── QemuError                     what QEMU itself would refuse, with QEMU's class and text
 │    └── QMPError                 a real QEMU (the lab) answered a command with an error
 ├── ScenarioError                 a scenario file that cannot be read at all
 │    └── InvalidScenarioError     a scenario with problems; ``.problems`` lists each one
 ├── ImportError_                  text none of an importer's forms can read (sim.imports)
 ├── ExportError                   an unknown export target (sim.export)
 ├── SweepError                    a sweep that cannot be set up (sim.sweep)
 │    └── AxisError (ValueError)   an axis specification that cannot be read
 ├── FleetError (ValueError)       an inventory or drain setting that cannot be used (sim.fleet)
 ├── RecommendError (ValueError)   a recommendation request that cannot be run (sim.recommend)
 ├── ReportError                   a report that could not be written, e.g. no Chromium for PDF
 └── LabError                      a real QEMU run that could not be set up or finished
      ├── GuestBuildError          the guest kernel could not be built (sim.lab.guest)
      ├── QMPProtocolError         the peer closed the connection or sent non-QMP (sim.lab.qmp)
      ├── QemuNotFoundError        qemu-system-x86_64 is not installed (sim.lab.qemu_proc)
      └── QemuExitedError          a QEMU process ended while the lab needed it
```

Every class lives here; the module named in parentheses re-exports it, so ``from sim.export
import ExportError`` keeps working. ``ImportError_`` and ``ExportError`` are deliberately not
``ValueError``s: the importers read a value with ``except ValueError`` as "try the next reading",
and a ValueError base would change which message the user sees. Every error a user can cause
names the field, the value and what would be accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AxisError",
    "ExportError",
    "FleetError",
    "GuestBuildError",
    "ImportError_",
    "InputError",
    "InvalidScenarioError",
    "LabError",
    "MiglabError",
    "Problem",
    "QMPError",
    "QMPProtocolError",
    "QemuError",
    "QemuExitedError",
    "QemuNotFoundError",
    "RecommendError",
    "ReportError",
    "ScenarioError",
    "SweepError",
    "UnitError",
]


class MiglabError(Exception):
    """Base class of every error miglab raises on purpose."""


class UnitError(MiglabError, ValueError):
    """A size, rate or duration that cannot be read.

    Args:
        field: where the value came from, e.g. ``"vm.memory"``.
        value: the value as given.
        accepted: what would have been accepted.
        reason: an optional short reason placed before ``accepted``.
    """

    def __init__(self, field: str, value: object, accepted: str, reason: str = "") -> None:
        self.field = field
        self.value = value
        self.accepted = accepted
        self.reason = reason
        super().__init__(f"{field}: cannot read {value!r}: {self.detail}")

    @property
    def detail(self) -> str:
        """The reason and what is accepted, without the field and value: ``"unknown size
        suffix 'x'; expected …"``."""
        return f"{self.reason}; expected {self.accepted}" if self.reason else \
            f"expected {self.accepted}"


class QemuError(MiglabError):
    """QEMU would refuse this, and these are its words.

    Args:
        desc: QEMU's ``desc`` text, exactly as the QMP reply would carry it.
        error_class: QEMU's error class (``GenericError`` or ``CommandNotFound``).
        field: the QMP name of the parameter or capability concerned, when there is one.
    """

    def __init__(self, desc: str, error_class: str = "GenericError", field: str = "") -> None:
        self.desc = desc
        self.error_class = error_class
        self.field = field
        super().__init__(desc)

    def reply(self) -> dict[str, dict[str, str]]:
        """The QMP error reply, ``{"error": {"class": …, "desc": …}}``."""
        return {"error": {"class": self.error_class, "desc": self.desc}}


class InputError(MiglabError, ValueError):
    """An input refused before it is read (see :mod:`sim._bounded`): too large, not a
    regular file, not UTF-8, YAML or JSON beyond miglab's limits, or a named file outside
    the data folders. The message names the input and what is accepted, and echoes nothing
    of a file it refused to read."""


class ScenarioError(MiglabError):
    """A scenario file that cannot be read (missing, not YAML/JSON, not a mapping)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario.

    Attributes:
        field: dotted path with the file's dash names, e.g. ``"parameters.downtime-limit"``.
        value: the offending value as given (``None`` when a value is missing).
        message: what is wrong and what would be accepted; QEMU's own text for QEMU's checks.
        source: ``"qemu"`` for QEMU's checks, ``"miglab"`` for ours.
    """

    field: str
    value: object
    message: str
    source: str = "miglab"

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly dict ``{"field", "value", "message"}``."""
        return {"field": self.field, "value": self.value, "message": self.message}

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (got {self.value!r})"


class InvalidScenarioError(ScenarioError):
    """A scenario with one or more problems; nothing runs on it.

    Attributes:
        problems: every problem found, QEMU's first failure first.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid scenario ({len(problems)} problem(s)):\n{lines}")


class LabError(MiglabError):
    """A real QEMU run that could not be set up or did not finish."""


class GuestBuildError(LabError):
    """The guest kernel could not be built (missing tools or a compile error)."""


class QMPProtocolError(LabError):
    """The peer closed the connection or sent something that is not QMP."""


class QemuNotFoundError(LabError):
    """qemu-system-x86_64 is not installed."""


class QemuExitedError(LabError):
    """A QEMU process ended while the lab still needed it."""


class QMPError(QemuError):
    """QEMU answered a command with an error.

    A real QEMU's refusal, so it is a :class:`~sim.QemuError` like the
    simulator's own.

    Attributes:
        cls: QEMU's error class, e.g. ``"GenericError"`` (also ``error_class``).
        desc: QEMU's human-readable message, verbatim.
    """

    def __init__(self, cls: str, desc: str) -> None:
        super().__init__(desc, error_class=cls)
        self.cls = cls


class ImportError_(MiglabError):  # the trailing _ avoids the builtin ImportError
    """Text that none of the importer's forms can read."""


class ExportError(MiglabError):
    """An unknown export format."""


class SweepError(MiglabError):
    """A sweep that cannot be set up (bad base scenario, bad executor settings)."""


class AxisError(SweepError, ValueError):
    """An axis specification that cannot be read; the message names the axis."""


class FleetError(MiglabError, ValueError):
    """An inventory or drain setting that cannot be used; the message names it."""


class RecommendError(MiglabError, ValueError):
    """A recommendation request that cannot be run (bad constraint, objective or space)."""


class ReportError(MiglabError):
    """A report that could not be written (e.g. no Chromium for the PDF)."""
