"""Markers that need a Debian package skip, with the reason, where the package is missing.

``qemu`` tests need ``qemu-system-x86_64``; ``browser`` tests need Debian's ``chromium``
(and ``pdftoppm`` from poppler-utils for the PDF check). ``scripts/system-deps.sh`` installs
all three, so on CI (``make test``) nothing is skipped; a developer without them still gets
a green run of everything else, and ``-ra`` lists what was skipped and why.
"""

from __future__ import annotations

import shutil

import pytest

NEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "qemu": (("qemu-system-x86_64",), "Debian's qemu-system-x86"),
    "browser": (("chromium", "pdftoppm"), "Debian's chromium and poppler-utils"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip each marked test whose programs are not on PATH."""
    for marker, (programs, packages) in NEEDS.items():
        missing = [p for p in programs if shutil.which(p) is None]
        if not missing:
            continue
        skip = pytest.mark.skip(reason=f"needs {', '.join(missing)} ({packages}; "
                                       "bash scripts/system-deps.sh installs them)")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
