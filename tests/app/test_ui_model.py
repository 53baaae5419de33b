"""sim.ui_model: the form model behind the dashboard, tested without Streamlit."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from sim import ScenarioError, ui_model
from sim.qemu import profile


def test_link_token_round_trips_a_scenario() -> None:
    """encode_scenario then decode_scenario gives the same dict back."""
    sc = ui_model.default_scenario()
    assert ui_model.decode_scenario(ui_model.encode_scenario(sc)) == sc


@pytest.mark.parametrize("token", [
    "%%%",                                                            # not base64url
    base64.urlsafe_b64encode(b"plain text").decode(),                  # not zlib
    base64.urlsafe_b64encode(zlib.compress(b"[1, 2]")).decode(),       # not an object
    base64.urlsafe_b64encode(zlib.compress(b" " * (1 << 20))).decode(),  # unpacks too large
    "A" * (ui_model.MAX_TOKEN_CHARS + 1),                             # too long
])
def test_bad_link_tokens_are_refused(token: str) -> None:
    """Corrupt, oversized or non-object tokens raise ScenarioError, never anything else."""
    with pytest.raises(ScenarioError):
        ui_model.decode_scenario(token)


def test_upload_never_constructs_python_objects() -> None:
    """A YAML tag asking for a Python object is refused by the safe loader."""
    evil = b"!!python/object/apply:os.system ['echo hi']\n"
    with pytest.raises(ScenarioError, match="not valid YAML"):
        ui_model.parse_upload(evil, "evil.yaml")


def test_upload_size_is_limited() -> None:
    """An upload over MAX_UPLOAD_BYTES is refused before parsing."""
    with pytest.raises(ScenarioError, match="larger than"):
        ui_model.parse_upload(b"#" * (ui_model.MAX_UPLOAD_BYTES + 1), "big.yaml")


def test_structure_check_rejects_unknown_sections() -> None:
    """A mapping with keys a scenario does not have is refused as a whole."""
    with pytest.raises(ScenarioError, match="unknown key 'foo'"):
        ui_model.check_structure({"vm": {"memory": "1G"}, "foo": 1})


@pytest.mark.parametrize(("text", "expected"), [
    ('{"return": {"status": "measured", "dirty-rate": 120}}', {"dirty-rate": "120MiB/s"}),
    ("dirtyrate.calc_status=2\ndirtyrate.megabytes_per_second=64\n", {"dirty-rate": "64MiB/s"}),
    ("t,frac\n1,0.01\n10,0.05\n", {"dirty-curve": [[1.0, 0.01], [10.0, 0.05]]}),
    ("1 512MiB\n2 1GiB\n", {"dirty-curve": [[1.0, 0.0625], [2.0, 0.125]]}),
])
def test_dirty_measurements_in_every_accepted_form(text: str, expected: dict[str, object]) -> None:
    """query-dirty-rate JSON, virsh domstats and two-column curves become workload fields."""
    assert ui_model.parse_dirty_measurement(text, 8 << 30) == expected


def test_unreadable_measurement_names_the_line() -> None:
    """A curve line with a bad value is refused naming its line."""
    with pytest.raises(ScenarioError, match="line 2"):
        ui_model.parse_dirty_measurement("1,0.1\n2,lots\n", 8 << 30)


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
    field = next(f for f in ui_model.form_fields(profile("8.2")) if f.path == path)
    assert ui_model.parse_param_text(field, text) == (value, None)


def test_form_round_trip_keeps_the_scenario() -> None:
    """Showing a scenario in the form and reading it back changes nothing."""
    fields = ui_model.form_fields(profile("8.2"))
    sc = ui_model.default_scenario()
    new, problems = ui_model.apply_form(sc, fields, ui_model.initial_values(fields, sc))
    assert new == sc
    assert problems == []


def test_human_text_reads_back_exactly() -> None:
    """human_rate/human_size/human_ms give text that parses to the same number."""
    assert ui_model.human_rate(134217728) == "128MiB/s"
    assert ui_model.human_size(4097) == "4097"
    assert ui_model.human_ms(600000) == "10min"
    assert ui_model.human_ms(0.2) == "200us"


def test_sweep_points_switch_multifd_on_for_channel_axes() -> None:
    """A multifd-channels axis turns the multifd capability on in every point."""
    axes = [("parameters.multifd-channels", ui_model.axis_values(
        "parameters.multifd-channels", "1, 8")),
        ("parameters.downtime-limit", ui_model.axis_values("parameters.downtime-limit",
                                                           "100ms, 1s"))]
    points = ui_model.sweep_points(axes)
    assert len(points) == 4
    assert all(p["capabilities.multifd"] for p in points)
    assert points[1]["parameters.downtime-limit"] == 1000


def test_inventory_yaml_becomes_rows_and_back() -> None:
    """A YAML inventory's host links and overrides land in editable rows, then a mapping."""
    text = json.dumps({"defaults": {"qemu": "8.2"}, "hosts": {"h1": {"link": "25Gbit/s"}},
                       "vms": [{"name": "a", "host": "h1", "memory": "8GiB",
                                "overrides": {"parameters.downtime-limit": 500}}]})
    rows, defaults = ui_model.parse_inventory_upload(text.encode(), "fleet.yaml")
    assert rows == [{"name": "a", "host": "h1", "memory": "8GiB",
                     "parameters.downtime-limit": "500", "link": "25Gbit/s"}]
    mapping = ui_model.inventory_mapping(rows, defaults)
    assert mapping["vms"][0]["parameters.downtime-limit"] == 500
    assert mapping["defaults"] == {"qemu": "8.2"}


def test_enum_drop_downs_offer_exactly_what_the_release_accepts() -> None:
    """The form's choices for an enum parameter are the QAPI visitor's: 10.1's `mode` has
    cpr-transfer (added in 10.0), 8.2's does not, and multifd-compression follows the release."""
    def choices(version: str, name: str) -> tuple[str, ...]:
        fields = {f.path: f for f in ui_model.form_fields(profile(version))}
        return tuple(fields[f"parameters.{name}"].choices)

    assert choices("10.1", "mode") == ("normal", "cpr-reboot", "cpr-transfer")
    assert choices("8.2", "mode") == ("normal", "cpr-reboot")
    assert "qatzip" in choices("10.1", "multifd-compression")
    assert "qatzip" not in choices("8.2", "multifd-compression")
