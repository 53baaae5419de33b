"""Seeded random scenarios for the fast-path differential test and its benchmark (private).

A slot machine with a fixed seed: :func:`random_scenario` draws one *valid* scenario across
every engine feature — every QEMU release, both write patterns, zero pages spread or at the
end of RAM, measured dirty curves, page classes and presets, auto-converge (with tailslow),
multifd (with compression and zero-page detection), XBZRLE, legacy compression, switchover-ack,
``postcopy-after`` (passes or seconds), timeouts — and every policy kind in
:data:`sim.models.POLICY_KINDS` (custom rules pulling every lever). A draw that validation
refuses is redrawn, so the same seed always gives the same scenario.

Sizes and horizons are kept small (1–8 GiB, ≤ 15 simulated minutes) so that the
window-by-window reference stays cheap: a few hundred draws run in well under a minute.

:func:`compare` runs one scenario on both paths and lists where they disagree, with the
tolerances of issue 13 (total time max(0.5 %, 100 ms), downtime max(2 %, 2 ms), transferred
0.5 %, postcopy bytes 0.5 %, dirty-sync-count ± 1, same status and convergence).

    >>> data, horizon = random_scenario(7)
    >>> sorted(data)[:3]
    ['capabilities', 'control', 'host']
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Final

from sim._exceptions import MiglabError
from sim.models import POLICY_KINDS
from sim.qemu.versions import VERSIONS
from sim.scenario import Scenario, load_scenario

__all__ = ["Mismatch", "compare", "random_scenario", "scenario_yaml"]

_VERSIONS = tuple(VERSIONS)


def _size(rng: random.Random, lo_mib: int, hi_mib: int) -> str:
    return f"{rng.randint(lo_mib, hi_mib)}MiB"


def _policy(rng: random.Random, kind: str) -> dict[str, Any]:
    if kind == "nova":
        return {"kind": "nova",
                "live_migration_downtime": rng.choice((100, 300, 500, 1000)),
                "live_migration_downtime_steps": rng.randint(3, 10),
                "live_migration_downtime_delay": rng.randint(3, 20),
                "live_migration_completion_timeout": rng.choice((0, 20, 50, 100)),
                "live_migration_timeout_action": rng.choice(("abort", "force_complete")),
                "live_migration_permit_post_copy": rng.random() < 0.4,
                "live_migration_permit_auto_converge": rng.random() < 0.4,
                "live_migration_bandwidth": rng.choice((0, 0, 64, 128, 512))}
    if kind == "kubevirt":
        out: dict[str, Any] = {
            "kind": "kubevirt", "completionTimeoutPerGiB": rng.choice((0, 10, 30, 150)),
            "progressTimeout": rng.choice((0, 5, 20, 150)),
            "allowAutoConverge": rng.random() < 0.4, "allowPostCopy": rng.random() < 0.4,
            "bandwidthPerMigration": rng.choice(("0Mi", "64Mi", "256Mi", "1Gi"))}
        if rng.random() < 0.5:
            out["downtimeTuning"] = _ramp(rng)
        return out
    if kind == "ovirt":
        return {"kind": "ovirt",
                "schedule": rng.choice(("minimal-downtime", "suspend-workload", "post-copy")),
                "max_time_per_gib_mem": rng.choice((0, 10, 64))}
    if kind == "proxmox":
        return {"kind": "proxmox", "migrate_downtime": rng.choice((0.03, 0.1, 0.5, 2.0)),
                "migrate_speed": rng.choice((0, 0, 50, 200, 1000))}
    if kind == "downtime-ramp":
        return {"kind": "downtime-ramp", **_ramp(rng)}
    rules = []
    for _ in range(rng.randint(1, 4)):
        when: dict[str, Any] = {}
        for cond in rng.sample(("after-s", "passes-at-least", "remaining-above",
                                "remaining-below", "no-progress-s"), rng.randint(1, 2)):
            when[cond] = {"after-s": f"{rng.uniform(0.1, 60):.3f}s",
                          "passes-at-least": rng.randint(0, 20),
                          "remaining-above": _size(rng, 1, 2048),
                          "remaining-below": _size(rng, 1, 2048),
                          "no-progress-s": f"{rng.uniform(0.5, 30):.3f}s"}[cond]
        action = rng.choice(("set-downtime-limit", "set-downtime-limit", "set-max-bandwidth",
                             "set-max-bandwidth", "start-postcopy", "pause", "cancel"))
        value: Any = {"set-downtime-limit": rng.choice((30, 300, 1000, 5000)),
                      "set-max-bandwidth": rng.choice((0, "64MiB/s", "300MiB/s", "2GiB/s"))
                      }.get(action, True)
        rules.append({"when": when, "do": {action: value}})
    out = {"kind": "custom", "poll-s": rng.choice((0.1, 0.25, 0.5, 1, 2.5)), "rules": rules}
    if rng.random() < 0.5:
        out["setup"] = {"capabilities": {"postcopy-ram": True}}
    return out


def _ramp(rng: random.Random) -> dict[str, Any]:
    initial = rng.choice((50, 150, 300))
    return {"initialMs": initial, "steps": rng.randint(1, 8),
            "startAfterIteration": rng.randint(0, 6),
            "cooldownSeconds": rng.choice((0.0, 0.5, 2.0, 10.0)),
            "maxMs": initial + rng.choice((0, 100, 750, 3000))}


def _draw(rng: random.Random) -> tuple[dict[str, Any], float]:  # noqa: C901
    """Long and branchy because it is one seeded draw per engine feature in a fixed order:
    splitting or reordering the draws would change the scenario of every seed.
    """
    version = rng.choice(_VERSIONS)
    mem_gib = rng.choice((1, 1, 2, 4, 4, 8))
    data: dict[str, Any] = {"qemu": version,
                            "vm": {"memory": f"{mem_gib}GiB", "vcpus": rng.choice((1, 2, 4))}}
    wl: dict[str, Any] = {}
    form = rng.random()
    if form < 0.1:
        wl["preset"] = rng.choice(("idle", "web-server", "database", "memcached", "stress"))
    elif form < 0.3:
        pts, t, f = [], 0.0, 0.0
        for _ in range(rng.randint(2, 6)):
            t += rng.uniform(0.1, 20.0)
            f = min(f + rng.uniform(0.001, 0.15), 1.0)
            pts.append([round(t, 3), round(f, 4)])
            if f >= 1.0:
                break
        wl["dirty-curve"] = pts
    elif form < 0.45:  # page classes (issue 16): a hot few MiB to most of RAM
        budget_mib = mem_gib * 1024
        classes = []
        for _ in range(rng.randint(1, 4)):
            size = rng.randint(1, max(1, budget_mib // 2))
            budget_mib -= size
            classes.append({"size": f"{size}MiB",
                            "rate": f"{rng.choice((1, 10, 50, 200, 1000))}MiB/s"})
            if budget_mib < 2:
                break
        wl["classes"] = classes
    else:
        wl["dirty-rate"] = f"{rng.choice((0, 5, 50, 200, 500, 1000, 3000))}MiB/s"
        if rng.random() < 0.7:
            wl["working-set"] = _size(rng, 8, mem_gib * 1024)
        wl["pattern"] = rng.choice(("random", "sequential"))
    if rng.random() < 0.5:
        wl["zero-fraction"] = round(rng.uniform(0.0, 0.9), 3)
        wl["zero-layout"] = rng.choice(("spread", "end"))
    if rng.random() < 0.2:
        wl["cpu-bound"] = False
    if rng.random() < 0.3:
        wl["delta-ratio"] = round(rng.uniform(0.05, 1.5), 3)
        wl["compress-ratio"] = round(rng.uniform(0.1, 1.0), 3)
    data["workload"] = wl
    host: dict[str, Any] = {"link": rng.choice(("100Mbit/s", "1Gbit/s", "2.5Gbit/s",
                                                "10Gbit/s", "25Gbit/s"))}
    if rng.random() < 0.3:
        host["channel-rate"] = rng.choice(("500MiB/s", "1.5GiB/s", "4GiB/s"))
    if rng.random() < 0.2:
        host["sync-per-gib"] = rng.choice(("0s", "1ms", "20ms"))
    if rng.random() < 0.2:
        host["setup"] = rng.choice(("10ms", "200ms"))
    data["host"] = host
    caps: dict[str, Any] = {}
    params: dict[str, Any] = {}
    r = rng.random()
    params["max-bandwidth"] = rng.choice((0, 0, 33554432, 134217728, 1073741824))
    params["downtime-limit"] = rng.choice((30, 300, 300, 1000, 5000))
    if rng.random() < 0.35:
        caps["auto-converge"] = True
        if rng.random() < 0.5:
            params["cpu-throttle-initial"] = rng.choice((5, 20, 50))
            params["cpu-throttle-increment"] = rng.choice((5, 10, 30))
            params["max-cpu-throttle"] = rng.choice((50, 80, 99))
            params["cpu-throttle-tailslow"] = rng.random() < 0.5
    if r < 0.25:
        caps["multifd"] = True
        params["multifd-channels"] = rng.choice((1, 2, 4, 8))
        params["multifd-compression"] = rng.choice(("none", "zlib", "zstd"))
        if version in ("9.1", "10.1") and rng.random() < 0.5:
            params["zero-page-detection"] = rng.choice(("legacy", "multifd", "none"))
    elif r < 0.45:
        caps["xbzrle"] = True
        params["xbzrle-cache-size"] = rng.choice((16777216, 67108864, 268435456, 1073741824))
    elif r < 0.55 and version in ("7.2", "8.1", "8.2"):
        caps["compress"] = True
        params["compress-threads"] = rng.choice((1, 2, 8))
        if rng.random() < 0.3:
            caps["xbzrle"] = True
    if version != "7.2" and rng.random() < 0.15:
        caps["switchover-ack"] = True
        caps["return-path"] = True
        data["vm"]["ack-ready"] = rng.choice(("0s", "500ms", "5s"))
    control: dict[str, Any] = {}
    if rng.random() < 0.25:
        caps["postcopy-ram"] = True
        if rng.random() < 0.5:
            control["postcopy-after"] = {"passes": rng.randint(1, 6)}
        else:
            control["postcopy-after"] = {"seconds": round(rng.uniform(0.5, 60.0), 2)}
    if rng.random() < 0.4:
        control["timeout"] = f"{rng.randint(5, 600)}s"
    if rng.random() < 0.6:
        control["policy"] = _policy(rng, rng.choice(POLICY_KINDS))
    data["capabilities"] = caps
    data["parameters"] = params
    data["control"] = control
    horizon = rng.choice((60.0, 300.0, 900.0))
    return data, horizon


def random_scenario(seed: int, *, tries: int = 50) -> tuple[dict[str, Any], float]:
    """A valid scenario (as raw data) and a horizon in seconds, the same for the same seed.

    Raises:
        RuntimeError: ``tries`` draws in a row were refused by validation.
    """
    rng = random.Random(seed)
    # draws added after the fixed order of _draw come from their own stream, so that every
    # seed keeps the scenario it had (a failure report stays replayable)
    later = random.Random(f"later draws {seed}")
    for _ in range(tries):
        data, horizon = _draw(rng)
        if later.random() < 0.25:  # first copies slower than the sender: the PF counter
            data["host"]["first-touch-rate"] = later.choice(("100MiB/s", "400MB/s", "1GiB/s"))
        if later.random() < 0.25:  # threads sharing few cores while the guest runs (7.2's
            # multifd spinner among them, sim/engine/multifd.py)
            data["host"]["migration-cpus"] = later.choice((0.5, 1.5, 2))
            data["host"]["running-channel-rate"] = later.choice(("200MiB/s", "1GiB/s"))
        try:
            sc = load_scenario(data)
            if sc.control.policy is not None:  # the policy's own setup must be accepted too
                from sim.policies import build_policy

                build_policy(sc.control.policy).setup(sc)
        except MiglabError:
            continue
        return data, horizon
    raise RuntimeError(f"seed {seed}: {tries} draws refused by validation")


@dataclass(frozen=True)
class Mismatch:
    """One quantity on which the fast path and the reference disagree."""

    what: str
    fast: Any
    reference: Any

    def __str__(self) -> str:
        return f"{self.what}: fast {self.fast!r} vs reference {self.reference!r}"


def _close(a: float, b: float, rel: float, abs_: float) -> bool:
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


def compare(sc: Scenario, horizon_s: float) -> list[Mismatch]:
    """Run ``sc`` on both paths; every disagreement beyond issue 13's tolerances."""
    from sim.engine import simulate

    f = simulate(sc, timeline=False, horizon_s=horizon_s)
    r = simulate(sc, timeline=False, horizon_s=horizon_s, fast=False)
    out: list[Mismatch] = []
    if f.status != r.status:
        out.append(Mismatch("status", f.status, r.status))
    if f.converged != r.converged:
        out.append(Mismatch("converged", f.converged, r.converged))
    if not _close(f.total_time_ms, r.total_time_ms, 0.005, 100.0):
        out.append(Mismatch("total-time ms", f.total_time_ms, r.total_time_ms))
    if not _close(f.downtime_ms, r.downtime_ms, 0.02, 2.0):
        out.append(Mismatch("downtime ms", f.downtime_ms, r.downtime_ms))
    if not _close(f.ram.transferred, r.ram.transferred, 0.005, 0.0):
        out.append(Mismatch("transferred", f.ram.transferred, r.ram.transferred))
    if not _close(f.ram.postcopy_bytes or 0, r.ram.postcopy_bytes or 0, 0.005, 0.0):
        out.append(Mismatch("postcopy-bytes", f.ram.postcopy_bytes, r.ram.postcopy_bytes))
    if abs(f.ram.dirty_sync_count - r.ram.dirty_sync_count) > 1:
        out.append(Mismatch("dirty-sync-count", f.ram.dirty_sync_count,
                            r.ram.dirty_sync_count))
    return out


_HORIZON_PREFIX: Final = "# horizon_s="


def scenario_yaml(data: dict[str, Any], horizon_s: float) -> str:
    """The scenario as YAML to paste into a bug report (the horizon as a comment)."""
    import yaml

    return (f"{_HORIZON_PREFIX}{horizon_s!r} (simulate(..., horizon_s=…))\n"
            + yaml.safe_dump(data, sort_keys=False, default_flow_style=None))


def read_scenario_yaml(text: str) -> tuple[dict[str, Any], float]:
    """:func:`scenario_yaml` read back: the scenario (raw data) and its horizon in seconds.

    A regression test keeps the drawn scenario in a file, so it goes on testing the same
    scenario when the generator's draws change (a new release or policy kind in the lists
    it picks from moves every seed).
    """
    import yaml

    first, _, body = text.partition("\n")
    if not first.startswith(_HORIZON_PREFIX):
        raise ValueError(f"expected a first line '{_HORIZON_PREFIX}…', got {first!r}")
    horizon_s = float(first[len(_HORIZON_PREFIX):].split()[0])
    return yaml.safe_load(body), horizon_s
