"""Start the source and destination QEMU of a lab migration, and always reap them.

Both VMs run the lab guest (:mod:`sim.lab.guest`) with the same command line;
the destination adds ``-incoming defer`` so that capabilities can be set on it
before ``migrate-incoming``. Each VM gets, inside a work directory, a QMP unix
socket, a serial log (the guest's reports) and a file with QEMU's own stderr.

:func:`qemu_pair` is a context manager: whatever happens inside the ``with``
block, both QEMU processes it started (and only those) are killed and waited
for on exit.

Example::

    vm = VMSpec(memory_mib=128, vcpus=1, workload=GuestWorkload(32 << 20, 20 << 20))
    with qemu_pair(vm, workdir) as pair:
        pair.source.wait_for_reports(5, timeout=10)
        pair.destination.qmp.execute("migrate-incoming", {"uri": "unix:/tmp/x.sock"})
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sim._exceptions import QemuExitedError as QemuExitedError  # re-exported: raised here
from sim._exceptions import QemuNotFoundError as QemuNotFoundError
from sim.lab.guest import GuestLog, GuestWorkload, build_guest, parse_log
from sim.lab.qmp import QMPClient

QEMU_BINARY = "qemu-system-x86_64"
Role = Literal["source", "destination"]

_UNIX_PATH_MAX = 107
_POLL_S = 0.05


@dataclass(frozen=True)
class VMSpec:
    """The virtual machine both sides run.

    Attributes:
        memory_mib: Guest RAM in MiB (``-m``).
        vcpus: Number of vCPUs (``-smp``); the guest dirties from the first one.
        workload: What the guest does.
        accel: QEMU accelerator; ``"tcg"`` works for everything on the lab host.
    """

    memory_mib: int
    vcpus: int
    workload: GuestWorkload
    accel: str = "tcg"


@dataclass
class QemuProcess:
    """One running QEMU and the files it talks through.

    Attributes:
        role: ``"source"`` or ``"destination"``.
        process: The QEMU process.
        qmp_path: Its QMP unix socket.
        serial_path: Its serial log (the guest's reports).
        stderr_path: QEMU's own stdout and stderr.
    """

    role: Role
    process: subprocess.Popen[bytes]
    qmp_path: Path
    serial_path: Path
    stderr_path: Path
    _qmp: QMPClient | None = None

    @property
    def qmp(self) -> QMPClient:
        """The QMP session, connected on first use."""
        if self._qmp is None:
            self._qmp = QMPClient.connect(self.qmp_path)
        return self._qmp

    def guest_log(self) -> GuestLog:
        """Parse what the guest has written on the serial port so far."""
        if not self.serial_path.exists():
            return GuestLog()
        return parse_log(self.serial_path.read_text(errors="replace"))

    def wait_for_reports(self, count: int, timeout: float) -> GuestLog:
        """Wait until the guest has printed ``count`` progress lines in this VM.

        Args:
            count: Progress lines wanted in this VM's serial log.
            timeout: Seconds to wait at most.

        Raises:
            QemuExitedError: QEMU ended first (its stderr is in the message).
            TimeoutError: Not enough lines in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            log = self.guest_log()
            if len(log.reports) >= count:
                return log
            self.check_running()
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.role}: {len(log.reports)} of {count} guest reports after {timeout} s"
                )
            time.sleep(_POLL_S)

    def vcpu_seconds(self) -> float:
        """CPU time the vCPU threads have run so far, in seconds (from ``/proc``).

        The guest spins, so a vCPU thread is busy whenever it is scheduled: its
        CPU time over a window, divided by the window, is the share of time the
        guest could run (less than 1 when throttled or when the host is busy).
        """
        ticks = 0
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            if (task / "comm").read_text().startswith("CPU "):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def check_running(self) -> None:
        """Raise :class:`QemuExitedError`, with QEMU's stderr, if QEMU has ended."""
        code = self.process.poll()
        if code is not None:
            stderr = self.stderr_path.read_text(errors="replace").strip()
            raise QemuExitedError(f"{self.role} QEMU exited with status {code}: {stderr}")

    def kill(self) -> None:
        """Close QMP, kill this QEMU (SIGKILL to its pid only) and reap it."""
        if self._qmp is not None:
            self._qmp.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@dataclass(frozen=True)
class QemuPair:
    """A source and a destination QEMU started by :func:`qemu_pair`."""

    source: QemuProcess
    destination: QemuProcess


def find_qemu() -> str:
    """Return the path of qemu-system-x86_64.

    Raises:
        QemuNotFoundError: It is not on PATH; the message says how to install it.
    """
    path = shutil.which(QEMU_BINARY)
    if path is None:
        raise QemuNotFoundError(
            f"{QEMU_BINARY} not found: install Debian's qemu-system-x86 "
            "(sudo apt-get install qemu-system-x86) or run bash scripts/system-deps.sh"
        )
    return path


def qemu_command(vm: VMSpec, kernel: Path, qmp_path: Path, serial_path: Path) -> list[str]:
    """Return the QEMU command line of a source VM (a destination adds ``-incoming defer``).

    Raises:
        ValueError: A path contains a comma (QEMU's option separator) or the
            socket path is too long for a unix socket.
    """
    for path in (kernel, qmp_path, serial_path):
        if "," in str(path):
            raise ValueError(f"QEMU cannot take a path with a comma: {path}")
    if len(str(qmp_path)) > _UNIX_PATH_MAX:
        raise ValueError(f"unix socket path longer than {_UNIX_PATH_MAX} bytes: {qmp_path}")
    return [
        find_qemu(),
        "-accel", vm.accel,
        "-machine", "pc",
        "-name", "miglab,debug-threads=on",  # names vCPU threads "CPU n/TCG"
        "-m", str(vm.memory_mib),
        "-smp", str(vm.vcpus),
        "-nodefaults",
        "-display", "none",
        "-serial", f"file:{serial_path}",
        "-kernel", str(kernel),
        "-append", vm.workload.append(),
        "-qmp", f"unix:{qmp_path},server=on,wait=off",
    ]  # fmt: skip


def start_qemu(vm: VMSpec, workdir: Path, role: Role) -> QemuProcess:
    """Start one QEMU; the destination waits for ``migrate-incoming``.

    The caller owns the process: call :meth:`QemuProcess.kill` when done, or
    use :func:`qemu_pair`.

    Args:
        vm: The machine and its guest workload.
        workdir: Directory for the sockets and logs (files are named after ``role``).
        role: ``"source"`` boots and runs the guest; ``"destination"`` waits.
    """
    kernel = build_guest()
    qmp_path, serial_path = workdir / f"{role}.qmp", workdir / f"{role}.serial"
    stderr_path = workdir / f"{role}.stderr"
    command = qemu_command(vm, kernel, qmp_path, serial_path)
    if role == "destination":
        command += ["-incoming", "defer"]
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=stderr, stderr=subprocess.STDOUT
        )
    return QemuProcess(role, process, qmp_path, serial_path, stderr_path)


@contextmanager
def qemu_pair(vm: VMSpec, workdir: Path) -> Iterator[QemuPair]:
    """Start a source and a destination QEMU; kill and reap both on exit.

    Args:
        vm: The machine both sides run.
        workdir: Directory for sockets and logs (``source.*``, ``destination.*``).

    Yields:
        The pair, with QMP connected lazily on first use.

    Raises:
        QemuNotFoundError: qemu-system-x86_64 is missing.
        GuestBuildError: The guest cannot be built.
    """
    with ExitStack() as stack:
        source = start_qemu(vm, workdir, "source")
        stack.callback(source.kill)
        destination = start_qemu(vm, workdir, "destination")
        stack.callback(destination.kill)
        yield QemuPair(source, destination)
