"""End to end: the real Streamlit server driven by Debian's chromium through Playwright.

Starts ``streamlit run app.py`` on a free port of 127.0.0.1, opens every page at 1280×800,
types a value QEMU refuses and reads QEMU's message, runs a simulation and waits for a plot.
With ``MIGLAB_SCREENSHOTS=1`` the page screenshots go to ``docs/screenshots/`` (the README's
pictures); otherwise to a temporary directory.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sim import ui
from sim._serve import dashboard

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]
PAGES = [  # url path, title, text that shows the page has rendered
    ("simulate", "Simulate", "converged in"),
    ("compare", "Compare", "the best of the settings that converged"),
    ("tradeoffs", "Trade-offs", "Run the sweep"),
    ("drain", "Drain planner", "drain time"),
    ("recommend", "Recommend & export", "HTML report"),
    ("lab", "Lab", "Real QEMU migrations"),
]

pytestmark = pytest.mark.browser  # skipped without chromium: tests/conftest.py


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A headless dashboard on 127.0.0.1 (``miglab serve``'s command line); always stopped."""
    try:
        with dashboard(ROOT, timeout_s=30) as url:
            yield url
    except RuntimeError as err:
        pytest.fail(str(err))


def _shots(tmp_path: Path) -> Path:
    if os.environ.get("MIGLAB_SCREENSHOTS") == "1":
        out = ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path


def _scenario_in_url(url: str) -> dict[str, object]:
    """The scenario a dashboard link carries in its ``?s=`` token."""
    token = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["s"][0]
    return ui.decode_scenario(token)


def test_every_page_in_chromium(server: str, tmp_path: Path) -> None:
    """Each page opens; a refused value shows QEMU's message; a bad upload changes nothing;
        a good one loads; a simulation draws a plot."""
    from playwright.sync_api import expect, sync_playwright

    shots = _shots(tmp_path)
    # Assertions wait as long as actions do: a loaded 2-core machine (or the Scenario page
    # compiling plotly's code in the background) can take more than expect's default 5 s.
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(30_000)

            def settle() -> None:
                page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")

            page.goto(server)
            page.get_by_text("QEMU would accept these settings").wait_for()
            page.wait_for_url("**/?s=*")  # the link carries the scenario
            settle()
            expect(page.get_by_role("textbox", name="memory", exact=True).last
                   ).to_have_value("8GiB")
            page.screenshot(path=str(shots / "scenario.png"))

            box = page.get_by_role("textbox", name="downtime-limit (ms)", exact=True)
            box.fill("5000000")
            box.press("Enter")
            message = ("Parameter 'downtime_limit' expects an integer in the range of 0 to "
                       "(2000 * 1000) ms")
            expect(page.get_by_text(f"QEMU: {message}")).to_be_visible()
            expect(page.get_by_text("QEMU would reply:")).to_be_visible()
            settle()
            page.get_by_text(f"QEMU: {message}").scroll_into_view_if_needed()
            page.mouse.wheel(0, 200)
            page.screenshot(path=str(shots / "scenario-invalid.png"))
            box = page.get_by_role("textbox", name="downtime-limit (ms)", exact=True)
            box.fill("300ms")
            box.press("Enter")
            page.get_by_text("QEMU would accept these settings").wait_for()
            settle()

            page.get_by_text("Load or save a scenario file").click()
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
                files=[{"name": "broken.yaml", "mimeType": "application/yaml",
                        "buffer": b"vm: [1, 2\n"}])
            expect(page.get_by_text("Not loaded; the current scenario is unchanged.")
                   ).to_be_visible()
            expect(page.get_by_text("QEMU would accept these settings")).to_be_visible()
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(
                str(ROOT / "data" / "examples" / "db-32g-postcopy.yaml"))
            expect(page.get_by_text("Loaded db-32g-postcopy.yaml")).to_be_visible()
            settle()
            memory = page.get_by_role("textbox", name="memory", exact=True).last
            expect(memory).to_have_value("32GiB")
            page.get_by_role("button", name="Reset to the default scenario").click()
            page.get_by_text("Loaded db-32g-postcopy.yaml").wait_for(state="detached")
            settle()
            expect(page.get_by_role("textbox", name="memory", exact=True).last
                   ).to_have_value("8GiB")

            for url_path, title, ready in PAGES:
                page.get_by_role("link", name=title).first.click()
                page.wait_for_url(f"**/{url_path}**")
                page.get_by_role("heading", name=title).first.wait_for()
                expect(page.get_by_text(ready).first).to_be_visible(timeout=30_000)
                if url_path == "recommend":
                    page.get_by_role("slider").first.wait_for()
                if url_path == "tradeoffs":
                    page.get_by_role("button", name="Run the sweep").click()
                if url_path in ("simulate", "compare", "tradeoffs", "drain", "lab"):
                    page.locator(".js-plotly-plot").first.wait_for()
                settle()
                page.screenshot(path=str(shots / f"{url_path}.png"))

            # Trade-offs: clicking a point on the Pareto front loads exactly that setting.
            page.get_by_role("link", name="Trade-offs").first.click()
            page.get_by_text("Pareto front: total time vs downtime").wait_for()
            # The page rewrites its URL after it renders; read the token only once it is there.
            page.wait_for_url("**/tradeoffs?s=*")
            before = _scenario_in_url(page.url)
            pareto = page.locator(".js-plotly-plot").last
            pareto.scroll_into_view_if_needed()
            pareto.locator(".scatterlayer .point").first.click(force=True)
            picked = page.get_by_text(re.compile(r"^Point \d+:")).first
            picked.wait_for()
            index = int(re.match(r"Point (\d+):", picked.inner_text()).group(1))  # type: ignore[union-attr]
            axes = [ui.SWEEP_AXES[label] for label in list(ui.SWEEP_AXES)[:2]]
            points = ui.sweep_points([(path, ui.axis_values(path, text))
                                      for path, text in axes])
            expected = ui.apply_changes(before, points[index])
            assert expected != before
            page.get_by_role("button", name="Load this setting").click()
            # Waits until the link carries exactly the picked setting; times out otherwise.
            page.wait_for_url(lambda url: "/simulate?s=" in url
                              and _scenario_in_url(url) == expected)
            expect(page.get_by_text("converged in").first).to_be_visible()

            # Back to the form, edit, and simulate again: the edit must carry over.
            page.get_by_role("link", name="Scenario").first.click()
            memory = page.get_by_role("textbox", name="memory", exact=True).last
            memory.fill("16GiB")
            memory.press("Enter")
            page.get_by_text("QEMU would accept these settings").wait_for()
            settle()
            page.get_by_role("link", name="Simulate").first.click()
            expect(page.get_by_text("converged in").first).to_be_visible()
            expect(page.get_by_text("QEMU would reply")).to_have_count(0)
        finally:
            browser.close()


# ---------------------------------------------------------------- issue 18: settings that act,
# charts that cannot mislead, state that survives navigation, exports that parse


@contextmanager
def _browser_page() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800},
                                    accept_downloads=True)
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def _settle(page: Any) -> None:
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")


def _open(page: Any, server: str, path: str, scenario: dict[str, Any]) -> None:
    page.goto(f"{server}/{path}?s={ui.encode_scenario(scenario)}")
    _settle(page)


def _simulate_verdict(page: Any) -> str:
    page.get_by_role("link", name="Simulate").first.click()
    page.wait_for_url("**/simulate**")
    alert = page.locator('[data-testid="stAlert"]').filter(has_text=" on QEMU ").first
    alert.wait_for()
    _settle(page)
    return str(alert.inner_text())


def test_postcopy_after_from_the_form_changes_the_verdict(server: str) -> None:
    from playwright.sync_api import expect

    sc = ui.apply_changes(ui.default_scenario(), {
        "capabilities.auto-converge": False, "capabilities.postcopy-ram": True,
        "workload.dirty-rate": "3GiB/s", "control.timeout": "60s",
        "parameters.max-bandwidth": 0})
    with _browser_page() as page:
        _open(page, server, "", sc)
        assert "did not converge" in _simulate_verdict(page)
        expect(page.get_by_text("nothing starts postcopy")).to_be_visible()
        page.get_by_role("link", name="Scenario").first.click()
        box = page.get_by_role("textbox", name="postcopy after", exact=True)
        box.fill("2 syncs")
        box.press("Enter")
        page.wait_for_url(lambda url: _scenario_in_url(url).get("control", {})  # type: ignore[union-attr]
                          .get("postcopy-after") == {"passes": 2})
        _settle(page)
        assert "converged in" in _simulate_verdict(page)
        expect(page.get_by_text("switched to postcopy at")).to_be_visible()


def test_a_kubevirt_option_changes_the_result(server: str) -> None:
    from playwright.sync_api import expect

    sc = ui.apply_changes(ui.default_scenario(), {
        "workload.dirty-rate": "2GiB/s", "control.policy": {"kind": "kubevirt"}})
    with _browser_page() as page:
        _open(page, server, "", sc)
        expect(page.get_by_text("The policy overrides the bandwidth")).to_be_visible()
        assert "converged in" in _simulate_verdict(page)
        expect(page.get_by_text("kubevirt sets max-bandwidth to unlimited")).to_be_visible()
        page.get_by_role("link", name="Scenario").first.click()
        box = page.get_by_role("textbox", name="completionTimeoutPerGiB", exact=True)
        box.fill("1")
        box.press("Enter")
        page.wait_for_url(lambda url: _scenario_in_url(url)["control"]  # type: ignore[index]
                          .get("policy", {}).get("completionTimeoutPerGiB") == 1)
        _settle(page)
        verdict = _simulate_verdict(page)
        assert "did not converge" in verdict
        assert "kubevirt: Live migration is not completed after 8 seconds" in verdict


def test_tradeoffs_marks_a_cell_that_did_not_converge(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    sc = ui.apply_changes(ui.default_scenario(), {
        "capabilities.auto-converge": False, "control.timeout": "60s"})
    with _browser_page() as page:
        _open(page, server, "tradeoffs", sc)
        page.get_by_role("combobox", name="y axis").click()
        page.get_by_role("option", name="dirty rate", exact=True).click()
        _settle(page)
        box = page.get_by_role("textbox", name="dirty rate values")
        box.fill("50MiB/s, 200MiB/s, 1GiB/s, 2GiB/s")
        box.press("Enter")
        _settle(page)
        page.get_by_role("button", name="Run the sweep").click()
        heatmap = page.locator(".js-plotly-plot").first
        heatmap.wait_for()
        _settle(page)
        # the cells say so, and the legend names the category
        expect(heatmap.locator(".hm text, .heatmaplayer text, text").filter(
            has_text="did not converge").first).to_be_visible()
        expect(heatmap.locator(".legend").get_by_text("did not converge")).to_be_visible()
        expect(page.get_by_text(re.compile(r"\d+ of 16 runs did not converge"))).to_be_visible()
        heatmap.scroll_into_view_if_needed()
        page.screenshot(path=str(_shots(tmp_path) / "tradeoffs.png"))


def test_compare_rows_survive_a_visit_to_another_page(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _browser_page() as page:
        _open(page, server, "compare", ui.default_scenario())
        chart = page.locator(".js-plotly-plot").first
        chart.wait_for()
        editor = page.locator('[data-testid="stDataFrame"]').first
        box = editor.bounding_box()
        assert box is not None
        # the first row's label cell (after the row-marker column): select it, Enter
        # opens its editor, type, Enter writes it
        page.mouse.click(box["x"] + 80, box["y"] + 35 + 17)
        page.keyboard.press("Enter")
        cell = page.locator("textarea").first
        cell.wait_for()
        expect(cell).to_have_value("as set")
        cell.fill("mine, as set")
        cell.press("Enter")
        cell.wait_for(state="detached")
        _settle(page)
        legend = page.locator(".js-plotly-plot .legend")
        page.screenshot(path=str(tmp_path / "edited.png"))
        expect(legend.get_by_text(re.compile(r"^1\. mine, as set"))).to_be_visible()
        page.screenshot(path=str(_shots(tmp_path) / "compare.png"))
        page.get_by_role("link", name="Drain planner").first.click()
        page.get_by_text("drain time").first.wait_for()
        page.get_by_role("link", name="Compare").first.click()
        page.locator(".js-plotly-plot").first.wait_for()
        _settle(page)
        expect(legend.get_by_text(re.compile(r"^1\. mine, as set"))).to_be_visible()


def test_drain_planner_for_chosen_hosts(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with _browser_page() as page:
        _open(page, server, "drain", ui.default_scenario())
        page.get_by_text("drain time").first.wait_for()
        box = page.get_by_role("textbox", name="or a name prefix")
        box.fill("r1-")
        box.press("Enter")
        _settle(page)
        expect(page.get_by_text("10 of 10")).to_be_visible()
        page.get_by_text("downtime", exact=True).last.click()  # colour by downtime
        _settle(page)
        expect(page.get_by_text(re.compile(r"^Worst:"))).to_be_visible()
        page.locator(".js-plotly-plot").first.wait_for()
        page.get_by_role("textbox", name="or a name prefix").scroll_into_view_if_needed()
        page.mouse.wheel(0, 380)
        _settle(page)
        page.screenshot(path=str(_shots(tmp_path) / "drain.png"))


def test_qmp_download_parses_line_by_line_as_json(server: str, tmp_path: Path) -> None:
    import json

    with _browser_page() as page:
        _open(page, server, "recommend", ui.default_scenario())
        seen: dict[str, list[str]] = {}
        for name in ("source.qmp.jsonl", "destination.qmp.jsonl"):
            button = page.get_by_role("button", name=name)
            button.wait_for()
            with page.expect_download() as info:
                button.click()
            download = info.value
            assert download.suggested_filename == name
            target = tmp_path / name
            download.save_as(target)
            lines = [line for line in target.read_text(encoding="utf-8").splitlines()
                     if line.strip()]
            seen[name] = [json.loads(line)["execute"] for line in lines]  # every line
        assert seen["source.qmp.jsonl"][0] == "qmp_capabilities"
        assert "migrate" in seen["source.qmp.jsonl"]
        assert "migrate-incoming" in seen["destination.qmp.jsonl"]
