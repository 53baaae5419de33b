"""Shared AppTest helpers: the dashboard started from app.py with a generous timeout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_app(query: dict[str, str] | None = None) -> AppTest:
    """The dashboard after its first run (the Scenario page), optionally with ?query."""
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def texts(elements: Any) -> list[str]:
    """The string values of a list of alert/markdown elements."""
    return [str(e.value) for e in elements]


@pytest.fixture
def app() -> Callable[..., AppTest]:
    """A factory for a fresh dashboard session."""
    return open_app
