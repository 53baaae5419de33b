"""The HTML report is self-contained and complete; its PDF prints with real pages."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from sim.export import FORMATS
from sim.report import ReportError, Sweep, render_html, result_from_dict, write_pdf
from sim.result import Action, RamStats, Result
from sim.scenario import DATA_DIR, Scenario, load_scenario
from sim.units import GiB, MiB

PLOTLY_BANNER = re.compile(r"plotly\.js v\d+\.\d+\.\d+")


@pytest.fixture
def scenario() -> Scenario:
    """The web-8g example."""
    return load_scenario(DATA_DIR / "examples" / "web-8g.yaml")


@pytest.fixture
def result() -> Result:
    """A small hand-made run (the report must not depend on the engine)."""
    rows = [{"time_s": t, "phase": "precopy", "remaining_bytes": r, "transferred_bytes": 0.0,
             "bandwidth_Bps": 128 * MiB, "throttle_pct": 0.0, "dirty_sync_count": 1,
             "dirty_rate_Bps": 64 * MiB, "expected_downtime_ms": 0.0, "event": e}
            for t, r, e in ((0.0, 8 * GiB, "sync"), (60.0, GiB, "sync"), (70.0, 0.0, "done"))]
    return Result(status="completed", converged=True, total_time_ms=70_000.0, downtime_ms=55.0,
                  setup_time_ms=10.0, expected_downtime_ms=50.0, ram=RamStats(total=8 * GiB),
                  timeline=rows, downtime_breakdown_ms={"stop": 5.0, "ram": 50.0},
                  actions=[Action(30.0, "operator", "set-downtime-limit", 500.0)])


def test_html_embeds_plotly_once_and_needs_no_network(scenario: Scenario,
                                                      result: Result) -> None:
    """plotly.js is inside the page exactly once and nothing is fetched from a CDN."""
    html = render_html(scenario, result)
    assert len(PLOTLY_BANNER.findall(html)) == 1
    # the library mentions its CDN in its own code; the page adds no reference of its own
    assert html.count("cdn.plot.ly") == get_plotlyjs().count("cdn.plot.ly")
    assert not re.search(r"<script[^>]+src=", html)
    assert html.count('class="figure"') == 4  # timeline, bandwidth, throttle, downtime


def test_html_holds_scenario_verdict_and_every_export(scenario: Scenario,
                                                      result: Result) -> None:
    """The verdict, the scenario file and each export with its gaps are on the page."""
    html = render_html(scenario, result)
    assert "converged in 1 min 10 s, downtime 55 ms" in html
    assert "max-bandwidth: 134217728" in html
    for fmt in FORMATS:
        assert f'id="export-{fmt}"' in html
    assert "timeout --signal=INT 600 virsh migrate" in html
    assert "KubeVirt turns multifd on" in html  # a gap, shown beside its export


def test_html_with_comparison_sweep_drain_and_recommendation(scenario: Scenario,
                                                             result: Result) -> None:
    """Optional sections appear with their figures; the recommendation is what is exported."""
    rec = scenario.with_changes({"parameters.downtime-limit": 900})
    sweep = Sweep(pd.DataFrame({"downtime_limit_ms": [300, 900], "link_gbps": [10, 10],
                                "total_time_s": [70.0, 40.0], "downtime_ms": [55.0, 400.0]}),
                  "downtime_limit_ms", "link_gbps", "total_time_s")
    drain = pd.DataFrame({"vm": ["a"], "host": ["h"], "start_s": [0.0], "end_s": [70.0],
                          "outcome": ["completed"]})
    html = render_html(scenario, result, comparison={"default": result, "other": result},
                       sweep=sweep, drain=drain, recommendation=rec,
                       reasons=["meets the 1 s downtime budget"])
    for heading in ("Comparison", "Sweep", "Host drain", "Recommendation"):
        assert f"<h2>{heading}</h2>" in html
    assert "meets the 1 s downtime budget" in html
    assert "virsh migrate-setmaxdowntime web-8g 900" in html
    assert html.count('class="figure"') == 4 + 1 + 2 + 1


def test_saved_result_reads_back(result: Result) -> None:
    """``result_from_dict(r.to_dict())`` rebuilds the same Result (ms rounded as QEMU does)."""
    back = result_from_dict(result.to_dict())
    assert back.to_dict() == result.to_dict()


def test_missing_chromium_says_how_to_install(tmp_path: Path) -> None:
    """Without a browser the error names Debian's package."""
    with pytest.raises(ReportError, match=r"apt-get install chromium"):
        write_pdf(tmp_path / "r.html", tmp_path / "r.pdf", chromium="/nonexistent/chromium")


def _ink_fraction(pgm: Path) -> float:
    """Share of pixels darker than near-white in a binary PGM (P5) page image."""
    data = pgm.read_bytes()
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P5"
    width, height = int(parts[1]), int(parts[2])
    pixels = parts[4][: width * height]
    return sum(1 for p in pixels if p < 200) / len(pixels)


@pytest.mark.browser  # skipped without chromium and pdftoppm: tests/conftest.py
def test_pdf_has_pages_that_are_not_blank(tmp_path: Path, scenario: Scenario,
                                          result: Result) -> None:
    """Chromium prints the report; pdftoppm renders each page to PNG, and every page has ink."""
    html_path = tmp_path / "report.html"
    html_path.write_text(render_html(scenario, result), encoding="utf-8")
    pdf = write_pdf(html_path, tmp_path / "report.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    subprocess.run(["pdftoppm", "-r", "30", "-gray", str(pdf), str(tmp_path / "gray")],
                   check=True, timeout=60)
    pngs = sorted(tmp_path.glob("page-*.png"))
    grays = sorted(tmp_path.glob("gray-*.pgm"))
    assert len(pngs) >= 3
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    assert all(_ink_fraction(g) > 0.005 for g in grays)
    # the figure page holds a drawn plot, not just text: more ink than a text-only page
    assert max(_ink_fraction(g) for g in grays) > 0.03
