"""The notebooks under ``notebooks/`` run from a clean state and check their own conclusions.

The notebooks live in git as jupytext percent-format ``.py`` files without outputs. Each test
converts one to ``.ipynb`` in ``tmp_path`` with jupytext and executes it top to bottom in a
fresh ``python3`` kernel (this venv's) with the repository root as working directory, so a
notebook fails here exactly when it fails for a user: an exception, or one of the
``assert`` cells that tie its conclusion to what the ``sim`` API returns. One notebook is
also run through papermill with other parameters, and the conclusion it writes is checked.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
papermill = pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.py"))
CELL_TIMEOUT_S = 300


def _public(module: str) -> bool:
    """``sim`` or one of its modules, with no private (underscore) part."""
    parts = module.split(".")
    return parts[0] == "sim" and not any(p.startswith("_") for p in parts)


def _to_ipynb(source: Path, tmp_path: Path) -> Path:
    """Convert a percent-format notebook to ``.ipynb`` in ``tmp_path`` (no outputs)."""
    out = tmp_path / f"{source.stem}.ipynb"
    jupytext.write(jupytext.read(source), out)
    return out


def _code(source: Path) -> str:
    return "\n".join(c.source for c in jupytext.read(source).cells if c.cell_type == "code")


def test_there_are_three_notebooks() -> None:
    """Capacity planning, policy trade-offs and calibration are all there, and no ``.ipynb``
    with outputs is kept next to them."""
    assert {p.stem for p in NOTEBOOKS} >= {"capacity_planning", "policy_tradeoffs",
                                           "calibration"}
    assert not list(NOTEBOOK_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_shape(source: Path) -> None:
    """Each notebook is paired as ``ipynb,py:percent``, opens with the question it answers,
    has exactly one cell tagged ``parameters``, ends with a conclusion, and imports only the
    public ``sim`` API."""
    text = source.read_text(encoding="utf-8")
    assert "formats: ipynb,py:percent" in text
    nb = jupytext.read(source)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    assert "**Question.**" in first.source
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert tagged[0].cell_type == "code"
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert headings[-1].startswith("## Conclusion")
    assert nb.cells[-1].cell_type == "code"
    assert "conclusion" in nb.cells[-1].source
    for node in ast.walk(ast.parse(_code(source))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sim":
            assert _public(node.module), node.module
            assert not any(a.name.startswith("_") for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sim":
                    assert _public(alias.name), alias.name
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "sim"):
            assert not node.attr.startswith("_"), node.attr


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_from_a_clean_state(source: Path, tmp_path: Path) -> None:
    """Executing every cell in a fresh kernel raises nothing, so every assert the notebook
    makes about its own conclusion holds."""
    import nbformat

    if source.stem == "calibration" and not any(
            p.read_text(encoding="utf-8").strip() for p in (ROOT / "data/lab").glob("*.jsonl")):
        pytest.skip("no lab corpus in data/lab/*.jsonl: record runs with `miglab lab run`")
    path = _to_ipynb(source, tmp_path)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    printed = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", [])
                      if o.get("output_type") == "stream")
    assert printed.strip(), "the conclusion cell prints its answer"


def test_capacity_planning_under_other_parameters(tmp_path: Path) -> None:
    """papermill runs the capacity notebook for rack 2 (25 Gbit/s hosts), the busy hour at
    three times the inventory's dirty rates and a 30 s target; the conclusion it writes is
    for those parameters and its numbers hang together."""
    path = _to_ipynb(NOTEBOOK_DIR / "capacity_planning.py", tmp_path)
    out_json = tmp_path / "conclusion.json"
    papermill.execute_notebook(
        str(path), str(tmp_path / "out.ipynb"), cwd=str(ROOT), kernel_name="python3",
        progress_bar=False, request_save_on_cell_execute=False,
        parameters={"host": "r2-h1", "rack_prefix": "r2-", "dirty_rate_factor": 3.0,
                    "target_drain_s": 30.0, "conclusion_path": str(out_json)})
    c = json.loads(out_json.read_text())
    assert (c["host"], c["rack"], c["dirty_rate_factor"], c["target_drain_s"]) == (
        "r2-h1", "r2-", 3.0, 30.0)
    for key in ("host_drain_s", "rack_drain_s"):
        assert set(c[key]) == {"kubevirt/default", "kubevirt/tuned", "nova/default",
                               "nova/tuned"}
        assert all(v > 0 for v in c[key].values())
    # The rack holds the host, so it never drains faster under the same settings.
    for case, seconds in c["host_drain_s"].items():
        assert c["rack_drain_s"][case] >= seconds - 1e-6
    # Only rack-2 VMs are named, and a link found for the target is a real number.
    stuck = {vm for vms in c["not_converging"].values() for vm in vms}
    assert all(vm.endswith(("21", "22", "23")) for vm in stuck)
    tuned = [c["link_for_target_gbps"][f"{p}/tuned"] for p in ("kubevirt", "nova")]
    assert all(v > 0 and (math.isinf(v) or v < 400) for v in tuned)
