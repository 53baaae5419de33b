"""Hypothesis over every entry point (issue 12): only MiglabError escapes, every JSON
output is strict. The targets and their generators live in ``targets.py``; the long run
(≥ 10⁵ inputs) is ``benchmarks/fuzz/run_fuzz.py``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.targets import TARGETS, Target

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_only_miglab_errors_escape(target: Target) -> None:
    """A few hundred generated inputs per entry point; any other exception fails."""
    with tempfile.TemporaryDirectory() as tmp:
        @FUZZ
        @given(target.inputs)
        def run(value: Any) -> None:
            target.check(value, Path(tmp))

        run()
