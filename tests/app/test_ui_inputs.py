"""sim.ui's readers of what comes in from outside: ``?s=`` link tokens, uploads, pasted
measurements, inventories and sweep axes, all bounded and refused with a ScenarioError."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from sim import ScenarioError, ui


def test_link_token_round_trips_a_scenario() -> None:
    """encode_scenario then decode_scenario gives the same dict back."""
    sc = ui.default_scenario()
    assert ui.decode_scenario(ui.encode_scenario(sc)) == sc


@pytest.mark.parametrize("token", [
    "%%%",                                                            # not base64url
    base64.urlsafe_b64encode(b"plain text").decode(),                  # not zlib
    base64.urlsafe_b64encode(zlib.compress(b"[1, 2]")).decode(),       # not an object
    base64.urlsafe_b64encode(zlib.compress(b" " * (1 << 20))).decode(),  # unpacks too large
    "A" * (ui.MAX_TOKEN_CHARS + 1),                             # too long
])
def test_bad_link_tokens_are_refused(token: str) -> None:
    """Corrupt, oversized or non-object tokens raise ScenarioError, never anything else."""
    with pytest.raises(ScenarioError):
        ui.decode_scenario(token)


def test_upload_never_constructs_python_objects() -> None:
    """A YAML tag asking for a Python object is refused by the safe loader."""
    evil = b"!!python/object/apply:os.system ['echo hi']\n"
    with pytest.raises(ScenarioError, match="not valid YAML"):
        ui.parse_upload(evil, "evil.yaml")


def test_upload_size_is_limited() -> None:
    """An upload over MAX_UPLOAD_BYTES is refused before parsing."""
    with pytest.raises(ScenarioError, match="larger than"):
        ui.parse_upload(b"#" * (ui.MAX_UPLOAD_BYTES + 1), "big.yaml")


def test_structure_check_rejects_unknown_sections() -> None:
    """A mapping with keys a scenario does not have is refused as a whole."""
    with pytest.raises(ScenarioError, match="unknown key 'foo'"):
        ui.check_structure({"vm": {"memory": "1G"}, "foo": 1})


@pytest.mark.parametrize(("text", "expected"), [
    ('{"return": {"status": "measured", "dirty-rate": 120}}', {"dirty-rate": "120MiB/s"}),
    ("dirtyrate.calc_status=2\ndirtyrate.megabytes_per_second=64\n", {"dirty-rate": "64MiB/s"}),
    ("t,frac\n1,0.01\n10,0.05\n", {"dirty-curve": [[1.0, 0.01], [10.0, 0.05]]}),
    ("1 512MiB\n2 1GiB\n", {"dirty-curve": [[1.0, 0.0625], [2.0, 0.125]]}),
])
def test_dirty_measurements_in_every_accepted_form(text: str, expected: dict[str, object]) -> None:
    """query-dirty-rate JSON, virsh domstats and two-column curves become workload fields."""
    assert ui.parse_dirty_measurement(text, 8 << 30) == expected


def test_unreadable_measurement_names_the_line() -> None:
    """A curve line with a bad value is refused naming its line."""
    with pytest.raises(ScenarioError, match="line 2"):
        ui.parse_dirty_measurement("1,0.1\n2,lots\n", 8 << 30)


def test_sweep_points_switch_multifd_on_for_channel_axes() -> None:
    """A multifd-channels axis turns the multifd capability on in every point."""
    axes = [("parameters.multifd-channels", ui.axis_values(
        "parameters.multifd-channels", "1, 8")),
        ("parameters.downtime-limit", ui.axis_values("parameters.downtime-limit",
                                                           "100ms, 1s"))]
    points = ui.sweep_points(axes)
    assert len(points) == 4
    assert all(p["capabilities.multifd"] for p in points)
    assert points[1]["parameters.downtime-limit"] == 1000


def test_inventory_yaml_becomes_rows_and_back() -> None:
    """A YAML inventory's host links and overrides land in editable rows, then a mapping."""
    text = json.dumps({"defaults": {"qemu": "8.2"}, "hosts": {"h1": {"link": "25Gbit/s"}},
                       "vms": [{"name": "a", "host": "h1", "memory": "8GiB",
                                "overrides": {"parameters.downtime-limit": 500}}]})
    rows, defaults = ui.parse_inventory_upload(text.encode(), "fleet.yaml")
    assert rows == [{"name": "a", "host": "h1", "memory": "8GiB",
                     "parameters.downtime-limit": "500", "link": "25Gbit/s"}]
    mapping = ui.inventory_mapping(rows, defaults)
    assert mapping["vms"][0]["parameters.downtime-limit"] == 500
    assert mapping["defaults"] == {"qemu": "8.2"}
