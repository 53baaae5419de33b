"""Imports: start a scenario from the migration settings you run today.

Exports translate a scenario into each target's words; imports are the same phrasebook
read backwards. Paste a QMP log (or ``query-migrate-parameters`` output), a ``virsh
migrate`` command line, or a KubeVirt ``MigrationPolicy``, and get the ``parameters``,
``capabilities`` and ``control`` sections of a scenario in design.md's format. The guest,
workload and link are not in those files, so they come from a *base* scenario you pass
along (or you add them afterwards)::

    >>> data = from_virsh("virsh migrate --live --bandwidth 128 --auto-converge vm "
    ...                   "qemu+ssh://b/system")
    >>> data["parameters"], data["capabilities"]
    ({'max-bandwidth': 134217728}, {'auto-converge': True})

Each importer appends what it could not map to ``notes`` when a list is given, so nothing
is dropped silently. ``import_text(text, fmt)`` picks the importer by name (:data:`IMPORTERS`).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import yaml

from sim._exceptions import MiglabError
from sim.qemu.catalog import PARAMETERS
from sim.qemu.versions import DEFAULT_VERSION, VERSIONS, profile
from sim.units import GiB, MiB, parse_size

__all__ = ["IMPORTERS", "ImportError_", "from_kubevirt", "from_qmp", "from_virsh",
           "import_text", "merge"]


class ImportError_(MiglabError):  # the trailing _ avoids the builtin ImportError
    """Text that none of the importer's forms can read."""


Notes = list[str] | None
ScenarioDict = dict[str, Any]


def merge(base: Mapping[str, Any] | None, imported: Mapping[str, Any]) -> ScenarioDict:
    """``base`` with ``imported`` laid over it, section by section (imported wins).

    >>> merge({"vm": {"memory": "8G"}, "parameters": {"downtime-limit": 500}},
    ...       {"parameters": {"max-bandwidth": 0}})["parameters"]
    {'downtime-limit': 500, 'max-bandwidth': 0}
    """
    out: ScenarioDict = json.loads(json.dumps(dict(base or {}), default=str))
    for key, value in imported.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _note(notes: Notes, text: str) -> None:
    if notes is not None:
        notes.append(text)


def _finish(params: dict[str, Any], caps: dict[str, bool], control: dict[str, Any],
            base: Mapping[str, Any] | None, extra: Mapping[str, Any] | None = None
            ) -> ScenarioDict:
    imported: ScenarioDict = dict(extra or {})
    if params:
        imported["parameters"] = params
    if caps:
        imported["capabilities"] = caps
    if control:
        imported["control"] = control
    return merge(base, imported)


# ------------------------------------------------------------------------- QMP


def _json_objects(text: str) -> Iterator[Any]:
    """Every JSON value in ``text``: one array, or one value per line (comments skipped)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            yield from json.loads(stripped)
            return
        except ValueError:
            pass
    if stripped.startswith("{") and "\n" in stripped:
        try:
            yield json.loads(stripped)
            return
        except ValueError:
            pass
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "==>", "//")):
            continue
        if line.startswith(("->", "<-")):  # qmp-shell / libvirt log arrows
            line = line[2:].strip()
        try:
            yield json.loads(line)
        except ValueError as err:
            raise ImportError_(f"not a QMP JSON line: {line[:80]!r} ({err})") from err


def _is_parameters(value: object) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(k in PARAMETERS for k in value)


def _is_capabilities(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, Mapping) and "capability" in v and "state" in v for v in value)


def _non_default(values: Mapping[str, Any], version: str) -> dict[str, Any]:
    prof = profile(version)
    return {k: v for k, v in values.items()
            if prof.has_parameter(k) and v != prof.parameter(k).default}


def from_qmp(text: str, base: Mapping[str, Any] | None = None, *,
             qemu: str | None = None, notes: Notes = None) -> ScenarioDict:
    """A scenario from QMP: a command log, or ``query-migrate-parameters``/``-capabilities``.

    Commands (``migrate-set-parameters``, ``migrate-set-capabilities``,
    ``migrate-start-postcopy``) are replayed in order; query replies (``{"return": …}`` or
    the bare object) contribute the values that differ from the release's defaults. A
    ``query-version`` reply sets ``qemu``. Lines starting with ``#`` or ``==>`` and the
    ``->``/``<-`` arrows of qmp-shell logs are skipped, so an export's text reads back.

    Args:
        text: JSON lines or one JSON array.
        base: a scenario to lay the result over (for vm, workload, host).
        qemu: the release whose defaults query output is compared with.
        notes: a list that receives what could not be mapped.

    Raises:
        ImportError_: a line that is not JSON.
    """
    version = qemu or str((base or {}).get("qemu", DEFAULT_VERSION))
    params: dict[str, Any] = {}
    caps: dict[str, bool] = {}
    control: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for obj in _json_objects(text):
        value = obj.get("return", obj) if isinstance(obj, Mapping) else obj
        if isinstance(obj, Mapping) and "execute" in obj:
            _qmp_command(obj, params, caps, control, notes)
        elif isinstance(value, Mapping) and isinstance(value.get("qemu"), Mapping):
            major, minor = value["qemu"].get("major"), value["qemu"].get("minor")
            if f"{major}.{minor}" in VERSIONS:
                version = extra["qemu"] = f"{major}.{minor}"
            else:
                _note(notes, f"QEMU {major}.{minor} has no profile; kept qemu: {version}")
        elif _is_parameters(value):
            params.update(_non_default(value, version))
        elif _is_capabilities(value):
            caps.update({v["capability"]: True for v in value if v["state"]})
    return _finish(params, caps, control, base, extra)


def _qmp_command(obj: Mapping[str, Any], params: dict[str, Any], caps: dict[str, bool],
                 control: dict[str, Any], notes: Notes) -> None:
    name = obj["execute"]
    args = obj.get("arguments") or {}
    if name == "migrate-set-parameters":
        params.update(args)
    elif name == "migrate-set-capabilities":
        for item in args.get("capabilities", []):
            caps[item["capability"]] = bool(item["state"])
    elif name == "migrate-start-postcopy":
        control["postcopy-after"] = {"passes": 1}
        _note(notes, "migrate-start-postcopy: the log does not say when; assumed after the "
                     "first pass")
    elif name == "migrate_cancel":
        _note(notes, "migrate_cancel: the log does not say when; set control.timeout")


# ------------------------------------------------------------------------- virsh

_VIRSH_VALUE_FLAGS: Final = {
    "--bandwidth": ("max-bandwidth", MiB),
    "--postcopy-bandwidth": ("max-postcopy-bandwidth", MiB),
    "--auto-converge-initial": ("cpu-throttle-initial", 1),
    "--auto-converge-increment": ("cpu-throttle-increment", 1),
    "--parallel-connections": ("multifd-channels", 1),
    "--comp-xbzrle-cache": ("xbzrle-cache-size", 1),
    "--comp-mt-level": ("compress-level", 1),
    "--comp-mt-threads": ("compress-threads", 1),
    "--comp-mt-dthreads": ("decompress-threads", 1),
    "--comp-zlib-level": ("multifd-zlib-level", 1),
    "--comp-zstd-level": ("multifd-zstd-level", 1),
}
_VIRSH_CAP_FLAGS: Final = {"--auto-converge": "auto-converge", "--postcopy": "postcopy-ram",
                           "--parallel": "multifd"}
_VIRSH_OTHER_VALUE: Final = ("--timeout", "--comp-methods", "--migrateuri", "--listen-address",
                             "--graphicsuri", "--dname", "--xml", "--persistent-xml",
                             "--disks-port", "--disks-uri", "--migrate-disks", "--tls-destination",
                             "--desturi", "--domain")


def _virsh_migrate(args: list[str], params: dict[str, Any], caps: dict[str, bool],
                   control: dict[str, Any], notes: Notes) -> None:
    methods: list[str] = []
    compressed = False
    i = 0
    while i < len(args):
        flag = args[i]
        value = args[i + 1] if i + 1 < len(args) else ""
        if flag in _VIRSH_VALUE_FLAGS:
            name, mult = _VIRSH_VALUE_FLAGS[flag]
            params[name] = int(value) * mult
            i += 2
            continue
        if flag in _VIRSH_CAP_FLAGS:
            caps[_VIRSH_CAP_FLAGS[flag]] = True
        elif flag == "--postcopy-after-precopy":
            control["postcopy-after"] = {"passes": 1}
        elif flag == "--compressed":
            compressed = True
        elif flag == "--comp-methods":
            methods = value.split(",")
        elif flag == "--timeout":
            _note(notes, f"--timeout {value} suspends the guest (or starts postcopy) instead of "
                         "cancelling; not imported")
        if flag in _VIRSH_OTHER_VALUE:
            i += 2
        else:
            i += 1
    if compressed:
        for method in methods or ["xbzrle"]:
            if method == "xbzrle":
                caps["xbzrle"] = True
            elif method == "mt":
                caps["compress"] = True
            elif method in ("zlib", "zstd"):
                params["multifd-compression"] = method


def from_virsh(text: str, base: Mapping[str, Any] | None = None, *,
               notes: Notes = None) -> ScenarioDict:
    """A scenario from ``virsh migrate`` and its helper commands.

    Reads ``virsh migrate`` flags (a ``timeout --signal=INT N`` wrapper becomes
    ``control.timeout``), ``migrate-setmaxdowntime``, ``migrate-setspeed``,
    ``migrate-compcache`` and a backgrounded ``sleep S; virsh migrate-postcopy``.
    Without ``--bandwidth`` libvirt migrates unlimited, so ``max-bandwidth`` becomes 0.

    Args:
        text: one or more shell lines (comments are skipped).
        base: a scenario to lay the result over.
        notes: a list that receives what could not be mapped.

    Raises:
        ImportError_: no ``virsh`` command in the text.
    """
    params: dict[str, Any] = {}
    caps: dict[str, bool] = {}
    control: dict[str, Any] = {}
    seen_migrate = False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        sleep = re.match(r"^\(\s*sleep\s+([0-9.]+)\s*;\s*virsh\s+migrate-postcopy\b", line)
        if sleep:
            control["postcopy-after"] = {"seconds": float(sleep.group(1))}
            continue
        words = shlex.split(line)
        if words[:1] == ["timeout"] and "virsh" in words:
            control["timeout"] = float(words[words.index("virsh") - 1])
            words = words[words.index("virsh"):]
        if words[:1] != ["virsh"] or len(words) < 2:
            continue
        sub, rest = words[1], words[2:]
        if sub == "migrate":
            seen_migrate = True
            _virsh_migrate(rest, params, caps, control, notes)
        elif sub == "migrate-setmaxdowntime" and len(rest) >= 2:
            params["downtime-limit"] = int(rest[-1])
        elif sub == "migrate-setspeed" and rest:
            target = "max-postcopy-bandwidth" if "--postcopy" in rest else "max-bandwidth"
            numbers = [w for w in rest if w.isdigit()]
            if numbers:
                params[target] = int(numbers[-1]) * MiB
        elif sub == "migrate-compcache" and "--size" in rest:
            params["xbzrle-cache-size"] = int(rest[rest.index("--size") + 1])
    if not seen_migrate and not params:
        raise ImportError_("no 'virsh migrate' command found")
    if seen_migrate and "max-bandwidth" not in params:
        params["max-bandwidth"] = 0
    return _finish(params, caps, control, base)


# ------------------------------------------------------------------------- KubeVirt

_QUANTITY: Final = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|M|G|T)?\s*$")
_QUANTITY_MULT: Final = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
                         "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_quantity(value: object) -> int:
    """A Kubernetes quantity in bytes: ``"64Mi"`` → 67108864, ``"1G"`` → 10⁹.

    Raises:
        ImportError_: not a quantity.
    """
    match = _QUANTITY.match(str(value))
    if not match:
        raise ImportError_(f"not a Kubernetes quantity: {value!r}")
    return int(float(match.group(1)) * _QUANTITY_MULT[match.group(2)])


def _kubevirt_migrations(text: str) -> dict[str, Any]:
    """The migration fields of every document: cluster config first, policies over it."""
    cluster: dict[str, Any] = {}
    policy: dict[str, Any] = {}
    for doc in yaml.safe_load_all(text):
        if not isinstance(doc, Mapping):
            continue
        kind = doc.get("kind")
        if kind == "MigrationPolicy":
            policy.update({k: v for k, v in (doc.get("spec") or {}).items()
                           if k != "selectors"})
        elif kind == "KubeVirt":
            cluster.update(((doc.get("spec") or {}).get("configuration") or {})
                           .get("migrations") or {})
        elif "migrations" in doc and isinstance(doc["migrations"], Mapping):
            cluster.update(doc["migrations"])
        else:
            cluster.update(doc)
    return {**cluster, **policy}


def from_kubevirt(text: str, base: Mapping[str, Any] | None = None, *,
                  notes: Notes = None) -> ScenarioDict:
    """A scenario from a KubeVirt ``MigrationPolicy`` and/or the CR's ``migrations`` block.

    A policy's fields override the cluster's. ``completionTimeoutPerGiB`` needs the guest's
    memory (from ``base``) to become seconds. With ``allowPostCopy`` and workload disruption
    allowed, KubeVirt starts postcopy when the budget runs out and aborts at twice it;
    otherwise it aborts at the budget. KubeVirt turns multifd on (8 channels) itself when
    postcopy is not allowed, and the import says so.

    Args:
        text: YAML, one or more documents.
        base: a scenario to lay the result over (``vm.memory`` is used).
        notes: a list that receives what could not be mapped.
    """
    mig = _kubevirt_migrations(text)
    params: dict[str, Any] = {}
    caps: dict[str, bool] = {}
    control: dict[str, Any] = {}
    if "bandwidthPerMigration" in mig:
        params["max-bandwidth"] = parse_quantity(mig["bandwidthPerMigration"])
    if mig.get("allowAutoConverge"):
        caps["auto-converge"] = True
    postcopy = bool(mig.get("allowPostCopy"))
    disrupt = bool(mig.get("allowWorkloadDisruption", postcopy))
    if postcopy:
        caps["postcopy-ram"] = True
    else:
        caps["multifd"] = True
        params["multifd-channels"] = 8
        _note(notes, "KubeVirt uses multifd with 8 channels when the VMI has no CPU limit; "
                     "drop capabilities.multifd if yours has one")
    per_gib = mig.get("completionTimeoutPerGiB")
    memory = (base or {}).get("vm", {}).get("memory")
    if per_gib is not None and memory is None:
        _note(notes, "completionTimeoutPerGiB needs vm.memory (pass a base scenario)")
    elif per_gib is not None:
        budget_s = float(per_gib) * parse_size(memory) / GiB
        if postcopy and disrupt:
            control["postcopy-after"] = {"seconds": budget_s}
            control["timeout"] = 2 * budget_s
        else:
            control["timeout"] = budget_s
            if disrupt:
                _note(notes, "allowWorkloadDisruption without postcopy pauses the guest at "
                             "the budget; imported as a cancel")
    return _finish(params, caps, control, base)


# ------------------------------------------------------------------------- registry

Importer = Callable[..., ScenarioDict]

IMPORTERS: Final[dict[str, Importer]] = {
    "qmp": from_qmp,
    "virsh": from_virsh,
    "kubevirt": from_kubevirt,
}
"""Every importer: name → function ``(text, base=None, *, notes=None) -> dict``."""


def import_text(text: str, fmt: str, base: Mapping[str, Any] | None = None, *,
                notes: Notes = None) -> ScenarioDict:
    """Read ``text`` in format ``fmt`` (a key of :data:`IMPORTERS`) into a scenario dict.

    Raises:
        ImportError_: an unknown format, or text the importer cannot read.
    """
    importer = IMPORTERS.get(fmt)
    if importer is None:
        raise ImportError_(f"unknown import format {fmt!r}; expected one of "
                           + ", ".join(IMPORTERS))
    try:
        return importer(text, base, notes=notes)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
        raise ImportError_(f"cannot read this as {fmt}: {err}") from err
