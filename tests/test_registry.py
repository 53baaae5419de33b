"""One registry per list: the policy kinds, the QEMU releases and the export targets are spelled
out once, in the module that owns them, and everything else derives from that list.

* Python (``sim/``, ``app_pages/``, ``app.py``, ``tests/``): a tuple, list, set or dict literal
  whose strings cover a whole registry is a second copy and fails the test (a subset, such as
  "the releases up to 8.2", is fine).
* Markdown (``README.md``, ``docs/``): prose may name the whole list, but then in the registry's
  own order, so a new entry cannot be forgotten in one place and added in another.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sim.export import FORMATS
from sim.models import POLICY_KINDS, PRESET_POLICY_KINDS
from sim.policies import MODELS
from sim.qemu.versions import VERSIONS

ROOT = Path(__file__).resolve().parents[1]

REGISTRIES: dict[str, tuple[str, ...]] = {
    "policy kinds (sim.models.POLICY_KINDS)": tuple(PRESET_POLICY_KINDS),
    "QEMU releases (sim.qemu.versions.VERSIONS)": tuple(VERSIONS),
    "export targets (sim.export.EXPORTERS)": tuple(FORMATS),
}
"""Each list and where it lives. The policy list is matched without ``custom`` so that the
pickers' "every kind but custom" copies are caught too."""

HOMES: frozenset[tuple[str, str]] = frozenset({
    ("sim/models.py", "policy kinds (sim.models.POLICY_KINDS)"),
    ("sim/policies/__init__.py", "policy kinds (sim.models.POLICY_KINDS)"),
    ("sim/export/__init__.py", "export targets (sim.export.EXPORTERS)"),
    # the test that pins the target names a user can type (a rename must be deliberate)
    ("tests/export/test_export_formats.py", "export targets (sim.export.EXPORTERS)"),
})
"""The one place each list is written (and the registry's own pinning test)."""


def _python_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for folder in ("sim", "app_pages", "tests"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def _literals(tree: ast.AST) -> list[tuple[int, set[str]]]:
    found = []
    for node in ast.walk(tree):
        elts: list[ast.expr | None]
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            elts = list(node.elts)
        elif isinstance(node, ast.Dict):
            elts = list(node.keys)
        else:
            continue
        strings = {e.value for e in elts
                   if isinstance(e, ast.Constant) and isinstance(e.value, str)}
        if strings:
            found.append((node.lineno, strings))
    return found


def test_the_registries_agree() -> None:
    assert tuple(MODELS) == POLICY_KINDS
    assert set(PRESET_POLICY_KINDS) < set(POLICY_KINDS)


def test_no_list_is_spelled_out_twice_in_python() -> None:
    copies = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        for line, strings in _literals(ast.parse(path.read_text(encoding="utf-8"))):
            for name, items in REGISTRIES.items():
                if set(items) <= strings and (rel, name) not in HOMES:
                    copies.append(f"{rel}:{line} spells out the {name}")
    assert copies == []


_SEP = r"(?:,\s*|\s+or\s+|\s*\|\s*|/)"


def _runs(items: tuple[str, ...]) -> re.Pattern[str]:
    """A run of registry entries separated by commas, "or", pipes or slashes."""
    word = "|".join(re.escape(i) for i in sorted(items, key=len, reverse=True))
    return re.compile(rf"(?<![\w.-])(?:{word})(?:{_SEP}(?:{word}))+(?![\w.-])")


def test_no_list_is_written_out_in_python_prose() -> None:
    """Help texts and messages join the registry (``", ".join(PRESET_POLICY_KINDS)``) instead
    of writing the names out."""
    copies = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("tests/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            for name, items in REGISTRIES.items():
                for m in _runs(items).finditer(node.value):
                    if set(items) <= set(re.split(_SEP, m.group(0))):
                        copies.append(f"{rel}:{node.lineno} writes out the {name}")
    assert copies == []


@pytest.mark.parametrize("name", list(REGISTRIES))
def test_docs_name_a_whole_list_in_the_registry_order(name: str) -> None:
    items = REGISTRIES[name]
    run, sep = _runs(items), _SEP
    wrong = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for m in run.finditer(path.read_text(encoding="utf-8")):
            named = tuple(re.split(sep, m.group(0)))
            if set(items) <= set(named) and named[:len(items)] != items:
                wrong.append(f"{path.relative_to(ROOT)}: {m.group(0)!r}")
    assert wrong == []


def _layout_rows() -> list[tuple[str, str]]:
    """The README's Layout table as (path cell, what cell) rows."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| path | what |"):]
    table = table[:table.index("\n\n")]
    rows = []
    for line in table.splitlines()[2:]:
        path, _, what = line.partition(" | ")
        rows.append((path, what))
    return rows


def test_readme_layout_matches_the_tree() -> None:
    paths = set()
    for path, _ in _layout_rows():
        paths.update(re.findall(r"`([\w./-]+/?)`", path))
    assert [p for p in paths if not (ROOT / p).exists()] == []
    listed = {p.rstrip("/") for p in paths}
    entries = {f"sim/{p.name}" for p in (ROOT / "sim").iterdir()
               if p.name != "__pycache__" and (p.suffix == ".py" or p.is_dir())}
    assert sorted(entries - listed) == []


def test_readme_layout_names_all_the_modules_of_a_package_it_details() -> None:
    """A package's row that names its modules (``sim/ui/``: ``form.py``, …) names every one
    and only those, so a new module cannot be left off the map."""
    wrong = []
    for path, what in _layout_rows():
        folders = re.findall(r"`([\w./-]+/)`", path)
        named = set(re.findall(r"`(\w+\.py)`", what))
        if len(folders) != 1 or not named:
            continue
        modules = {p.name for p in (ROOT / folders[0]).glob("*.py") if p.name != "__init__.py"}
        if named != modules:
            wrong.append(f"{folders[0]}: the table names {sorted(named)}, the tree has "
                         f"{sorted(modules)}")
    assert wrong == []


def test_long_or_branchy_functions_say_why() -> None:
    """No function with over ~60 lines of code, and none ruff's C901 exempts, without a reason
    in its docstring ("Long because …", "Branchy because …", "Long and branchy because …")."""
    silent = []
    for path in _python_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("tests/"):
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            first = body[0].lineno if body else node.lineno  # code lines, not the docstring
            long = (node.end_lineno or node.lineno) - first + 1 > 60
            exempt = "# noqa: C901" in lines[node.lineno - 1]
            doc = ast.get_docstring(node) or ""
            if (long or exempt) and not re.search(r"\b(Long|Branchy)\b[^.]* because", doc):
                silent.append(f"{rel}:{node.lineno} {node.name}")
    assert silent == []
