"""``docs/scenario.md`` (generated, tests/test_schema.py) names every key the loader accepts,
and its defaults, read back with the unit parsers, are the loader's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim._modelkit import field_aliases
from sim.models import Control, Host, HostSupport, Vm, Workload
from sim.scenario import load_scenario
from sim.units import parse_duration, parse_rate, parse_size

DOC = (Path(__file__).resolve().parents[1] / "docs" / "scenario.md").read_text(encoding="utf-8")


def _accepted(section: str) -> list[str]:
    """The keys the loader accepts in ``section``: its model's dash names."""
    model = {"vm": Vm, "workload": Workload, "host": Host, "host.support": HostSupport,
             "control": Control}[section]
    return field_aliases(model)


def _doc_section(title: str) -> str:
    start = DOC.index(f"## `{title}`")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end > 0 else None]


@pytest.mark.parametrize(("section", "title"), [
    ("vm", "vm"), ("workload", "workload"), ("host", "host"), ("host.support", "host"),
    ("control", "control"),
])
def test_every_accepted_key_is_documented(section: str, title: str) -> None:
    """A key the loader accepts but the page does not name fails here, and so does a key
    the page names in a table that the loader does not accept."""
    text = _doc_section(title)
    keys = _accepted(section)
    assert keys, section
    missing = [k for k in keys if f"`{k}`" not in text]
    assert missing == []
    if section != "host.support":
        documented = {k for row in re.findall(r"^\| ([^|]+) \|", text, re.M)
                      for k in re.findall(r"`([a-z-]+)`", row)}
        assert documented - set(keys) == set()


def _default(title: str, key: str) -> str:
    row = next(line for line in _doc_section(title).splitlines()
               if line.startswith(f"| `{key}` |"))
    return row.rsplit("|", 2)[1].strip().strip("`")


@pytest.mark.parametrize(("key", "attr", "parse"), [
    ("link", "link_Bps", parse_rate), ("rtt", "rtt_s", parse_duration),
    ("channel-rate", "channel_rate_Bps", parse_rate), ("setup", "setup_s", parse_duration),
    ("stop", "stop_s", parse_duration), ("resume", "resume_s", parse_duration),
    ("sync-per-gib", "sync_s_per_gib", parse_duration),
    ("zero-scan-rate", "zero_scan_Bps", parse_rate), ("xbzrle-rate", "xbzrle_Bps", parse_rate),
])
def test_host_defaults_in_the_doc_are_the_loaders(key: str, attr: str, parse: object) -> None:
    """Each documented host default, read with the unit parser, is the loaded default."""
    host = load_scenario({"vm": {"memory": "1G"}}).host
    assert parse(_default("host", key)) == pytest.approx(getattr(host, attr))  # type: ignore[operator]


def test_vm_and_workload_defaults_in_the_doc_are_the_loaders() -> None:
    """Page size, device state, vCPUs, pattern, layout and ratios as documented."""
    sc = load_scenario({"vm": {"memory": "1G"}})
    assert parse_size(_default("vm", "page-size")) == sc.vm.page_size_bytes
    assert parse_size(_default("vm", "device-state")) == sc.vm.device_state_bytes
    assert int(_default("vm", "vcpus")) == sc.vm.vcpus
    assert _default("workload", "pattern") == sc.workload.pattern
    assert _default("workload", "zero-layout") == sc.workload.zero_layout
    assert float(_default("workload", "compress-ratio")) == sc.workload.compress_ratio
    assert float(_default("workload", "delta-ratio")) == sc.workload.delta_ratio
