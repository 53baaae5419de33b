"""The scenario in a link: the dashboard's ``?s=`` token.

A link is a sealed envelope: the draft's canonical JSON (:func:`sim.ui.draft.scenario_json`),
zlib-packed and base64url-encoded, so a scenario can be shared by URL
(:func:`encode_scenario`). Opening one (:func:`decode_scenario`) is bounded at every step —
the token's length, the unpacked size, strict JSON, an object at the top — and a link may
pick a shipped policy preset by name but never name a file.

    >>> decode_scenario(encode_scenario({"vm": {"memory": "8GiB"}}))
    {'vm': {'memory': '8GiB'}}
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from typing import Any, Final

from sim._bounded import loads_json
from sim._exceptions import ScenarioError
from sim.scenario import preset_names
from sim.ui.draft import scenario_json
from sim.units import KiB

__all__ = ["MAX_TOKEN_CHARS", "decode_scenario", "encode_scenario"]

MAX_TOKEN_CHARS: Final = 16_384
"""Longest ``?s=`` URL token accepted."""

_MAX_TOKEN_JSON: Final = 256 * KiB


def encode_scenario(scenario: Mapping[str, Any]) -> str:
    """A compact URL-safe token (zlib + base64url of the JSON) for ``?s=``."""
    raw = zlib.compress(scenario_json(scenario).encode("utf-8"), 9)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_scenario(token: str) -> dict[str, Any]:
    """Read a ``?s=`` token back into a scenario dict (not validated).

    Raises:
        ScenarioError: too long, not base64url, not zlib, too large unpacked, not JSON, or
            not a JSON object.
    """
    if len(token) > MAX_TOKEN_CHARS:
        raise ScenarioError(f"the scenario in the link is {len(token)} characters; at most "
                            f"{MAX_TOKEN_CHARS} are accepted")
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(packed, _MAX_TOKEN_JSON)
        if inflater.unconsumed_tail:
            raise ScenarioError("the scenario in the link unpacks to more than "
                                f"{_MAX_TOKEN_JSON} bytes")
        data = loads_json(text.decode("utf-8"), "the scenario in the link")
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as err:
        raise ScenarioError(f"the scenario in the link cannot be read: {err}") from err
    if not isinstance(data, dict):
        raise ScenarioError("the scenario in the link is not a JSON object")
    _refuse_named_files(data)
    return data


def _refuse_named_files(data: Mapping[str, Any]) -> None:
    """A link may pick a shipped policy preset by name, never name a file."""
    control = data.get("control")
    policy = control.get("policy") if isinstance(control, Mapping) else None
    if isinstance(policy, Mapping) and "file" in policy \
            and policy["file"] not in preset_names("policies"):
        raise ScenarioError("the scenario in the link names a policy file; a link may only "
                            "name one of the shipped policy presets: "
                            + ", ".join(preset_names("policies")))
