"""The scenario file: the format of design.md, defaults, unknown keys, QEMU's errors first.

A scenario is read once at the border: units parsed, defaults filled, every key known,
and the ``parameters``/``capabilities`` sections checked as ``migrate-set-capabilities``
then ``migrate-set-parameters`` would be by the named release. Nothing is built from an
invalid scenario; the report lists QEMU's own first refusal first, then every other problem.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim._exceptions import InvalidScenarioError, Problem
from sim.scenario import (
    DATA_DIR,
    MAX_FILE_BYTES,
    data_path,
    load_scenario,
    preset_names,
    validate,
)
from sim.units import GiB, KiB, MiB

# The example of design.md, "The scenario file", verbatim.
DESIGN_EXAMPLE = textwrap.dedent("""\
    name: web-8g                  # optional label
    qemu: "8.2"                   # behaviour and validation profile: 7.2, 8.1, 8.2, 9.1, 10.1 …
    vm:
      memory: 8GiB
      vcpus: 4
      page-size: 4KiB             # 4KiB, 2MiB or 1GiB backing (matters for postcopy faults)
      device-state: 1MiB          # non-iterative device state, sent during downtime
    workload:                     # one of the two forms below, plus the page-content fields
      dirty-rate: 200MiB/s        # bytes of pages written per second
      working-set: 2GiB           # the writes fall in this much memory
      # dirty-curve: [[0.125, 0.002], [1, 0.0144], [60, 0.18]]  # (s since clean, fraction)
      zero-fraction: 0.3          # share of pages that are all zero
      compress-ratio: 0.45        # compressed/original for zlib/zstd
    host:
      link: 10Gbit/s              # what the wire carries
      rtt: 200us
      channel-rate: 1.5GiB/s      # what one sending thread can push
    parameters:                   # exactly the arguments of migrate-set-parameters
      max-bandwidth: 134217728
      downtime-limit: 300
    capabilities:                 # exactly migrate-set-capabilities: name -> bool
      auto-converge: true
    control:                      # what the operator or the management layer does
      postcopy-after: {passes: 2} # or {seconds: 30}; needs postcopy-ram
      timeout: 10min              # cancel after this (status "cancelled")
      policy: {kind: nova}        # optional: nova, kubevirt, ovirt, proxmox, downtime-ramp
    seed: 1
    """)

MINIMAL: dict[str, Any] = {"vm": {"memory": "1GiB"}}


def design_example(**changes: Any) -> dict[str, Any]:
    """The design.md example as a dict, with top-level sections replaced by ``changes``."""
    data: dict[str, Any] = yaml.safe_load(DESIGN_EXAMPLE)
    data.update(changes)
    return data


def fields(problems: list[Problem]) -> list[str]:
    """The field of each problem, in order."""
    return [p.field for p in problems]


# ---------------------------------------------------------------------- the format

def test_design_example_reads_every_field_with_its_unit() -> None:
    """The design.md example (with postcopy-ram on, which postcopy-after needs) loads exactly."""
    sc = load_scenario(design_example(capabilities={"auto-converge": True,
                                                    "postcopy-ram": True}))
    assert (sc.name, sc.qemu.name, sc.seed) == ("web-8g", "8.2", 1)
    assert (sc.vm.memory_bytes, sc.vm.vcpus) == (8 * GiB, 4)
    assert (sc.vm.page_size_bytes, sc.vm.device_state_bytes) == (4 * KiB, MiB)
    assert sc.workload.dirty_rate_Bps == 200 * MiB
    assert sc.workload.working_set_bytes == 2 * GiB
    assert (sc.workload.zero_fraction, sc.workload.compress_ratio) == (0.3, 0.45)
    assert sc.host.link_Bps == pytest.approx(1.25e9)
    assert sc.host.rtt_s == pytest.approx(200e-6)
    assert sc.host.channel_rate_Bps == 1.5 * GiB
    assert (sc.parameters.max_bandwidth, sc.parameters.downtime_limit) == (134217728, 300)
    assert sc.capabilities.enabled == {"auto-converge", "postcopy-ram"}
    assert sc.control.postcopy_after is not None
    assert sc.control.postcopy_after.passes == 2
    assert sc.control.timeout_s == 600
    assert sc.control.policy == {"kind": "nova"}


def test_design_example_verbatim_needs_postcopy_ram() -> None:
    """Verbatim, the example asks for postcopy-after without postcopy-ram: the one problem."""
    report = validate(design_example())
    assert fields(report.problems) == ["control.postcopy-after"]
    assert "postcopy-ram" in report.problems[0].message


def test_same_scenario_from_a_yaml_or_json_file(tmp_path: Path) -> None:
    """A YAML file and its JSON twin give the same scenario."""
    data = design_example(capabilities={"postcopy-ram": True})
    (tmp_path / "s.yaml").write_text(DESIGN_EXAMPLE.replace(
        "auto-converge: true", "postcopy-ram: true"))
    (tmp_path / "s.json").write_text(json.dumps(data))
    assert load_scenario(tmp_path / "s.yaml") == load_scenario(tmp_path / "s.json")


def test_defaults_are_filled() -> None:
    """Only vm.memory is required; everything else takes QEMU's or miglab's default."""
    sc = load_scenario(MINIMAL)
    assert (sc.name, sc.qemu.name, sc.seed) == ("scenario", "8.2", 1)
    assert (sc.vm.vcpus, sc.vm.page_size_bytes, sc.vm.device_state_bytes) == (1, 4 * KiB, MiB)
    assert sc.workload.dirty_rate_Bps == 0
    assert sc.host.link_Bps == pytest.approx(1.25e9)
    assert dict(sc.parameters) == sc.qemu.default_parameters()
    assert sc.parameters.max_bandwidth == 134217728
    assert sc.parameters.downtime_limit == 300
    assert sc.parameters.xbzrle_cache_size == 64 * MiB
    assert sc.capabilities.enabled == frozenset()
    assert set(sc.capabilities) == {c.name for c in sc.qemu.capabilities}
    assert sc.control.postcopy_after is None


@pytest.mark.parametrize(("qemu", "has", "lacks"), [
    pytest.param("7.2", "compress-level", "vcpu-dirty-limit", id="7.2"),
    pytest.param("8.2", "avail-switchover-bandwidth", "zero-page-detection", id="8.2"),
    pytest.param("10.1", "multifd-qatzip-level", "compress-level", id="10.1"),
])
def test_defaults_follow_the_release(qemu: str, has: str, lacks: str) -> None:
    """The parameters a scenario gets are those of its release."""
    sc = load_scenario({**MINIMAL, "qemu": qemu})
    assert has in sc.parameters
    assert lacks not in sc.parameters


# ------------------------------------------------------------------ unknown keys

@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        pytest.param({**MINIMAL, "colour": "red"}, "colour", "unknown key", id="top"),
        pytest.param({"vm": {"memory": "1G", "disk": 1}}, "vm.disk", "unknown key", id="vm"),
        pytest.param({**MINIMAL, "workload": {"dirty-rate": 1, "burst": 2}}, "workload.burst",
                     "unknown key", id="workload"),
        pytest.param({**MINIMAL, "host": {"mtu": 9000}}, "host.mtu", "unknown key", id="host"),
        pytest.param({**MINIMAL, "host": {"support": {"sev": True}}}, "host.support.sev",
                     "unknown key", id="host-support"),
        pytest.param({**MINIMAL, "control": {"retries": 3}}, "control.retries", "unknown key",
                     id="control"),
        pytest.param({**MINIMAL, "parameters": {"downtime": 300}}, "parameters.downtime",
                     "Parameter 'downtime' is unexpected", id="parameters"),
        pytest.param({**MINIMAL, "capabilities": {"turbo": True}}, "capabilities.turbo",
                     "Parameter 'capability' does not accept value 'turbo'", id="capabilities"),
        pytest.param({**MINIMAL, "control": {"postcopy-after": {"passes": 2, "when": 1}},
                      "capabilities": {"postcopy-ram": True}},
                     "control.postcopy-after", "passes", id="postcopy-after"),
    ],
)
def test_unknown_keys_are_rejected_and_named(data: dict[str, Any], field: str,
                                             words: str) -> None:
    """An unknown key at any level is an error that names the field."""
    report = validate(data)
    assert not report.valid
    assert fields(report.problems) == [field]
    assert words in report.problems[0].message


@pytest.mark.parametrize(("host", "field", "words"), [
    ({"running-channel-rate": "0B/s"}, "host.running-channel-rate",
         "expected a rate from 1 byte/s"),
    ({"running-channel-rate": "fast"}, "host.running-channel-rate", "cannot read this"),
    ({"migration-cpus": 0}, "host.migration-cpus", "a number of cores > 0"),
    ({"migration-cpus": "two"}, "host.migration-cpus", "a number of cores > 0"),
])
def test_contention_fields_reject_bad_values(host: dict[str, Any], field: str,
                                             words: str) -> None:
    """The two host fields for a guest that competes with the sending threads."""
    report = validate({**MINIMAL, "host": host})
    assert fields(report.problems) == [field]
    assert words in report.problems[0].message


def test_zero_layout_accepts_spread_or_end() -> None:
    """``workload.zero-layout`` names the field and the two accepted values."""
    report = validate({**MINIMAL, "workload": {"zero-fraction": 0.5, "zero-layout": "top"}})
    assert fields(report.problems) == ["workload.zero-layout"]
    assert report.problems[0].message == "expected one of spread, end"
    assert load_scenario(MINIMAL).workload.zero_layout == "spread"


@pytest.mark.parametrize(("section", "key", "kind", "some"), [
    ("workload", "preset", "workloads", {"database", "idle", "memcached"}),
    ("host", "profile", "hosts", {"lab-tcg"}),
])
def test_an_unknown_preset_lists_the_shipped_ones(section: str, key: str, kind: str,
                                                  some: set[str]) -> None:
    """The message names the shipped presets (it once said "available: none")."""
    assert some <= set(preset_names(kind))
    report = validate({**MINIMAL, section: {key: "nosuch"}})
    assert fields(report.problems) == [f"{section}.{key}"]
    listed = ", ".join(sorted(p.stem for p in (DATA_DIR / kind).glob("*.yaml")))
    assert report.problems[0].message.endswith(f"available: {listed}")


@pytest.mark.parametrize("timeout", ["0s", "-1min", 31 * 86400, 1e300])
def test_timeout_must_be_positive_and_at_most_30_days(timeout: object) -> None:
    """The engine follows a run up to its timeout; beyond a month is refused, naming it."""
    report = validate({**MINIMAL, "control": {"timeout": timeout}})
    assert fields(report.problems) == ["control.timeout"]
    at_most = load_scenario({**MINIMAL, "control": {"timeout": 2_592_000}})
    assert at_most.control.timeout_s == 2_592_000


def test_no_follow_on_errors_from_a_value_already_refused() -> None:
    """An invalid vm.memory is not then used to refuse the working set; a refused
    postcopy-after shows the user's value; no integer beyond uint64 is suggested."""
    report = validate({"vm": {"memory": 0},
                       "workload": {"dirty-rate": "1MiB/s", "working-set": "2GiB"}})
    assert fields(report.problems) == ["vm.memory"]
    report = validate({**MINIMAL, "control": {"postcopy-after": {"passes": 2}}})
    assert report.problems[0].value == {"passes": 2}
    report = validate({**MINIMAL, "parameters": {"max-bandwidth": "1e30"}})
    assert [p.message for p in report.problems] == ["Parameter 'max-bandwidth' expects uint64"]


def test_contention_fields_default_to_no_contention() -> None:
    """Unset, the running rate is ``channel-rate`` and every thread has a core."""
    host = load_scenario(MINIMAL).host
    assert host.running_channel_rate_Bps is None
    assert host.migration_cpus is None
    assert host.while_running() == host
    busy = load_scenario({**MINIMAL, "host": {"running-channel-rate": "400MB/s"}}).host
    assert busy.while_running().channel_rate_Bps == 400e6
    assert busy.channel_rate_Bps == 1.5 * GiB


# ----------------------------------------------------------- QEMU's first error first

def test_qemu_first_failure_comes_first_then_everything_else() -> None:
    """Capabilities are set before parameters, so QEMU's first refusal is the capability one."""
    report = validate({
        "qemu": "8.2",
        "vm": {"memory": "4GiB", "vcpus": 0},
        "parameters": {"multifd-channels": 0, "downtime-limit": 3000000},
        "capabilities": {"multifd": True, "xbzrle": True},
    })
    assert [(p.field, p.message) for p in report.problems] == [
        ("capabilities.multifd", "Multifd is not compatible with xbzrle"),
        ("parameters.downtime-limit",
         "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms"),
        ("parameters.multifd-channels",
         "Parameter 'multifd_channels' expects a value between 1 and 255"),
        ("vm.vcpus", "expected a whole number from 1 to 4096"),
    ]
    assert report.qemu_error == report.problems[0]
    assert [p.source for p in report.problems] == ["qemu", "qemu", "qemu", "miglab"]


def test_type_errors_are_reported_in_qemus_schema_order() -> None:
    """With two bad members, QEMU's visitor names the one earlier in the schema first."""
    report = validate({**MINIMAL, "parameters": {"multifd-channels": 256,
                                                  "announce-initial": "x"}})
    assert [p.message for p in report.problems] == [
        "Parameter 'announce-initial' expects uint64",
        "Parameter 'multifd-channels' expects uint8_t",
    ]


def test_a_human_unit_in_parameters_gets_a_hint() -> None:
    """QMP wants plain integers: '300ms' is QEMU's type error plus a hint with the number."""
    report = validate({**MINIMAL, "parameters": {"downtime-limit": "300ms"}})
    assert [p.message for p in report.problems] == [
        "Parameter 'downtime-limit' expects uint64",
        "parameters take QMP's plain integers (ms); write 300",
    ]


@pytest.mark.parametrize(("qemu", "valid"), [("7.2", True), ("8.2", False), ("10.1", True)])
def test_scenario_validation_follows_the_release(qemu: str, valid: bool) -> None:
    """postcopy-ram with multifd: 7.2 and 10.1 accept it, 8.2 refuses it."""
    report = validate({**MINIMAL, "qemu": qemu,
                       "capabilities": {"postcopy-ram": True, "multifd": True}})
    assert report.valid is valid
    if not valid:
        assert report.problems[0].message == "Postcopy is not yet compatible with multifd"


def test_load_scenario_raises_with_every_problem() -> None:
    """load_scenario refuses an invalid scenario with InvalidScenarioError listing each problem."""
    with pytest.raises(InvalidScenarioError) as info:
        load_scenario({"qemu": "6.0", "vm": {"memory": "lots"}})
    assert fields(info.value.problems) == ["qemu", "vm.memory"]
    assert "7.2, 8.1, 8.2, 9.1, 10.1" in info.value.problems[0].message


def test_yaml_keys_that_are_not_text_are_reported(tmp_path: Path) -> None:
    """YAML allows keys such as 1 or true; every key is kept as the text written, as the
    JSON object QMP receives would spell it."""
    path = tmp_path / "keys.yaml"
    path.write_text("vm: {memory: 1GiB}\nparameters: {1: 2}\ncapabilities: {true: true}\n")
    report = validate(path)
    assert [(p.field, p.message) for p in report.problems] == [
        ("capabilities.true", "Parameter 'capability' does not accept value 'true'"),
        ("parameters.1", "Parameter '1' is unexpected"),
    ]


def test_missing_memory_is_required() -> None:
    """vm.memory has no default: the guest's size must be said."""
    report = validate({})
    assert fields(report.problems) == ["vm.memory"]


# ----------------------------------------------------------------------- the file

def test_yaml_python_tags_are_refused_not_executed(tmp_path: Path) -> None:
    """A !!python/object tag is an error; the object is never constructed."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(
        "vm: {memory: 1GiB}\n"
        f"name: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path"
        f" ['{marker}']]\n"
        "seed: !!python/object:collections.OrderedDict {}\n")
    report = validate(path)
    assert fields(report.problems) == ["file"]
    assert "not valid YAML" in report.problems[0].message
    assert not marker.exists()


def test_files_over_one_mib_are_refused(tmp_path: Path) -> None:
    """A scenario file of 1 MiB is read; one byte more is refused unread."""
    head = "vm: {memory: 1GiB}\n"
    at_limit = tmp_path / "limit.yaml"
    at_limit.write_text(head + "#" * (MAX_FILE_BYTES - len(head) - 1) + "\n")
    over = tmp_path / "over.yaml"
    over.write_text(head + "#" * (MAX_FILE_BYTES - len(head)) + "\n")
    assert at_limit.stat().st_size == MAX_FILE_BYTES == 1 << 20
    assert validate(at_limit).valid
    report = validate(over)
    assert fields(report.problems) == ["file"]
    assert "larger than" in report.problems[0].message


@pytest.mark.parametrize(("text", "words"), [
    pytest.param("- just\n- a list\n", "must be a mapping", id="list"),
    pytest.param("vm: [unclosed\n", "not valid YAML", id="broken"),
])
def test_unreadable_files_are_one_problem(tmp_path: Path, text: str, words: str) -> None:
    """A file that is not a YAML/JSON mapping is one 'file' problem saying why."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    report = validate(path)
    assert fields(report.problems) == ["file"]
    assert words in report.problems[0].message


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """A path that does not exist is reported as a 'file' problem."""
    assert fields(validate(tmp_path / "nope.yaml").problems) == ["file"]


# ----------------------------------------------------------------------- presets

WORKLOAD_PRESETS = sorted((DATA_DIR / "workloads").glob("*.yaml"))


@pytest.mark.skipif(not WORKLOAD_PRESETS, reason="no data/workloads presets in this checkout")
@pytest.mark.parametrize("preset", [p.stem for p in WORKLOAD_PRESETS])
def test_every_workload_preset_loads(preset: str) -> None:
    """Each workload preset yields a valid scenario that remembers its name."""
    sc = load_scenario({"vm": {"memory": "1TiB"}, "workload": {"preset": preset}})
    assert sc.workload.preset == preset


def test_data_path_finds_data_in_a_checkout_and_in_an_installed_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From the repository ``data_path`` reads ``data/``; installed (no ``data/`` beside the
    package) it reads ``sim/_data``, where pyproject.toml's force-include puts the presets."""
    import tomllib

    import sim
    from sim.scenario import data as where

    root = Path(__file__).resolve().parents[1]
    assert root / "data" == DATA_DIR
    assert data_path("workloads", "idle.yaml") == root / "data" / "workloads" / "idle.yaml"
    package = Path(sim.__file__).resolve().parent
    assert package / "_data" == where._PACKAGED_DATA
    wheel = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = wheel["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert {root / target for target in shipped.values()} == {
        package / "_data" / kind for kind in ("workloads", "hosts", "policies")}

    installed = tmp_path / "site-packages" / "sim" / "_data"
    (installed / "workloads").mkdir(parents=True)
    (installed / "workloads" / "idle.yaml").write_text("dirty-rate: 0\n", encoding="utf-8")
    monkeypatch.setattr(where, "DATA_DIR", tmp_path / "site-packages" / "data")
    monkeypatch.setattr(where, "_PACKAGED_DATA", installed)
    assert data_path("workloads", "idle.yaml") == installed / "workloads" / "idle.yaml"
    assert preset_names("workloads") == ["idle"]


@pytest.mark.parametrize("own", [
    {"classes": [{"size": "32MiB", "rate": "10MiB/s"}]},
    {"dirty-curve": [[1, 0.1], [2, 0.2]]},
])
def test_a_scenarios_own_workload_form_overrides_a_rate_preset(own: dict[str, Any]) -> None:
    """docs/scenario.md: keys given beside ``preset`` override it, whichever form they are.

    web-server gives ``dirty-rate`` and ``working-set``; classes or a curve written beside it
    were refused as "not both" (the override was written for two of the three forms).
    """
    sc = load_scenario({"vm": {"memory": "4GiB"}, "workload": {"preset": "web-server", **own}})
    assert sc.workload.working_set_bytes is None
    assert bool(sc.workload.dirty_classes) == ("classes" in own)
    assert bool(sc.workload.dirty_curve) == ("dirty-curve" in own)
    both = validate({**MINIMAL, "workload": {"preset": "web-server", **own,
                                              "dirty-rate": "5MiB/s"}})
    assert [p.field for p in both.problems] == ["workload.dirty-rate"]  # still not both


def test_a_preset_is_read_again_when_its_file_changes_and_never_shared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Presets are parsed once per version of the file: an edit shows at the next read,
    and what a caller gets is its own copy (changing it does not change the next read)."""
    import os

    from sim.scenario import data as where

    (tmp_path / "workloads").mkdir()
    preset = tmp_path / "workloads" / "busy.yaml"
    preset.write_text("dirty-rate: 100MiB/s\nworking-set: 1GiB\n", encoding="utf-8")
    monkeypatch.setattr(where, "DATA_DIR", tmp_path)
    first = where.read_preset("workloads", "busy")
    assert first == {"dirty-rate": "100MiB/s", "working-set": "1GiB"}
    first["dirty-rate"] = "1MiB/s"
    assert where.read_preset("workloads", "busy")["dirty-rate"] == "100MiB/s"
    preset.write_text("dirty-rate: 200MiB/s\nworking-set: 1GiB\n", encoding="utf-8")
    stat = preset.stat()
    os.utime(preset, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert where.read_preset("workloads", "busy")["dirty-rate"] == "200MiB/s"


def test_unknown_preset_lists_the_available_ones() -> None:
    """A preset name that does not exist is an error on workload.preset."""
    report = validate({**MINIMAL, "workload": {"preset": "no-such-preset"}})
    assert fields(report.problems) == ["workload.preset"]
    assert "no such workloads preset" in report.problems[0].message


# ------------------------------------------------------------------ nothing crashes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=10,
)
SECTION_KEYS = {
    "vm": ["memory", "vcpus", "page-size", "device-state", "ack-ready"],
    "workload": ["dirty-rate", "working-set", "dirty-curve", "zero-fraction",
                 "compress-ratio", "delta-ratio", "pattern", "cpu-bound", "preset"],
    "host": ["link", "rtt", "channel-rate", "running-channel-rate", "migration-cpus", "setup",
             "support", "profile", "link-failure-rate"],
    "control": ["postcopy-after", "timeout", "policy"],
    "parameters": ["downtime-limit", "max-bandwidth", "multifd-channels", "tls-creds",
                   "block-bitmap-mapping", "multifd-compression", "cpu-throttle-initial"],
    "capabilities": ["multifd", "xbzrle", "postcopy-ram", "zero-copy-send", "mapped-ram"],
}
sections = {
    name: json_values | st.dictionaries(st.sampled_from(keys) | st.text(max_size=6),
                                        json_values, max_size=4)
    for name, keys in SECTION_KEYS.items()
}
scenarios = st.fixed_dictionaries(
    {},
    optional={**sections, "qemu": st.sampled_from(["7.2", "8.2", "9.1", "10.1"]) | json_values,
              "name": json_values, "seed": json_values},
) | st.dictionaries(st.text(max_size=8), json_values, max_size=4)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=scenarios)
def test_validate_never_crashes(data: dict[str, Any]) -> None:
    """Any JSON in any field gives a report, never an exception; valid means a scenario."""
    report = validate(data)
    assert report.valid == (report.scenario is not None)
    for p in report.problems:
        assert isinstance(p, Problem)
        assert isinstance(p.field, str)
        assert isinstance(p.message, str)
        assert p.message
    if report.problems and any(p.source == "qemu" for p in report.problems):
        assert report.problems[0].source == "qemu"
    json.dumps(report.as_dict(), default=str)


def test_the_public_api_lists_simulate() -> None:
    """``simulate`` loads lazily but dir(sim) and help(sim) show it with the rest."""
    import pydoc

    import sim

    assert set(sim.__all__) <= set(dir(sim))
    assert "simulate(scenario" in pydoc.render_doc(sim)
