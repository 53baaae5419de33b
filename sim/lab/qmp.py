"""A small synchronous QMP client (standard library only).

QMP, the QEMU Machine Protocol, is JSON over a socket: QEMU greets with
``{"QMP": {...}}``, the client sends ``qmp_capabilities`` to leave negotiation
mode, then each command ``{"execute": name, "arguments": {...}}`` is answered by
one ``{"return": value}`` or ``{"error": {"class": ..., "desc": ...}}``.
Asynchronous events (``{"event": "STOP", ...}``) may arrive at any time, also
between a command and its reply.

This client keeps it simple: one blocking socket with a timeout, one command in
flight, and every event met while waiting for a reply is queued in
:attr:`QMPClient.events` for the caller to inspect. The maintained library for
QMP is ``qemu.qmp`` on PyPI (asyncio); the lab needs only this much.

Example::

    with QMPClient.connect(Path("src.qmp")) as qmp:
        qmp.execute("migrate-set-parameters", {"max-bandwidth": 64 << 20})
        status = qmp.execute("query-migrate")["status"]
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sim._exceptions import QMPError as QMPError  # re-exported: raised here
from sim._exceptions import QMPProtocolError as QMPProtocolError

JSONObject = dict[str, Any]

_CONNECT_RETRY_S = 0.02


@dataclass(frozen=True)
class QMPEvent:
    """An asynchronous QMP event.

    Attributes:
        name: Event name, e.g. ``"STOP"`` or ``"MIGRATION"``.
        data: The event's ``data`` member (empty when absent).
        timestamp: QEMU's timestamp, in seconds since the epoch.
    """

    name: str
    data: JSONObject
    timestamp: float


@dataclass
class QMPClient:
    """A connected, negotiated QMP session.

    Create one with :meth:`connect`; close it with :meth:`close` or a ``with``
    block.

    Attributes:
        greeting: The ``QMP`` member of QEMU's greeting (version, capabilities).
        events: Events received so far and not yet taken by :meth:`take_events`.
    """

    _sock: socket.socket
    _buffer: bytes = b""
    greeting: JSONObject = field(default_factory=dict)
    events: list[QMPEvent] = field(default_factory=list)

    @classmethod
    def connect(cls, path: Path, timeout: float = 10.0) -> QMPClient:
        """Connect to a QMP unix socket and negotiate capabilities.

        Retries until the socket accepts (QEMU creates it shortly after it
        starts) or ``timeout`` expires.

        Args:
            path: The unix socket given to ``-qmp unix:PATH,server=on,wait=off``.
            timeout: Seconds allowed for connecting, and for each reply later on.

        Returns:
            A client ready to :meth:`execute` commands.

        Raises:
            TimeoutError: Nothing accepted the connection in time.
            QMPProtocolError: The peer did not greet like QEMU.
        """
        client = cls(_open_unix_socket(path, timeout))
        try:
            client.greeting = client._read_greeting()
            client.execute("qmp_capabilities")
        except BaseException:
            client.close()
            raise
        return client

    def execute(self, command: str, arguments: JSONObject | None = None) -> Any:
        """Run one command and return its ``return`` value.

        Args:
            command: The QMP command name, e.g. ``"query-migrate"``.
            arguments: The command's arguments, QMP names as keys.

        Returns:
            The decoded ``return`` member (often a dict, sometimes empty).

        Raises:
            QMPError: QEMU refused the command; carries QEMU's class and text.
            TimeoutError: No reply within the socket timeout.
            QMPProtocolError: The connection closed before the reply.
        """
        request: JSONObject = {"execute": command}
        if arguments is not None:
            request["arguments"] = arguments
        self._sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            message = self._read_message()
            if "event" in message:
                self.events.append(_event_from(message))
            elif "error" in message:
                error = message["error"]
                raise QMPError(str(error.get("class", "")), str(error.get("desc", "")))
            elif "return" in message:
                return message["return"]

    def take_events(self) -> list[QMPEvent]:
        """Return the queued events, oldest first, and empty the queue."""
        taken, self.events = self.events, []
        return taken

    def close(self) -> None:
        """Close the socket. Safe to call more than once."""
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _read_greeting(self) -> JSONObject:
        message = self._read_message()
        # Under load QEMU 7.2 was seen to send RESUME before the greeting on a fresh
        # socket; an event is queued, anything else that is not a greeting is refused.
        for _ in range(16):
            if "event" not in message:
                break
            self.events.append(_event_from(message))
            message = self._read_message()
        greeting = message.get("QMP")
        if not isinstance(greeting, dict):
            raise QMPProtocolError(f"expected a QMP greeting, got {message!r}")
        return greeting

    def _read_message(self) -> JSONObject:
        """Read one newline-terminated JSON object."""
        while b"\n" not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise QMPProtocolError("QMP connection closed by the peer")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise QMPProtocolError(f"expected a JSON object, got {line!r}")
        return message


def _open_unix_socket(path: Path, timeout: float) -> socket.socket:
    """Connect to ``path``, retrying while the socket does not accept yet."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no QMP server at {path} after {timeout} s") from exc
            time.sleep(_CONNECT_RETRY_S)
        else:
            return sock


def _event_from(message: JSONObject) -> QMPEvent:
    stamp = message.get("timestamp", {})
    seconds = float(stamp.get("seconds", 0)) + float(stamp.get("microseconds", 0)) / 1e6
    return QMPEvent(str(message["event"]), dict(message.get("data", {})), seconds)
