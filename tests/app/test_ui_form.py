"""sim.ui's scenario form: widgets from the models and QEMU's catalog, text both ways,
tested without Streamlit."""

from __future__ import annotations

import pytest

from sim import ui
from sim.qemu import profile
from sim.scenario import load_scenario


@pytest.mark.parametrize(("path", "text", "value"), [
    ("parameters.max-bandwidth", "128MiB/s", 134217728),
    ("parameters.max-bandwidth", "10Gbit/s", 1250000000),
    ("parameters.downtime-limit", "300", 300),
    ("parameters.downtime-limit", "2s", 2000),
    ("parameters.xbzrle-cache-size", "64MiB", 67108864),
    ("parameters.multifd-channels", "8", 8),
])
def test_parameter_text_is_read_as_qmp_values(path: str, text: str, value: int) -> None:
    """Human-form text becomes the integer migrate-set-parameters takes."""
    field = next(f for f in ui.form_fields(profile("8.2")) if f.path == path)
    assert ui.parse_param_text(field, text) == (value, None)


def test_form_round_trip_keeps_the_scenario() -> None:
    """Showing a scenario in the form and reading it back changes nothing."""
    fields = ui.form_fields(profile("8.2"))
    sc = ui.default_scenario()
    new, problems = ui.apply_form(sc, fields, ui.initial_values(fields, sc))
    assert new == sc
    assert problems == []


def test_form_has_the_zero_layout_and_contention_fields() -> None:
    """``workload.zero-layout``, ``host.running-channel-rate`` and ``host.migration-cpus``
    have widgets; typing into them writes the scenario, clearing them drops the keys."""
    paths = {f.path for f in ui.form_fields(profile("8.2"))}
    for key in ("workload.zero-layout", "host.running-channel-rate", "host.migration-cpus",
                "host.link", "host.channel-rate", "workload.zero-fraction"):
        assert key in paths
    fields = ui.form_fields(profile("8.2"))
    sc = ui.default_scenario()
    values = {**ui.initial_values(fields, sc), "workload.zero-layout": "end",
              "host.running-channel-rate": "500MB/s", "host.migration-cpus": "1.5"}
    new, problems = ui.apply_form(sc, fields, values)
    assert problems == []
    loaded = load_scenario(new)
    assert loaded.workload.zero_layout == "end"
    assert loaded.host.running_channel_rate_Bps == 500e6
    assert loaded.host.migration_cpus == 1.5
    cleared, _ = ui.apply_form(new, fields, {**values, "host.running-channel-rate": "",
                                                   "host.migration-cpus": ""})
    assert "running-channel-rate" not in cleared["host"]
    assert "migration-cpus" not in cleared["host"]


def test_human_text_reads_back_exactly() -> None:
    """human_rate/human_size/human_ms give text that parses to the same number."""
    assert ui.human_rate(134217728) == "128MiB/s"
    assert ui.human_size(4097) == "4097"
    assert ui.human_ms(600000) == "10min"
    assert ui.human_ms(0.2) == "200us"


def test_enum_drop_downs_offer_exactly_what_the_release_accepts() -> None:
    """The form's choices for an enum parameter are the QAPI visitor's: 10.1's `mode` has
    cpr-transfer (added in 10.0), 8.2's does not, and multifd-compression follows the release."""
    def choices(version: str, name: str) -> tuple[str, ...]:
        fields = {f.path: f for f in ui.form_fields(profile(version))}
        return tuple(fields[f"parameters.{name}"].choices)

    assert choices("10.1", "mode") == ("normal", "cpr-reboot", "cpr-transfer")
    assert choices("8.2", "mode") == ("normal", "cpr-reboot")
    assert "qatzip" in choices("10.1", "multifd-compression")
    assert "qatzip" not in choices("8.2", "multifd-compression")
