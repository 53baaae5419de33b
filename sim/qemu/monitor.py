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

from sim._exceptions import QemuError
from sim.qemu.checks import check_capabilities, check_parameters
from sim.qemu.host import HostSupport
from sim.qemu.qapi import visit_set_capabilities, visit_set_parameters
from sim.qemu.versions import VersionProfile, profile

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

    def __init__(self, version: str | VersionProfile = "8.2", host: HostSupport | None = None,
                 *, incoming: bool = False) -> None:
        self.profile = version if isinstance(version, VersionProfile) else profile(version)
        self.host = host or HostSupport()
        self.incoming = incoming
        self.parameters: dict[str, object] = self.profile.default_parameters()
        self.capabilities: dict[str, bool] = self.profile.default_capabilities()
        self.status = "none"
        self._negotiated: bool | None = None
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
        }

    # ------------------------------------------------------------------ dispatching

    def execute(self, request: object) -> Reply:
        """Answer one QMP request exactly as the emulated QEMU would.

        Args:
            request: a decoded JSON value, normally ``{"execute": …, "arguments": {…}}``.

        Returns:
            ``{"return": …}`` or ``{"error": {"class": …, "desc": …}}``, with ``"id"``
            copied from the request when it has one.
        """
        reply = self._dispatch(request)
        if isinstance(request, Mapping) and "id" in request:
            reply["id"] = request["id"]
        return reply

    def _dispatch(self, request: object) -> Reply:
        if not isinstance(request, Mapping):
            return QemuError("QMP input must be a JSON object").reply()
        command = request.get("execute")
        if "execute" not in request:
            return QemuError("QMP input member 'execute' is missing").reply()
        if not isinstance(command, str):
            return QemuError("QMP input member 'execute' must be a string").reply()
        for key in request:
            if key not in ("execute", "arguments", "id", "control"):
                return QemuError(f"QMP input member '{key}' is unexpected").reply()
        args = request.get("arguments", {})
        if not isinstance(args, Mapping):
            return QemuError("QMP input member 'arguments' must be an object").reply()
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
            return {"return": handler(args)}
        except QemuError as err:
            return err.reply()

    # ------------------------------------------------------------------ commands

    @staticmethod
    def _no_arguments(args: Mapping[str, Any]) -> None:
        for key in args:
            raise QemuError(f"Parameter '{key}' is unexpected")

    def _qmp_capabilities(self, args: Mapping[str, Any]) -> object:
        if self._negotiated:
            raise QemuError("Capabilities negotiation is already complete, command ignored",
                            "CommandNotFound")
        for key in args:
            if key != "enable":
                raise QemuError(f"Parameter '{key}' is unexpected")
        self._negotiated = True
        return {}

    def _query_version(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        major, minor = self.profile.version
        return {"qemu": {"micro": self.profile.micro, "minor": minor, "major": major},
                "package": ""}

    def _query_parameters(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        return {k: v for k, v in self.parameters.items()
                if not (k == "block-bitmap-mapping" and v is None)}

    def _query_capabilities(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        return [{"state": state, "capability": name}
                for name, state in self.capabilities.items()]

    def _set_parameters(self, args: Mapping[str, Any]) -> object:
        typed = visit_set_parameters(args, self.profile)
        merged = self.parameters | typed
        check_parameters(merged, self.capabilities, self.profile, self.host).raise_first()
        if not self.profile.multifd_levels_over_qmp:
            # 8.2 and earlier never copy these two into the live state (§10 quirk).
            typed.pop("multifd-zlib-level", None)
            typed.pop("multifd-zstd-level", None)
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
                           incoming=self.incoming).raise_first()
        self.capabilities = new
        return {}

    def _query_migrate(self, args: Mapping[str, Any]) -> object:
        self._no_arguments(args)
        return {} if self.status == "none" else {"status": self.status}

    def _migrate(self, args: Mapping[str, Any]) -> object:
        if "uri" not in args:
            raise QemuError("Parameter 'uri' is missing")
        if not isinstance(args["uri"], str):
            raise QemuError("Invalid parameter type for 'uri', expected: string")
        if self.status in _RUNNING:
            raise QemuError(_ACTIVE)
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
        return {}
