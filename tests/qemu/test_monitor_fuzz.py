"""No request crashes the emulated monitor, and every reply is a well-formed QMP reply.

Hypothesis throws any JSON value (and any text) at :class:`~sim.qemu.QmpMonitor` of every
release: top-level junk, commands with junk arguments, and the migration commands with
junk in each member. Whatever comes in, the monitor answers exactly one of ``return`` or
``error``; an error carries only ``class`` (``GenericError`` or ``CommandNotFound``) and a
string ``desc``; an ``id`` in an object request is echoed unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.qemu import VERSIONS, QmpMonitor
from sim.qemu.catalog import CAPABILITIES, PARAMETERS

FUZZ = settings(max_examples=300, deadline=None)
VERSION_NAMES = list(VERSIONS)
versions = st.sampled_from(VERSION_NAMES)

scalars = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
commands = st.sampled_from([
    "qmp_capabilities", "query-version", "query-migrate-parameters",
    "query-migrate-capabilities", "migrate-set-parameters", "migrate-set-capabilities",
    "query-migrate", "migrate", "migrate_cancel", "migrate-start-postcopy",
    "migrate-incoming", "migrate-continue", "migrate-pause", "migrate-recover",
    "query-status", "no-such-command",
]) | st.text(max_size=10)
parameter_args = st.dictionaries(
    st.sampled_from(sorted(PARAMETERS)) | st.text(max_size=8), json_values, max_size=6)
capability_items = st.lists(
    st.fixed_dictionaries({"capability": st.sampled_from(sorted(CAPABILITIES)) | json_values,
                           "state": st.booleans() | json_values},
                          optional={"extra": json_values})
    | json_values,
    max_size=5)
requests = st.one_of(
    json_values,
    st.fixed_dictionaries({"execute": commands},
                          optional={"arguments": json_values, "id": json_values,
                                    "control": json_values}),
    st.fixed_dictionaries({"execute": st.just("migrate-set-parameters"),
                           "arguments": parameter_args}, optional={"id": json_values}),
    st.fixed_dictionaries({"execute": st.just("migrate-set-capabilities"),
                           "arguments": st.fixed_dictionaries(
                               {"capabilities": capability_items | json_values})}),
)


def assert_well_formed(request: object, reply: Any) -> None:
    """A reply QEMU could have sent in answer to ``request``."""
    assert isinstance(reply, dict)
    assert ("return" in reply) != ("error" in reply)
    assert set(reply) <= {"return", "error", "id"}
    if "error" in reply:
        err = reply["error"]
        assert set(err) == {"class", "desc"}
        assert err["class"] in {"GenericError", "CommandNotFound"}
        assert isinstance(err["desc"], str)
        assert err["desc"]
    if isinstance(request, dict) and "id" in request:
        assert reply["id"] == request["id"]
    else:
        assert "id" not in reply
    json.dumps(reply)  # the reply can be written on the wire


@FUZZ
@given(version=versions, session=st.lists(requests, min_size=1, max_size=5))
def test_any_request_gets_a_well_formed_reply(version: str, session: list[object]) -> None:
    """A session of arbitrary requests never raises and every reply is well formed."""
    mon = QmpMonitor(version)
    for request in session:
        assert_well_formed(request, mon.execute(request))


@FUZZ
@given(version=versions,
       text=st.text(max_size=60) | json_values.map(json.dumps) | requests.map(json.dumps))
def test_any_text_gets_a_well_formed_reply(version: str, text: str) -> None:
    """Any line of text, JSON or not, gets one well-formed reply."""
    reply = QmpMonitor(version).execute_text(text)
    try:
        request = json.loads(text)
    except ValueError:
        request = None
    assert_well_formed(request, reply)


@FUZZ
@given(version=versions, args=parameter_args)
def test_refused_parameters_change_nothing(version: str, args: dict[str, Any]) -> None:
    """migrate-set-parameters is all or nothing: a refusal leaves every parameter as it was."""
    mon = QmpMonitor(version)
    before = mon.execute({"execute": "query-migrate-parameters"})
    reply = mon.execute({"execute": "migrate-set-parameters", "arguments": args})
    after = mon.execute({"execute": "query-migrate-parameters"})
    if "error" in reply:
        assert after == before
    else:
        assert set(after["return"]) >= set(before["return"])


def test_id_is_echoed_in_qemus_key_order() -> None:
    """QEMU puts "return" before "id" but "id" before "error" (QDict hash order)."""
    mon = QmpMonitor("7.2")
    ok = mon.execute({"execute": "query-status", "id": {"x": [1]}})
    bad = mon.execute({"execute": "nope", "id": 7})
    assert list(ok) == ["return", "id"]
    assert ok["id"] == {"x": [1]}
    assert bad == {"id": 7, "error": {"class": "CommandNotFound",
                                      "desc": "The command nope has not been found"}}
    assert list(bad) == ["id", "error"]


@pytest.mark.parametrize(
    ("request_", "desc"),
    [
        pytest.param([1], "QMP input must be a JSON object", id="array"),
        pytest.param("str", "QMP input must be a JSON object", id="string"),
        pytest.param({}, "QMP input lacks member 'execute'", id="no-execute"),
        pytest.param({"execute": 1}, "QMP input member 'execute' must be a string",
                     id="execute-int"),
        pytest.param({"execute": "query-version", "arguments": []},
                     "QMP input member 'arguments' must be an object", id="arguments-list"),
        pytest.param({"execute": "query-version", "foo": 1},
                     "QMP input member 'foo' is unexpected", id="unexpected-member"),
        pytest.param({"execute": "query-version", "arguments": {"a": 1}},
                     "Parameter 'a' is unexpected", id="unexpected-argument"),
        pytest.param({"execute": "migrate-set-capabilities", "arguments": {}},
                     "Parameter 'capabilities' is missing", id="missing-capabilities"),
        pytest.param({"execute": "migrate-set-capabilities",
                      "arguments": {"capabilities": {}}},
                     "Invalid parameter type for 'capabilities', expected: array",
                     id="capabilities-object"),
        pytest.param({"execute": "migrate-set-capabilities", "arguments": {
            "capabilities": [{"capability": "xbzrle", "state": "yes"}]}},
                     "Invalid parameter type for 'capabilities[0].state', expected: boolean",
                     id="state-string"),
    ],
)
@pytest.mark.parametrize("version", VERSION_NAMES)
def test_dispatcher_and_visitor_messages(version: str, request_: object, desc: str) -> None:
    """Malformed requests get the dispatcher's or visitor's GenericError text."""
    assert QmpMonitor(version).execute(request_) == {
        "error": {"class": "GenericError", "desc": desc}}
