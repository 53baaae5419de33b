"""The lab's dirtying guest: build it, configure it, read what it reports.

The guest (sources in ``lab/guest/``) is a freestanding 32-bit multiboot kernel
that QEMU boots directly with ``-kernel``. It writes pages of a working set at a
paced rate, flushes its TLB about every millisecond (QEMU 7.2 under TCG loses
dirty pages otherwise) and reports on the serial port::

    MIGLAB ready wss=33554432 rate=20971520 pattern=seq content=text seed=1 ...
    MIGLAB t_ms=1500 seq=15 pages=7680 pass=0 corrupt=0
    MIGLAB corrupt page=17 want=3 got=2

Its counters and a per-page version table live in guest RAM, so after a
migration the destination carries on from exactly where the source stopped;
a page that arrives stale is reported as ``corrupt`` when the guest next
rewrites it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sim._exceptions import GuestBuildError as GuestBuildError  # re-exported: raised here

PAGE_SIZE = 4096
GUEST_DIR = Path(__file__).resolve().parents[2] / "lab" / "guest"
GUEST_ELF = GUEST_DIR / "build" / "miglab-guest.elf"

Pattern = Literal["seq", "random", "hotcold"]
Content = Literal["zero", "text", "random"]

_FIELD = re.compile(r"(\w+)=(\S+)")


@dataclass(frozen=True)
class GuestWorkload:
    """What the guest does, rendered as its kernel command line by :meth:`append`.

    Attributes:
        wss_bytes: Working-set size; a positive multiple of 4 KiB.
        rate_bytes_per_s: Bytes of pages dirtied per second; 0 means as fast
            as the vCPU can.
        pattern: ``"seq"`` walks the working set in order, ``"random"`` picks
            pages uniformly at random, ``"hotcold"`` writes ``hot_pct`` % of its
            pages uniformly into the first ``hot_bytes`` of the set and the rest
            uniformly into the others (two page classes, issue 16).
        content: ``"zero"`` keeps pages zero, ``"text"`` fills them with
            compressible text, ``"random"`` rewrites them with random bytes.
        seed: Seed of the guest's random generator.
        report_ms: Period of the guest's progress line, in guest milliseconds.
        tlb_flush_us: Period of the guest's TLB flush; 0 disables it, which
            exposes QEMU 7.2's lost dirty pages under TCG.
        hot_bytes: ``hotcold``: the hot region (a multiple of 4 KiB, under the set).
        hot_pct: ``hotcold``: the share of writes that fall in it, in %.
    """

    wss_bytes: int
    rate_bytes_per_s: int
    pattern: Pattern = "seq"
    content: Content = "text"
    seed: int = 1
    report_ms: int = 100
    tlb_flush_us: int = 1000
    hot_bytes: int = 0
    hot_pct: int = 90

    def __post_init__(self) -> None:
        if self.wss_bytes <= 0 or self.wss_bytes % PAGE_SIZE:
            raise ValueError(f"wss_bytes must be a positive multiple of 4096, got {self.wss_bytes}")
        if self.rate_bytes_per_s < 0:
            raise ValueError(f"rate_bytes_per_s must be >= 0, got {self.rate_bytes_per_s}")
        if self.pattern not in ("seq", "random", "hotcold"):
            raise ValueError(f"pattern must be 'seq', 'random' or 'hotcold', got {self.pattern!r}")
        if self.pattern == "hotcold" and not (
                0 < self.hot_bytes < self.wss_bytes and self.hot_bytes % PAGE_SIZE == 0
                and 0 <= self.hot_pct <= 100):
            raise ValueError("hotcold needs 0 < hot_bytes < wss_bytes (4 KiB multiple) and "
                             f"hot_pct in 0..100, got {self.hot_bytes}, {self.hot_pct}")
        if self.content not in ("zero", "text", "random"):
            raise ValueError(f"content must be 'zero', 'text' or 'random', got {self.content!r}")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must fit in 32 bits, got {self.seed}")
        if self.report_ms <= 0 or self.tlb_flush_us < 0:
            raise ValueError("report_ms must be > 0 and tlb_flush_us >= 0")

    def append(self) -> str:
        """Return the ``-append`` string that configures the guest."""
        return (
            f"wss={self.wss_bytes} rate={self.rate_bytes_per_s} pattern={self.pattern}"
            f" content={self.content} seed={self.seed} report={self.report_ms}ms"
            f" flush={self.tlb_flush_us}us"
            + (f" hot={self.hot_bytes} hotpct={self.hot_pct}" if self.pattern == "hotcold" else "")
        )


@dataclass(frozen=True)
class GuestReady:
    """The guest's ``ready`` line: its settings as it understood them."""

    settings: dict[str, str]


@dataclass(frozen=True)
class GuestReport:
    """One periodic progress line.

    Attributes:
        t_ms: Guest clock since ``ready``, in ms (stops while the VM is stopped).
        seq: Report number, 1, 2, 3 … across a migration.
        pages: Pages written since ``ready``.
        passes: Walks over the working set completed.
        corrupt: Stale pages found so far.
    """

    t_ms: int
    seq: int
    pages: int
    passes: int
    corrupt: int


@dataclass(frozen=True)
class GuestCorruption:
    """A page that did not hold the version the guest last wrote there."""

    page: int
    want: int
    got: int


@dataclass(frozen=True)
class GuestLog:
    """Everything parsed from a serial log.

    Attributes:
        ready: The ``ready`` lines (one per boot).
        reports: The progress lines, in order.
        corruptions: The ``corrupt`` lines.
        errors: The text of ``error`` lines (bad command line, RAM too small).
    """

    ready: list[GuestReady] = field(default_factory=list)
    reports: list[GuestReport] = field(default_factory=list)
    corruptions: list[GuestCorruption] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def dirty_rate_bytes_per_s(self, first: int = 0, last: int = -1) -> float:
        """The guest's own dirty rate between two reports (default: first to last).

        Args:
            first: Index into :attr:`reports` of the starting report.
            last: Index into :attr:`reports` of the ending report.

        Raises:
            ValueError: The two reports are at the same guest time.
        """
        a, b = self.reports[first], self.reports[last]
        if b.t_ms <= a.t_ms:
            raise ValueError("need two reports at different guest times")
        return (b.pages - a.pages) * PAGE_SIZE * 1000 / (b.t_ms - a.t_ms)


def build_guest() -> Path:
    """Build the guest with ``make`` if needed and return the path of its ELF.

    Without make or gcc, an already built ELF is returned as it is.

    Raises:
        GuestBuildError: The tools are missing and nothing is built, or the
            build failed; the message names the Debian packages to install.
    """
    missing = [tool for tool in ("make", "gcc") if shutil.which(tool) is None]
    if missing:
        if GUEST_ELF.exists():
            return GUEST_ELF
        raise GuestBuildError(
            f"cannot build the lab guest: {' and '.join(missing)} not found; install Debian's "
            "make and gcc-multilib (sudo apt-get install make gcc-multilib) or run "
            "bash scripts/system-deps.sh"
        )
    done = subprocess.run(
        ["make", "-C", str(GUEST_DIR)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise GuestBuildError(
            "building the lab guest failed (32-bit builds need Debian's gcc-multilib: "
            f"sudo apt-get install gcc-multilib):\n{done.stderr[-2000:]}"
        )
    return GUEST_ELF


def parse_log(text: str) -> GuestLog:
    """Parse a serial log; lines that are not complete ``MIGLAB`` lines are skipped.

    A log cut mid-line (a source stopped for migration, a file read while the
    guest writes) is fine: the unfinished last line is ignored.
    """
    log = GuestLog()
    for line in text.split("\n")[:-1]:
        _parse_line(line.strip(), log)
    return log


def _parse_line(line: str, log: GuestLog) -> None:
    words = line.split(" ", 2)
    if len(words) < 2 or words[0] != "MIGLAB":
        return
    fields = dict(_FIELD.findall(line))
    kind = words[1]
    if kind == "ready":
        log.ready.append(GuestReady(fields))
    elif kind == "corrupt":
        log.corruptions.append(
            GuestCorruption(int(fields["page"]), int(fields["want"]), int(fields["got"]))
        )
    elif kind == "error":
        log.errors.append(line.partition("error ")[2])
    elif kind.startswith("t_ms="):
        log.reports.append(
            GuestReport(
                t_ms=int(fields["t_ms"]),
                seq=int(fields["seq"]),
                pages=int(fields["pages"]),
                passes=int(fields["pass"]),
                corrupt=int(fields["corrupt"]),
            )
        )
