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

A QMP log is replayed through miglab's QMP emulator, so a value QEMU would refuse is not
imported. Each importer appends what it could not map (and every refused command) to
``notes`` when a list is given, so nothing is dropped silently. ``import_text(text, fmt)``
picks the importer by name (:data:`IMPORTERS`).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sim._bounded import load_yaml_all, loads_json
from sim._exceptions import ImportError_
from sim.qemu.catalog import CAPABILITIES, PARAMETERS
from sim.qemu.monitor import QmpMonitor
from sim.qemu.versions import DEFAULT_VERSION, VERSIONS, profile
from sim.units import GiB, KiB, MiB, parse_size

__all__ = [
    "IMPORTERS",
    "TEXT_STARTS",
    "ImportError_",
    "from_kubevirt",
    "from_kubevirt_policy",
    "from_nova",
    "from_ovirt",
    "from_proxmox",
    "from_qmp",
    "from_virsh",
    "import_text",
    "looks_like",
    "merge",
]


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


@dataclass(frozen=True)
class _Section:
    """A ``==> name <==`` header: the lines after it came from another QEMU process."""

    name: str


_SECTION: Final = re.compile(r"^#?\s*==>\s*(.*?)\s*<==\s*$")


def _json_objects(text: str) -> Iterator[Any]:
    """Every JSON value in ``text``: one array, or one value per line (comments skipped).

    A ``==> name <==`` header (how an export joins its files) yields a :class:`_Section`.
    """
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            whole = loads_json(stripped, "QMP log", error=ImportError_)
        except ImportError_:
            pass  # JSON lines, where a line may start with [ or {
        else:
            if isinstance(whole, list):
                yield from whole
                return
            if "\n" in stripped:
                yield whole
                return
    for line in text.split("\n"):  # only a newline ends a line (not U+2028 or \v)
        line = line.strip()
        header = _SECTION.match(line)
        if header:
            yield _Section(header.group(1))
            continue
        if not line or line.startswith(("#", "==>", "//")):
            continue
        if line.startswith(("->", "<-")):  # qmp-shell / libvirt log arrows
            line = line[2:].strip()
        try:
            yield loads_json(line, "QMP line", error=ImportError_)
        except ImportError_ as err:
            raise ImportError_(f"not a QMP JSON line: {line[:80]!r} ({err})") from None


def _is_parameters(value: object) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(k in PARAMETERS for k in value)


def _is_capabilities(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, Mapping) and "capability" in v and "state" in v for v in value)


def _reported_version(value: object) -> str | None:
    """``"8.2"`` from a ``query-version`` reply, ``None`` for anything else."""
    if isinstance(value, Mapping) and isinstance(value.get("qemu"), Mapping):
        return f"{value['qemu'].get('major')}.{value['qemu'].get('minor')}"
    return None


def _log_version(objects: list[Any], version: str, notes: Notes) -> tuple[str, bool]:
    """The release a ``query-version`` reply in the log names, else ``version``."""
    for obj in objects:
        value = obj.get("return", obj) if isinstance(obj, Mapping) else obj
        reported = _reported_version(value)
        if reported is None:
            continue
        if reported in VERSIONS:
            return reported, True
        _note(notes, f"QEMU {reported} has no profile; replayed as QEMU {version}")
    return version, False


@dataclass
class _Replay:
    """One emulated QEMU process replaying its part of the log.

    ``params`` and ``caps`` are the names the log set (and QEMU accepted) or reported with
    a non-default value; their values are read from the monitor's state at the end.
    """

    monitor: QmpMonitor
    params: set[str] = field(default_factory=set)
    caps: set[str] = field(default_factory=set)
    kept: dict[str, Any] = field(default_factory=dict)

    def state(self) -> tuple[dict[str, Any], dict[str, bool]]:
        mon = self.monitor
        defaults = mon.profile.default_parameters()
        names = self.params | {k for k, v in mon.parameters.items()
                               if k in defaults and v != defaults[k]}
        params = {k: self.kept.get(k, mon.parameters[k]) for k in PARAMETERS if k in names}
        cap_defaults = mon.profile.default_capabilities()
        cap_names = self.caps | {k for k, v in mon.capabilities.items()
                                 if v != cap_defaults.get(k, False)}
        return params, {k: bool(mon.capabilities[k]) for k in CAPABILITIES if k in cap_names}


def _short(obj: object) -> str:
    text = json.dumps(obj)
    return text if len(text) <= 120 else text[:117] + "..."


def from_qmp(text: str, base: Mapping[str, Any] | None = None, *,
             qemu: str | None = None, notes: Notes = None) -> ScenarioDict:
    """A scenario from QMP: a command log, or ``query-migrate-parameters``/``-capabilities``.

    The log is replayed through miglab's QMP emulator (:class:`~sim.qemu.QmpMonitor`) for
    the release (``qemu``, else a ``query-version`` reply in the log, else the base's
    ``qemu``), and the result is what that QEMU would then hold: a command QEMU refuses
    (``multifd-channels: 256``, a ``downtime-limit`` beyond 2000 s, multifd with XBZRLE on
    8.2) changes nothing, and each refusal is listed in ``notes`` with QEMU's reply. Query
    replies (``{"return": …}`` or the bare object) are taken as the state QEMU reported.
    The imported parameters and capabilities are those the log set or reported with a
    value other than the release's default. A ``==> name <==`` header (as an export joins
    its destination and source files) starts a new QEMU process; later ones win. Lines
    starting with ``#`` and the ``->``/``<-`` arrows of qmp-shell logs are skipped.

    Args:
        text: JSON lines or one JSON array.
        base: a scenario to lay the result over (for vm, workload, host).
        qemu: the release to replay as; overrides the log and the base.
        notes: a list that receives refusals and what could not be mapped.

    Raises:
        ImportError_: a line that is not JSON.
    """
    objects = list(_json_objects(text))
    extra: dict[str, Any] = {}
    if qemu is not None:
        version = str(profile(qemu).name)
        extra["qemu"] = version
    else:
        version, reported = _log_version(objects, str((base or {}).get("qemu", DEFAULT_VERSION)),
                                         notes)
        profile(version)  # an unknown release in the base is named here, not mid-replay
        if reported:
            extra["qemu"] = version
    control: dict[str, Any] = {}
    replays = [_Replay(QmpMonitor(version))]
    for obj in objects:
        if isinstance(obj, _Section):
            replays.append(_Replay(QmpMonitor(version, incoming="destination" in obj.name)))
            continue
        if isinstance(obj, Mapping) and "execute" in obj:
            _qmp_command(obj, replays[-1], control, notes)
            continue
        value = obj.get("return", obj) if isinstance(obj, Mapping) else obj
        _qmp_reply(value, replays[-1])
    params: dict[str, Any] = {}
    caps: dict[str, bool] = {}
    for replay in replays:
        section_params, section_caps = replay.state()
        params.update(section_params)
        caps.update(section_caps)
    return _finish(params, caps, control, base, extra)


def _qmp_reply(value: object, replay: _Replay) -> None:
    """A query reply in the log: the state QEMU reported replaces the emulated one."""
    mon = replay.monitor
    if _is_parameters(value):
        assert isinstance(value, Mapping)
        defaults = mon.profile.default_parameters()
        for name, setting in value.items():
            if name in defaults:
                mon.parameters[name] = setting
    elif _is_capabilities(value):
        assert isinstance(value, list)
        for item in value:
            if item["capability"] in mon.capabilities:
                mon.capabilities[item["capability"]] = bool(item["state"])


def _keep_dropped_levels(args: Mapping[str, Any], replay: _Replay, notes: Notes) -> None:
    """8.2 and earlier accept ``multifd-zlib/zstd-level`` over QMP but never apply them; the
    value is kept (it takes ``-global migration.NAME=VALUE`` on the command line)."""
    prof = replay.monitor.profile
    if prof.multifd_levels_over_qmp:
        return
    for name in ("multifd-zlib-level", "multifd-zstd-level"):
        if name in args:
            replay.kept[name] = args[name]
            _note(notes, f"{name} {args[name]}: QEMU {prof.name} accepts it over QMP but "
                         f"ignores it; imported as given (set it with -global "
                         f"migration.{name}={args[name]})")


def _qmp_command(obj: Mapping[str, Any], replay: _Replay, control: dict[str, Any],
                 notes: Notes) -> None:
    name = obj.get("execute")
    args = obj.get("arguments") or {}
    reply = replay.monitor.execute(obj)
    error = reply.get("error")
    if error is not None:
        version = replay.monitor.profile.name
        if error.get("class") == "CommandNotFound" and name != "qmp_capabilities":
            _note(notes, f"{name}: not a migration command miglab emulates; skipped")
        else:
            _note(notes, f"{_short(dict(obj))} refused by QEMU {version}: {error.get('desc')} "
                         "(not imported)")
        return
    if name == "migrate-set-parameters" and isinstance(args, Mapping):
        replay.params.update(k for k in args if k in PARAMETERS)
        _keep_dropped_levels(args, replay, notes)
    elif name == "migrate-set-capabilities" and isinstance(args, Mapping):
        replay.caps.update(str(item["capability"]) for item in args.get("capabilities", [])
                           if isinstance(item, Mapping) and "capability" in item)
    elif name == "migrate-start-postcopy":
        control["postcopy-after"] = {"passes": 1}
        _note(notes, "migrate-start-postcopy: the log does not say when; assumed after the "
                     "first pass")
    elif name == "migrate_cancel":
        _note(notes, "migrate_cancel: the log does not say when; set control.timeout")



# ------------------------------------------------------------------------- virsh

_MIBS: Final = "a whole number of MiB/s, e.g. 500"
_PERCENT: Final = "a whole percentage, e.g. 20"
_COUNT: Final = "a whole number, e.g. 4"
_LEVEL: Final = "a whole compression level, e.g. 1"
_VIRSH_VALUE_FLAGS: Final = {
    "--bandwidth": ("max-bandwidth", MiB, _MIBS),
    "--postcopy-bandwidth": ("max-postcopy-bandwidth", MiB, _MIBS),
    "--available-switchover-bandwidth": ("avail-switchover-bandwidth", MiB, _MIBS),
    "--auto-converge-initial": ("cpu-throttle-initial", 1, _PERCENT),
    "--auto-converge-increment": ("cpu-throttle-increment", 1, _PERCENT),
    "--parallel-connections": ("multifd-channels", 1, _COUNT),
    "--comp-xbzrle-cache": ("xbzrle-cache-size", 1, "a whole number of bytes, e.g. 67108864"),
    "--comp-mt-level": ("compress-level", 1, _LEVEL),
    "--comp-mt-threads": ("compress-threads", 1, _COUNT),
    "--comp-mt-dthreads": ("decompress-threads", 1, _COUNT),
    "--comp-zlib-level": ("multifd-zlib-level", 1, _LEVEL),
    "--comp-zstd-level": ("multifd-zstd-level", 1, _LEVEL),
}
_VIRSH_CAP_FLAGS: Final = {"--auto-converge": "auto-converge", "--postcopy": "postcopy-ram",
                           "--parallel": "multifd"}
_VIRSH_OTHER_VALUE: Final = ("--timeout", "--comp-methods", "--migrateuri", "--listen-address",
                             "--graphicsuri", "--dname", "--xml", "--persistent-xml",
                             "--disks-port", "--disks-uri", "--migrate-disks", "--tls-destination",
                             "--desturi", "--domain")
_VIRSH_NAMING_VALUE: Final = frozenset(_VIRSH_OTHER_VALUE) - {"--timeout", "--comp-methods",
                                                               "--migrate-disks", "--disks-port",
                                                               "--disks-uri"}
"""Value flags that only name things (URIs, addresses, XML): nothing to simulate."""
_VIRSH_BOOKKEEPING: Final = frozenset({
    "--live", "--p2p", "--direct", "--verbose", "--persistent", "--undefinesource", "--async",
    "--change-protection", "--unsafe", "--abort-on-error", "--postcopy-after-precopy",
    "--compressed"})
"""Flags that change nothing miglab simulates (or that the import handles itself)."""
_VIRSH_KNOWN_UNMAPPED: Final = frozenset({
    "--offline", "--tunnelled", "--suspend", "--copy-storage-all", "--copy-storage-inc",
    "--copy-storage-synchronous-writes", "--rdma-pin-all", "--postcopy-resume", "--zerocopy",
    "--timeout-suspend", "--timeout-postcopy", "--tls", "--disks-detect-zeroes"})


def _whole(command: str, flag: str, value: str | None, accepted: str) -> int:
    """``value`` as a non-negative integer, or an error naming the flag, value and form."""
    if value is None:
        raise ImportError_(f"{command} {flag} needs a value: {accepted}")
    if not re.fullmatch(r"[0-9]+", value):
        raise ImportError_(f"{command} {flag} {value!r}: not accepted; {flag} takes {accepted}")
    return int(value)


def _virsh_words(args: list[str]) -> list[str]:
    """``--flag=value`` split into ``--flag value``, as virsh reads it."""
    out: list[str] = []
    for word in args:
        if word.startswith("--") and "=" in word:
            out += word.split("=", 1)
        else:
            out.append(word)
    return out


def _virsh_migrate(args: list[str], params: dict[str, Any], caps: dict[str, bool],  # noqa: C901
                   control: dict[str, Any], notes: Notes) -> None:
    """Branchy because it mirrors virsh's own reading of ``virsh migrate``'s options
    (tools/virsh-domain.c, ``cmdMigrate``), option by option.
    """
    methods: list[str] = []
    compressed = False
    args = _virsh_words(args)
    i = 0
    while i < len(args):
        flag = args[i]
        value = args[i + 1] if i + 1 < len(args) else None
        if flag in _VIRSH_VALUE_FLAGS:
            name, mult, accepted = _VIRSH_VALUE_FLAGS[flag]
            params[name] = _whole("virsh migrate", flag, value, accepted) * mult
            i += 2
            continue
        if flag in _VIRSH_CAP_FLAGS:
            caps[_VIRSH_CAP_FLAGS[flag]] = True
        elif flag == "--postcopy-after-precopy":
            control["postcopy-after"] = {"passes": 1}
        elif flag == "--compressed":
            compressed = True
        elif flag == "--comp-methods":
            methods = (value or "").split(",")
        elif flag == "--timeout":
            _note(notes, f"--timeout {value} suspends the guest (or starts postcopy) instead of "
                         "cancelling; not imported")
        elif flag in ("--migrate-disks", "--disks-port", "--disks-uri"):
            _note(notes, f"{flag} {value}: storage migration is not simulated; ignored")
        elif flag in _VIRSH_KNOWN_UNMAPPED:
            _note(notes, f"{flag}: not simulated by miglab; ignored")
        elif flag.startswith("-") and flag not in _VIRSH_BOOKKEEPING | _VIRSH_NAMING_VALUE:
            _note(notes, f"{flag}: not a virsh migrate option miglab knows; ignored")
        i += 2 if flag in _VIRSH_OTHER_VALUE else 1
    if compressed:
        for method in methods or ["xbzrle"]:
            if method == "xbzrle":
                caps["xbzrle"] = True
            elif method == "mt":
                caps["compress"] = True
            elif method in ("zlib", "zstd"):
                params["multifd-compression"] = method
            else:
                _note(notes, f"--comp-methods {method}: not a method miglab maps (xbzrle, mt, "
                             "zlib, zstd); ignored")


_TIMEOUT_MULT: Final = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _timeout_seconds(value: str) -> float:
    """timeout(1)'s duration (``600``, ``10m``, ``1.5h``) in seconds."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([smhd]?)", value)
    if not match:
        raise ImportError_(f"timeout {value!r}: not accepted; timeout(1) takes a duration "
                           "such as 600, 600s, 10m or 1h")
    return float(match.group(1)) * _TIMEOUT_MULT[match.group(2)]


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
            control["timeout"] = _timeout_seconds(words[words.index("virsh") - 1])
            words = words[words.index("virsh"):]
        if words[:1] != ["virsh"] or len(words) < 2:
            continue
        sub, rest = words[1], words[2:]
        if sub == "migrate":
            seen_migrate = True
            _virsh_migrate(rest, params, caps, control, notes)
        elif sub == "migrate-setmaxdowntime" and len(rest) >= 2:
            params["downtime-limit"] = _whole("virsh migrate-setmaxdowntime", "downtime",
                                              rest[-1], "a whole number of milliseconds, "
                                              "e.g. 500")
        elif sub == "migrate-setspeed" and rest:
            target = "max-postcopy-bandwidth" if "--postcopy" in rest else "max-bandwidth"
            words = [w for w in _virsh_words(rest) if w not in ("--postcopy", "--domain",
                                                                  "--bandwidth")]
            if len(words) >= 2:
                params[target] = _whole("virsh migrate-setspeed", "bandwidth", words[-1],
                                        _MIBS) * MiB
        elif sub == "migrate-compcache" and "--size" in rest:
            size = rest.index("--size") + 1
            params["xbzrle-cache-size"] = _whole("virsh migrate-compcache", "--size",
                                                 rest[size] if size < len(rest) else None,
                                                 "a whole number of bytes, e.g. 67108864")
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
    for doc in load_yaml_all(text, "KubeVirt YAML", error=ImportError_):
        if not isinstance(doc, Mapping):
            continue
        kind = doc.get("kind")
        if kind == "MigrationPolicy":
            policy.update({k: v for k, v in _mapping(doc, "spec").items()
                           if k != "selectors"})
        elif kind == "KubeVirt":
            configuration = _mapping(_mapping(doc, "spec"), "configuration")
            cluster.update(_mapping(configuration, "migrations"))
        elif "migrations" in doc and isinstance(doc["migrations"], Mapping):
            cluster.update(doc["migrations"])
        else:
            cluster.update(doc)
    return {**cluster, **policy}


def _mapping(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``doc[key]`` when it is a mapping, ``{}`` when absent; anything else is refused."""
    value = doc.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImportError_(f"KubeVirt YAML: {key} must be a mapping, got "
                           f"{type(value).__name__}")
    return value


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


# ------------------------------------------------------------------------- platform policies
#
# The readers below take a platform's own configuration as *its policy*: the result is a
# ``control.policy`` of that kind laid over the base, simulated through the policy exactly as
# ``miglab recommend --for …`` simulated it. (``from_kubevirt`` above translates KubeVirt's
# fields into QEMU settings instead, for a scenario without a policy.)


def _with_policy(policy: Mapping[str, Any], base: Mapping[str, Any] | None,
                 extra: Mapping[str, Any] | None = None, notes: Notes = None
                 ) -> ScenarioDict:
    """``base`` with ``control.policy`` replaced by ``policy`` (and ``extra`` sections).

    What the platform decides itself (:attr:`sim.targets.Target.owns`: bandwidth, downtime,
    auto-converge, postcopy, timeouts) is taken out of the base first, as the recommender
    does, so the imported configuration alone decides them.
    """
    from sim.targets import TARGETS, default_target

    trimmed: ScenarioDict = json.loads(json.dumps(dict(base or {}), default=str))
    target = TARGETS[default_target(policy)]
    dropped = []
    for path in target.owns:
        section, _, key = path.partition(".")
        node = trimmed.get(section)
        if isinstance(node, dict) and key in node:
            node.pop(key)
            if path != "control.policy":
                dropped.append(path)
            if not node:
                trimmed.pop(section)
    if dropped:
        _note(notes, f"{target.title} decides {', '.join(dropped)} itself; the base's "
                     "values were left out")
    imported: ScenarioDict = {"control": {"policy": dict(policy)}}
    for key, value in (extra or {}).items():
        imported[key] = value
    return merge(trimmed, imported)


def from_kubevirt_policy(text: str, base: Mapping[str, Any] | None = None, *,
                         notes: Notes = None) -> ScenarioDict:
    """A ``kubevirt`` policy from a ``MigrationPolicy`` and/or the CR's ``migrations`` block.

    The policy's fields override the cluster's (as KubeVirt applies them); each field of
    :data:`sim.policies.kubevirt.OPTIONS` is kept as written, the others are noted.

    Args:
        text: YAML, one or more documents.
        base: a scenario to lay the result over.
        notes: a list that receives what could not be mapped.
    """
    from sim.policies.kubevirt import OPTIONS

    mig = _kubevirt_migrations(text)
    policy: dict[str, Any] = {"kind": "kubevirt"}
    for key, value in mig.items():
        if key in OPTIONS:
            policy[key] = value
        else:
            _note(notes, f"{key}: not part of miglab's KubeVirt policy; ignored")
    return _with_policy(policy, base, notes=notes)


def _ini_value(text: str) -> Any:
    """An oslo.config value: ``true``/``false``, a whole number, else the text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if re.fullmatch(r"-?[0-9]+", low):
        return int(low)
    return text.strip()


def from_nova(text: str, base: Mapping[str, Any] | None = None, *,
              notes: Notes = None) -> ScenarioDict:
    """A ``nova`` policy from ``nova.conf``'s ``[libvirt]`` section.

    Every ``live_migration_*`` option of :data:`sim.policies.nova.OPTIONS` is read;
    ``live_migration_parallel_connections`` (Nova 33.0.0+) turns multifd on with that many
    channels; ``[DEFAULT] max_concurrent_live_migrations`` is a drain limit and is noted.

    Raises:
        ImportError_: no ``[libvirt]`` section.
    """
    import configparser

    from sim.policies.nova import OPTIONS

    cfg = configparser.ConfigParser(interpolation=None)
    try:
        cfg.read_string(text)
    except configparser.Error as err:
        raise ImportError_(f"not a nova.conf: {err}") from err
    if not cfg.has_section("libvirt"):
        raise ImportError_("no [libvirt] section in this nova.conf")
    policy: dict[str, Any] = {"kind": "nova"}
    extra: dict[str, Any] = {}
    for key, raw in cfg.items("libvirt", raw=True):
        value = _ini_value(raw)
        if key in OPTIONS:
            policy[key] = value
        elif key == "live_migration_parallel_connections":
            extra = {"capabilities": {"multifd": True},
                     "parameters": {"multifd-channels": value}}
        elif key in cfg.defaults():
            continue
        else:
            _note(notes, f"[libvirt] {key}: not simulated by miglab; ignored")
    if cfg.has_option("DEFAULT", "max_concurrent_live_migrations"):
        _note(notes, "max_concurrent_live_migrations limits a drain (miglab drain "
                     "--per-node), not one migration")
    return _with_policy(policy, base, extra, notes)


_PROXMOX_QM: Final = re.compile(r"^qm\s+(set|migrate)\s+(.*)$")


def from_proxmox(text: str, base: Mapping[str, Any] | None = None, *,  # noqa: C901
                 notes: Notes = None) -> ScenarioDict:
    """A ``proxmox`` policy from ``qm set``/``qm migrate`` lines and ``datacenter.cfg``.

    Branchy because it reads qemu-server's migration settings key by key, each with its own
    unit.

    ``migrate_downtime`` (s) and ``migrate_speed`` (MB/s, read as MiB/s) come from ``qm
    set``; a ``bwlimit`` (KiB/s, on ``qm migrate`` or ``bwlimit: migration=`` in
    datacenter.cfg) caps the speed: Proxmox uses the lower limit. The migration type is
    noted (not simulated).

    Raises:
        ImportError_: neither a ``qm`` line nor a datacenter.cfg migration line.
    """
    policy: dict[str, Any] = {"kind": "proxmox"}
    limits_kib: list[int] = []
    seen = False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        qm = _PROXMOX_QM.match(line)
        if qm:
            seen = True
            words = _virsh_words(shlex.split(qm.group(2)))
            for i, word in enumerate(words):
                value = words[i + 1] if i + 1 < len(words) else None
                if word == "--migrate_downtime" and value is not None:
                    policy["migrate_downtime"] = float(value)
                elif word == "--migrate_speed" and value is not None:
                    policy["migrate_speed"] = _whole("qm set", word, value, _MIBS)
                elif word == "--bwlimit" and value is not None:
                    limits_kib.append(_whole("qm migrate", word, value,
                                             "a whole number of KiB/s"))
            continue
        key, _, value = line.partition(":")
        if key.strip() == "bwlimit":
            seen = True
            for item in value.split(","):
                name, _, number = item.strip().partition("=")
                if name == "migration":
                    limits_kib.append(_whole("datacenter.cfg bwlimit", "migration", number,
                                             "a whole number of KiB/s"))
        elif key.strip() == "migration":
            seen = True
            _note(notes, f"migration: {value.strip()}: the migration type and network are "
                         "not simulated")
    if not seen:
        raise ImportError_("no 'qm set', 'qm migrate' or datacenter.cfg migration line found")
    if limits_kib:
        cap_mib = min(limits_kib) * KiB / MiB
        speed = int(policy.get("migrate_speed", 0))
        if speed == 0 or cap_mib < speed:
            whole = max(1, math.floor(cap_mib))
            if whole != cap_mib:
                _note(notes, f"bwlimit {min(limits_kib)} KiB/s is not whole MiB/s; "
                             f"imported as migrate_speed {whole}")
            policy["migrate_speed"] = whole
    return _with_policy(policy, base, notes=notes)


def from_ovirt(text: str, base: Mapping[str, Any] | None = None, *,
               notes: Notes = None) -> ScenarioDict:
    """An ``ovirt`` policy from the cluster's migration settings (JSON) and ``vdsm.conf``.

    The cluster's ``migration.policy.name`` picks the built-in schedule; a ``custom``
    bandwidth in Mbit/s, shared by the policy's ``maxMigrations``, becomes
    ``max-bandwidth``; ``migration_max_time_per_gib_mem`` comes from vdsm.conf.

    Raises:
        ImportError_: no cluster migration settings in the text.
    """
    from sim.targets import BITS_PER_MBIT, OVIRT_MAX_MIGRATIONS, OVIRT_SCHEDULE_NAMES

    by_name = {v: k for k, v in OVIRT_SCHEDULE_NAMES.items()}
    policy: dict[str, Any] = {"kind": "ovirt"}
    params: dict[str, Any] = {}
    migration: Mapping[str, Any] | None = None
    chunk: list[str] = []

    def flush() -> None:
        nonlocal migration
        body = "\n".join(chunk).strip()
        chunk.clear()
        if body.startswith("{"):
            data = loads_json(body, "oVirt cluster JSON", error=ImportError_)
            found = (data.get("cluster") or {}).get("migration")
            if isinstance(found, Mapping):
                migration = found

    for line in text.splitlines():
        if _SECTION.match(line.strip()):
            flush()
            continue
        vdsm = re.match(r"^\s*migration_max_time_per_gib_mem\s*=\s*([0-9]+)\s*$", line)
        if vdsm:
            policy["max_time_per_gib_mem"] = int(vdsm.group(1))
            continue
        chunk.append(line)
    flush()
    if migration is None:
        raise ImportError_("no cluster migration settings ({\"cluster\": {\"migration\": "
                           "…}}) found")
    name = (migration.get("policy") or {}).get("name")
    if name is not None:
        if name not in by_name:
            raise ImportError_(f"migration policy {name!r}: not a built-in oVirt policy "
                               "miglab simulates; expected one of " + ", ".join(by_name))
        policy["schedule"] = by_name[name]
    bandwidth = migration.get("bandwidth") or {}
    if bandwidth.get("assignment_method") == "custom":
        share = OVIRT_MAX_MIGRATIONS[str(policy.get("schedule", "minimal-downtime"))]
        params["max-bandwidth"] = round(int(bandwidth["custom_value"]) * BITS_PER_MBIT / 8
                                        / share)
    elif bandwidth:
        _note(notes, f"bandwidth {bandwidth.get('assignment_method')}: the hypervisor's "
                     "own limit applies; not imported")
    return _with_policy(policy, base, {"parameters": params} if params else None, notes)


# ------------------------------------------------------------------------- registry

Importer = Callable[..., ScenarioDict]

IMPORTERS: Final[dict[str, Importer]] = {
    "qmp": from_qmp,
    "virsh": from_virsh,
    "kubevirt": from_kubevirt,
    "kubevirt-policy": from_kubevirt_policy,
    "nova": from_nova,
    "proxmox": from_proxmox,
    "ovirt": from_ovirt,
}
"""Every importer: name → function ``(text, base=None, *, notes=None) -> dict``."""


TEXT_STARTS: Final[dict[str, tuple[str, ...]]] = {
    "qmp": ("{", "[", "->", "<-"),
    "virsh": ("virsh ", "timeout "),
    "kubevirt": ("apiVersion:", "kind:", "migrations:", "---"),
    "kubevirt-policy": ("apiVersion:", "kind:", "migrations:", "---", "#"),
    "nova": ("[", "#"),
    "proxmox": ("qm ", "bwlimit:", "migration:", "#"),
    "ovirt": ("{", "#"),
}
"""How text (rather than a file name) of each format starts."""


def looks_like(text: str, fmt: str) -> bool:
    """Whether ``text`` starts the way ``fmt`` text does (a virsh line starts with ``virsh``,
    QMP with ``{`` or ``[``, KubeVirt YAML with ``apiVersion:``/``kind:``/``migrations:``).

    >>> looks_like("virsh migrate --live vm qemu+ssh://b/system", "virsh")
    True
    >>> looks_like("data/virsh.sh", "virsh")
    False
    """
    return text.lstrip().startswith(TEXT_STARTS.get(fmt, ()))


def import_text(text: str, fmt: str, base: Mapping[str, Any] | None = None, *,
                notes: Notes = None, qemu: str | None = None) -> ScenarioDict:
    """Read ``text`` in format ``fmt`` (a key of :data:`IMPORTERS`) into a scenario dict.

    ``qemu`` is the release a QMP log is replayed as (see :func:`from_qmp`); the other
    formats do not depend on it and set it as the scenario's ``qemu``.

    Raises:
        ImportError_: an unknown format or release, or text the importer cannot read.
    """
    importer = IMPORTERS.get(fmt)
    if importer is None:
        raise ImportError_(f"unknown import format {fmt!r}; expected one of "
                           + ", ".join(IMPORTERS))
    if qemu is not None and str(qemu) not in VERSIONS:
        raise ImportError_(f"--qemu {qemu!r}: unknown QEMU release; expected one of "
                           + ", ".join(VERSIONS))
    try:
        if importer is from_qmp:
            data = from_qmp(text, base, qemu=qemu, notes=notes)
        else:
            data = importer(text, base, notes=notes)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError,
            OverflowError) as err:
        raise ImportError_(f"cannot read this as {fmt}: {err}") from err
    if qemu is not None and importer is not from_qmp:
        data["qemu"] = str(qemu)
    _check_imported(data, fmt)
    return data


def _check_imported(data: ScenarioDict, fmt: str) -> None:
    """Refuse an import whose scenario miglab would refuse: the same checks as
    :func:`sim.scenario.validate` (QEMU's words first), with a stand-in ``vm`` when the
    import had no base to give one, so that nothing is written that cannot be loaded."""
    from sim.scenario import validate

    stand_in = {**data, "vm": data.get("vm") or {"memory": "1GiB"}}
    problems = validate(stand_in).problems
    if problems:
        lines = "; ".join(f"{p.field} = {p.value!r}: {p.message}" for p in problems[:5])
        raise ImportError_(f"the {fmt} input gives settings miglab cannot use: {lines}")
