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
from pathlib import Path

import pytest

from sim import ui_model
from sim._serve import dashboard

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]
PAGES = [  # url path, title, text that shows the page has rendered
    ("simulate", "Simulate", "converged in"),
    ("compare", "Compare", "3. multifd 8, auto-converge"),
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
    return ui_model.decode_scenario(token)


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
            axes = [ui_model.SWEEP_AXES[label] for label in list(ui_model.SWEEP_AXES)[:2]]
            points = ui_model.sweep_points([(path, ui_model.axis_values(path, text))
                                            for path, text in axes])
            expected = ui_model.apply_changes(before, points[index])
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
