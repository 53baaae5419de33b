"""A QMP monitor that answers migration commands as a given QEMU release would.

Picture a QEMU process with no guest: you can talk to its monitor, set migration
parameters and capabilities, query them, start and cancel a (pretend) migration, and
every reply — including every refusal — is the one that release would send. State carries
over between commands as in one process, so ``migrate-set-parameters`` checks the *merged*
set and capability changes are refused while a migration is "running".

    >>> mon = QmpMonitor("8.2")
    >>> mon.execute({"execute": "migrate-set-parameters",
    ...              "arguments": {"downtime-limit": 2000001}})["error"]["desc"]
    "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"

``miglab qmp`` is a thin loop around :meth:`QmpMonitor.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sim._bounded import loads_json
from sim._exceptions import InputError, QemuError
from sim.qemu._qobject import first_unvisited, qdict_order, qdict_sorted
from sim.qemu.checks import check_capabilities, check_parameters
from sim.qemu.host import HostSupport
from sim.qemu.qapi import visit_set_capabilities, visit_set_parameters
from sim.qemu.versions import DEFAULT_VERSION, VersionProfile, profile

__all__ = ["QmpMonitor"]

Reply = dict[str, Any]
_RUNNING = ("setup", "active", "postcopy-active", "pre-switchover", "device",
            "postcopy-paused", "postcopy-recover", "cancelling", "wait-unplug")
_ACTIVE = "There's a migration process in progress"


class QmpMonitor:
    """One emulated QEMU monitor.

    Args:
        version: the QEMU release to behave as (``"7.2"``, ``"8.2"``, …).
        host: host facts for host-dependent checks.
        incoming: behave as a destination started with ``-incoming`` (runstate
            ``inmigrate``), where enabling ``postcopy-ram`` checks userfaultfd.

    Attributes:
        parameters: current parameters by QMP name.
        capabilities: current capabilities by QMP name.
        status: the migration status ``query-migrate`` would report (``"none"`` at start).
    """

    def __init__(self, version: str | VersionProfile = DEFAULT_VERSION,
                 host: HostSupport | None = None,
                 *, incoming: bool = False, negotiated: bool | None = None,
                 package: str = "") -> None:
        self.profile = version if isinstance(version, VersionProfile) else profile(version)
        self.host = host or HostSupport()
        self.incoming = incoming
        self.parameters: dict[str, object] = self.profile.default_parameters()
        self.capabilities: dict[str, bool] = self.profile.default_capabilities()
        self.status = "none"
        self.package = package
        self._negotiated: bool | None = negotiated
        self._incoming_started = False
        self._commands: dict[str, Callable[[Mapping[str, Any]], object]] = {
            "qmp_capabilities": self._qmp_capabilities,
            "query-version": self._query_version,
            "query-migrate-parameters": self._query_parameters,
            "query-migrate-capabilities": self._query_capabilities,
            "migrate-set-parameters": self._set_parameters,
            "migrate-set-capabilities": self._set_capabilities,
            "query-migrate": self._query_migrate,
            "migrate": self._migrate,
            "migrate_cancel": self._migrate_cancel,
            "migrate-start-postcopy": self._start_postcopy,
            "migrate-incoming": self._migrate_incoming,
            "migrate-continue": self._migrate_continue,
            "migrate-pause": self._migrate_pause,
            "migrate-recover": self._migrate_recover,
            "query-status": self._query_status,
        }

    # ------------------------------------------------------------------ dispatching

    def execute(self, request: object) -> Reply:
        """Answer one QMP request exactly as the emulated QEMU would.

        Args:
            request: a decoded JSON value, normally ``{"execute": …, "arguments": {…}}``.

        Returns:
            ``{"return": …}`` or ``{"error": {"class": …, "desc": …}}``, with ``"id"``
            copied from the request when it has one; keys in QEMU's own (hash) order.
        """
        reply = self._dispatch(request)
        if isinstance(request, Mapping) and "id" in request:
            reply["id"] = request["id"]
        return {k: reply[k] for k in qdict_order(reply)}

    def execute_text(self, line: str) -> Reply:
        """Answer one request given as JSON text (a parse error gets QEMU's reply)."""
        try:
            # strict JSON as QEMU's parser (qobject/json-parser.c) reads it: no NaN or
            # Infinity, unique keys. Real 7.2 echoes "id": 1e999 back as `inf`, which is
            # not JSON; miglab refuses it instead, so that every reply it prints parses.
            request = loads_json(line, "QMP")
        except InputError as err:
            what = "duplicate key" if "duplicate key" in str(err) else "expecting value"
            return QemuError(f"JSON parse error, {what}").reply()
        return self.execute(request)

    def _dispatch(self, request: object) -> Reply:
        if not isinstance(request, Mapping):
            return QemuError("QMP input must be a JSON object").reply()
        has_execute = False
        for key in qdict_order(request):  # qmp_dispatch_check_obj walks the QDict
            value = request[key]
            if key == "execute":
                if not isinstance(value, str):
                    return QemuError("QMP input member 'execute' must be a string").reply()
                has_execute = True
            elif key == "arguments":
                if not isinstance(value, Mapping):
                    return QemuError("QMP input member 'arguments' must be an object").reply()
            elif key != "id":
                return QemuError(f"QMP input member '{key}' is unexpected").reply()
        if not has_execute:
            return QemuError("QMP input lacks member 'execute'").reply()
        command = str(request["execute"])
        args: Mapping[str, Any] = request.get("arguments", {})
        if self._negotiated is None:
            # A session that does not open with qmp_capabilities is taken as negotiated.
            self._negotiated = command != "qmp_capabilities"
        if not self._negotiated and command != "qmp_capabilities":
            return QemuError("Expecting capabilities negotiation with 'qmp_capabilities'",
                             "CommandNotFound").reply()
        handler = self._commands.get(command)
        if handler is None:
            return QemuError(f"The command {command} has not been found",
                             "CommandNotFound").reply()
        try:
            return {"return": qdict_sorted(handler(args))}
        except QemuError as err:
            return err.reply()

    # ------------------------------------------------------------------ commands

    @staticmethod
    def _no_arguments(args: Mapping[str, Any], known: tuple[str, ...] = ()) -> None:
        extra = first_unvisited(args, [k for k in known if k in args])
        if extra is not None:
            raise QemuError(f"Parameter '{extra}' is unexpected")

    def _qmp_capabilities(self, args: Mapping[str, Any]) -> object:
        if self._negotiated:
            raise QemuError("Capabilities negotiation is already complete, command ignored",
                            "CommandNotFound")
        self._no_arguments(args, ("enable",))
        self._negotiated = True
        return {}

    def _query_version(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        major, minor = self.profile.version
        return {"qemu": {"major": major, "minor": minor, "micro": self.profile.micro},
                "package": self.package}

    def _query_parameters(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        return {k: v for k, v in self.parameters.items()
                if not (k == "block-bitmap-mapping" and v is None)}

    def _query_capabilities(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        return [{"capability": name, "state": state}
                for name, state in self.capabilities.items()]

    def _set_parameters(self, args: Mapping[str, Any]) -> object:
        typed = visit_set_parameters(args, self.profile)
        if not self.profile.multifd_levels_over_qmp:
            # 8.2 and earlier never copy these two into the merged or live state, so they
            # are neither range-checked nor applied (migrate_params_test_apply quirk).
            typed.pop("multifd-zlib-level", None)
            typed.pop("multifd-zstd-level", None)
        merged = self.parameters | typed
        check_parameters(merged, self.capabilities, self.profile, self.host,
                         current=self.parameters).raise_first()
        self.parameters.update(typed)
        return {}

    def _set_capabilities(self, args: Mapping[str, Any]) -> object:
        pairs = visit_set_capabilities(args, self.profile)
        if self.status in _RUNNING:
            raise QemuError(_ACTIVE)
        new = dict(self.capabilities)
        for name, state in pairs:
            new[name] = state
        check_capabilities(self.capabilities, new, self.parameters, self.profile, self.host,
                           incoming=self.incoming,
                           incoming_started=self._incoming_started).raise_first()
        self.capabilities = new
        return {}

    def _query_migrate(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        return {} if self.status == "none" else {"status": self.status}

    def _migrate(self, args: Mapping[str, Any]) -> object:
        _require_str(args, "uri")
        if self.status in _RUNNING:
            raise QemuError(_ACTIVE)
        if self.incoming:
            raise QemuError("Guest is waiting for an incoming migration")
        if self.status == "completed":
            raise QemuError("Can't migrate the vm that was paused due to previous migration")
        self.status = "active"
        return {}

    def _migrate_cancel(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        if self.status in _RUNNING:
            self.status = "cancelled"
        return {}

    def _start_postcopy(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        if not self.capabilities.get("postcopy-ram"):
            raise QemuError("Enable postcopy with migrate_set_capability before the start "
                            "of migration")
        if self.status == "none":
            raise QemuError("Postcopy must be started after migration has been started")
        if self.status == "active":
            self.status = "postcopy-active"
        return {}

    def _migrate_incoming(self, args: Mapping[str, Any]) -> object:
        _require_str(args, "uri")
        self._no_arguments(args, ("uri",))
        if self._incoming_started:
            raise QemuError("The incoming migration has already been started")
        if not self.incoming:
            raise QemuError("'-incoming' was not specified on the command line")
        self._incoming_started = True
        return {}

    def _migrate_continue(self, args: Mapping[str, Any]) -> object:
        _require_str(args, "state")
        self._no_arguments(args, ("state",))
        if self.status != args["state"]:
            raise QemuError(f"Migration not in expected state: {self.status}")
        return {}

    def _migrate_pause(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        raise QemuError("migrate-pause is currently only supported during postcopy-active "
                        "state")

    def _migrate_recover(self, args: Mapping[str, Any]) -> object:
        _require_str(args, "uri")
        self._no_arguments(args, ("uri",))
        raise QemuError("Migrate recover can only be run when postcopy is paused.")

    def _query_status(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        status = "inmigrate" if self.incoming else "running"
        return {"status": status, "singlestep": False, "running": status == "running"}


def _require_str(args: Mapping[str, Any], name: str) -> None:
    if name not in args:
        raise QemuError(f"Parameter '{name}' is missing")
    if not isinstance(args[name], str):
        raise QemuError(f"Invalid parameter type for '{name}', expected: string")
