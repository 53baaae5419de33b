"""Dashboard speed: time to the verdict and to the first chart for a 16 GiB guest opened by link.

Issue 8 asks that "a page is usable at 1280×800 and its first result appears within 2 s for a
16 GiB guest". This starts a real ``streamlit run app.py`` on 127.0.0.1 (as the e2e test
does), drives Debian's chromium through Playwright at 1280×800, and opens
``/simulate?s=<token>`` for a 16 GiB guest: the link a user would paste.

The clock is the page's own (``performance.now()``, zero at navigation start). A
``MutationObserver`` installed before the page loads records when the verdict alert first
contains the scenario's name, when the first metric appears, and when the first plotly chart
has drawn its SVG; the Resource Timing entries tell when each static chunk (the plotly chunk
above all) was requested and finished, and CDP's ``Performance.getMetrics`` gives the tab's
total script and layout time. Server-side script time is measured apart, in-process with
Streamlit's ``AppTest`` (the same script, no browser).

Cases:

- *cold server*: a freshly started server, its first visitor (Python imports, first
  simulation, empty caches). Repeated over ``--cold`` server starts.
- *warm server, fresh browser*: more fresh browser contexts on the same server (the server's
  caches are warm; the browser has no HTTP cache: a first-time visitor).
- *warm server, cached browser*: the same context reloading the link (static chunks come
  from the browser's cache: a returning visitor).
- *navigate*: the Scenario page opened by link, ``--think`` seconds of reading, then a click
  on *Simulate*; times count from the click.

``--baseline DIR`` measures another copy of the repository (e.g. the last commit's pages)
in turns with this one: both servers run at once and the visits alternate, so that a machine
shared with other work slows both alike. Servers start as ``miglab serve`` starts them
(:mod:`sim._serve`: no file watcher; ``--server-arg=--server.fileWatcherType=auto`` turns it
back on, see RESULTS.md).

    .venv/bin/python benchmarks/dashboard/bench_dashboard.py               # 3 cold, 6 warm
    .venv/bin/python benchmarks/dashboard/bench_dashboard.py --cold 1 --warm 2 --json out.json
    .venv/bin/python benchmarks/dashboard/bench_dashboard.py --baseline /tmp/miglab-before
    .venv/bin/python benchmarks/dashboard/bench_dashboard.py \
        --server-arg=--server.fileWatcherType=auto

Medians go into ``benchmarks/dashboard/RESULTS.md`` by hand, with the raw figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sim import ui  # noqa: E402
from sim._serve import dashboard  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 60_000

OBSERVER = textwrap.dedent("""
    (() => {
      window.__bench = {};
      const name = %s;
      const titled = (text) => {
        for (const el of document.querySelectorAll('.js-plotly-plot .gtitle')) {
          if (el.textContent.startsWith(text)) return true;
        }
        return false;
      };
      const check = () => {
        const b = window.__bench;
        if (!b) return;
        if (b.verdict === undefined) {
          for (const el of document.querySelectorAll('[data-testid="stAlert"]')) {
            if (el.textContent.includes(name + ' on QEMU')) {
              b.verdict = performance.now();
              break;
            }
          }
        }
        if (b.metric === undefined && document.querySelector('[data-testid="stMetric"]'))
          b.metric = performance.now();
        if (b.glance === undefined && document.querySelector(
              'svg[aria-label="Dirty memory still to send over time"] polyline'))
          b.glance = performance.now();
        if (b.chart === undefined && titled('Dirty memory still to send'))
          b.chart = performance.now();
        if (b.charts4 === undefined && titled('Where the downtime goes'))
          b.charts4 = performance.now();
      };
      new MutationObserver(check).observe(document, {subtree: true, childList: true,
                                                     characterData: true});
    })();
""")


def scenario_16g() -> dict[str, Any]:
    """The dashboard's default scenario with a 16 GiB guest."""
    sc = ui.default_scenario()
    sc["name"] = "web-16g"
    sc["vm"]["memory"] = "16GiB"
    return sc


def server(root: Path = ROOT, extra: tuple[str, ...] = ()) -> AbstractContextManager[str]:
    """A fresh dashboard served from ``root`` as ``miglab serve`` serves it (``extra``:
    more ``streamlit run`` options); stopped afterwards."""
    return dashboard(root, *extra)


def _resources(page: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = page.evaluate(
        """() => performance.getEntriesByType('resource').map(e => ({
             name: e.name.split('/').pop().split('?')[0], type: e.initiatorType,
             start: e.startTime, end: e.responseEnd, size: e.encodedBodySize,
             wire: e.transferSize}))""")
    return entries


class Frames:
    """WebSocket frame times from CDP (seconds, CDP's monotonic clock)."""

    def __init__(self, cdp: Any) -> None:
        self.sent: list[float] = []
        self.received: list[float] = []
        cdp.on("Network.webSocketFrameSent", lambda e: self.sent.append(e["timestamp"]))
        cdp.on("Network.webSocketFrameReceived",
               lambda e: self.received.append(e["timestamp"]))
        cdp.send("Network.enable")

    def clear(self) -> None:
        self.sent.clear()
        self.received.clear()

    def server_ms(self) -> float | None:
        """From the first message the browser sent to the last one it received (the
        script's run, the server's share of the wait)."""
        if not self.sent or not self.received:
            return None
        return (max(self.received) - min(self.sent)) * 1000


def _wait(page: Any, what: str) -> None:
    page.wait_for_function(f"() => window.__bench && window.__bench.{what} !== undefined",
                           timeout=TIMEOUT_MS)


def _times(page: Any, cdp: Any, frames: Frames, t0: float = 0.0) -> dict[str, Any]:
    """The observer's times (ms after ``t0`` on the page clock) and what the tab did."""
    bench: dict[str, float] = page.evaluate("() => window.__bench")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    res = _resources(page)
    plotly = [r for r in res if r["name"].startswith("PlotlyChart")]
    js = [r for r in res if r["name"].endswith(".js")]
    out: dict[str, Any] = {
        "verdict_ms": bench["verdict"] - t0,
        "metric_ms": bench["metric"] - t0,
        "chart_ms": bench["chart"] - t0, "charts4_ms": bench["charts4"] - t0,
        "glance_ms": bench["glance"] - t0 if "glance" in bench else None,
        "server_ms": frames.server_ms(), "js_files": len(js),
        "js_bytes": sum(r["size"] for r in js),
        "script_s": metrics.get("ScriptDuration"), "task_s": metrics.get("TaskDuration"),
        "layout_s": metrics.get("LayoutDuration"),
    }
    if plotly:
        out["plotly_start_ms"] = plotly[0]["start"] - t0
        out["plotly_end_ms"] = plotly[0]["end"] - t0
    return out


def visit(page: Any, cdp: Any, frames: Frames, link: str, reload: bool = False
          ) -> dict[str, Any]:
    """Open ``link`` (or reload it) and time the verdict, metric and charts."""
    cdp.send("Performance.disable")
    cdp.send("Performance.enable", {"timeMetric": "threadTicks"})
    frames.clear()
    wall0 = time.perf_counter()
    if reload:
        page.reload(wait_until="commit")
    else:
        page.goto(link, wait_until="commit")
    _wait(page, "verdict")
    wall_verdict = time.perf_counter() - wall0
    _wait(page, "charts4")
    _wait(page, "metric")
    out = _times(page, cdp, frames)
    out["wall_verdict_ms"] = wall_verdict * 1000
    out["dcl_ms"] = page.evaluate(
        "() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    return out


def navigate(page: Any, cdp: Any, frames: Frames, link: str, think_s: float) -> dict[str, Any]:
    """Open the Scenario page by link, read it for ``think_s``, then click *Simulate*."""
    page.goto(link, wait_until="commit")
    page.get_by_text("QEMU would accept these settings").wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached",
                                                            timeout=TIMEOUT_MS)
    time.sleep(think_s)  # a person reading the form; nothing is read from the page after it
    cdp.send("Performance.disable")
    cdp.send("Performance.enable", {"timeMetric": "threadTicks"})
    frames.clear()
    t0: float = page.evaluate("() => { window.__bench = {}; return performance.now(); }")
    page.get_by_role("link", name="Simulate").first.click()
    _wait(page, "charts4")
    _wait(page, "metric")
    out = _times(page, cdp, frames, t0)
    if "plotly_start_ms" in out and out["plotly_start_ms"] < 0:
        out["plotly_start_ms"] = out["plotly_end_ms"] = None  # fetched on the Scenario page
    return out


def edit(page: Any, link: str, edits: int) -> list[dict[str, Any]]:
    """Open the Scenario page by link, then change the *memory* field ``edits`` times (type,
    Enter), as a person tuning a scenario does. Each edit is timed from the key press to the
    link carrying the new value (the server's run has finished) and to the page at rest
    (Streamlit's running indicator gone: the browser has drawn the result)."""
    page.goto(link, wait_until="commit")
    page.get_by_text("QEMU would accept these settings").wait_for(timeout=TIMEOUT_MS)
    status = page.locator('[data-testid="stStatusWidget"]')
    status.wait_for(state="detached", timeout=TIMEOUT_MS)
    time.sleep(3.0)  # the Scenario page compiles plotly's code in the background first
    out = []
    for i in range(edits):
        value = f"{12 + i % 2 * 4}GiB"
        box = page.get_by_role("textbox", name="memory", exact=True).last
        box.fill(value)
        t0 = time.perf_counter()
        box.press("Enter")
        page.wait_for_url(lambda url, v=value: f"{v}" in str(
            ui.decode_scenario(url.split("s=", 1)[1].split("&")[0])["vm"]),
            timeout=TIMEOUT_MS)
        t_link = time.perf_counter()
        status.wait_for(state="detached", timeout=TIMEOUT_MS)
        t_rest = time.perf_counter()
        out.append({"edit_link_ms": (t_link - t0) * 1000, "edit_rest_ms": (t_rest - t0) * 1000})
    return out


CASES = {"cold": "cold server, fresh browser (link to Simulate)",
         "warm_fresh": "warm server, fresh browser (link to Simulate)",
         "warm_cached": "warm server, cached browser (reload of the link)",
         "navigate": "Scenario page by link, then click Simulate (ms after the click)",
         "edit": "Scenario page: a field edit (ms after Enter; Python's clock)"}


def browser_runs(trees: list[Path], cold: int, warm: int, token: str, think_s: float,
                 extra: tuple[str, ...] = ()) -> list[dict[str, list[dict[str, Any]]]]:
    """``cold`` rounds; in each, one fresh server per tree (all running), a cold visit to
    each, then fresh, cached and navigated visits. Trees take turns visit by visit, so that
    a busy machine slows them alike."""
    from playwright.sync_api import sync_playwright

    runs: list[dict[str, list[dict[str, Any]]]] = [{case: [] for case in CASES} for _ in trees]
    name = scenario_16g()["name"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            def fresh() -> tuple[Any, Any, Any, Frames]:
                ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                ctx.add_init_script(OBSERVER % json.dumps(name))
                page = ctx.new_page()
                cdp = ctx.new_cdp_session(page)
                return ctx, page, cdp, Frames(cdp)

            ctx, page, _, _ = fresh()  # chromium's own files into the OS page cache
            page.goto("about:blank")
            ctx.close()
            for i in range(cold):
                with ExitStack() as stack:
                    urls = [stack.enter_context(server(tree, extra)) for tree in trees]
                    for url, out in zip(urls, runs, strict=True):
                        ctx, page, cdp, frames = fresh()
                        out["cold"].append(visit(page, cdp, frames, f"{url}/simulate?s={token}"))
                        ctx.close()
                    for _ in range(warm // cold + (1 if i < warm % cold else 0)):
                        for url, out in zip(urls, runs, strict=True):
                            link = f"{url}/simulate?s={token}"
                            ctx, page, cdp, frames = fresh()
                            out["warm_fresh"].append(visit(page, cdp, frames, link))
                            out["warm_cached"].append(visit(page, cdp, frames, link,
                                                            reload=True))
                            ctx.close()
                            ctx, page, cdp, frames = fresh()
                            out["navigate"].append(
                                navigate(page, cdp, frames, f"{url}/?s={token}", think_s))
                            ctx.close()
                            ctx, page, cdp, frames = fresh()
                            out["edit"].extend(edit(page, f"{url}/?s={token}", 4))
                            ctx.close()
                print(f"  round {i + 1}/{cold}: cold verdicts "
                      + ", ".join(f"{out['cold'][-1]['verdict_ms']:.0f}" for out in runs)
                      + " ms", file=sys.stderr)
        finally:
            browser.close()
    return runs


SERVER_SIDE = textwrap.dedent("""
    import json, sys, time
    from streamlit.testing.v1 import AppTest
    token, app, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    times = []
    for _ in range(repeat):
        at = AppTest.from_file(app, default_timeout=60)
        at.query_params["s"] = token
        at.run()
        at.switch_page("app_pages/simulate.py")
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    print(json.dumps({"runs_s": times}))
""")


def server_side(root: Path, token: str, repeat: int) -> dict[str, Any]:
    """The Simulate page's run under AppTest in a fresh process: first run, then warm runs
    (each a new session; AppTest adds its own polling overhead)."""
    proc = subprocess.run([sys.executable, "-c", SERVER_SIDE, token, str(root / "app.py"),
                           str(repeat)], cwd=root, capture_output=True, text=True, check=True)
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


KEYS = [("verdict_ms", "verdict", "{:.0f}"), ("metric_ms", "first metric", "{:.0f}"),
        ("glance_ms", "first chart: the static glance (SVG drawn by the server)", "{:.0f}"),
        ("chart_ms", "first interactive chart (plotly timeline drawn)", "{:.0f}"),
        ("charts4_ms", "all four charts", "{:.0f}"),
        ("plotly_start_ms", "plotly chunk requested", "{:.0f}"),
        ("plotly_end_ms", "plotly chunk received", "{:.0f}"),
        ("server_ms", "first WebSocket message sent → last received", "{:.0f}"),
        ("dcl_ms", "DOMContentLoaded", "{:.0f}"),
        ("wall_verdict_ms", "verdict (Python's clock, incl. Playwright)", "{:.0f}"),
        ("script_s", "tab's JS execution (s, CDP ScriptDuration)", "{:.2f}"),
        ("layout_s", "tab's layout (s, CDP LayoutDuration)", "{:.2f}"),
        ("js_bytes", "JS bytes loaded", "{:.0f}"), ("js_files", "JS files loaded", "{:.0f}"),
        ("edit_link_ms", "field edit: Enter → the link carries it", "{:.0f}"),
        ("edit_rest_ms", "field edit: Enter → page at rest", "{:.0f}")]


def report(tree: Path, runs: dict[str, list[dict[str, Any]]], side: dict[str, Any]) -> str:
    """A Markdown table of medians, then the raw figures."""
    n = {case: len(rows) for case, rows in runs.items()}
    lines = [f"## {tree}", "", f"{time.strftime('%Y-%m-%d %H:%M')} — {platform.node()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}", "",
             "| median, ms after navigation start (navigate: after the click) | "
             + " | ".join(f"{c} (n={n[c]})" for c in runs) + " |",
             "|---|" + "---|" * len(runs)]
    for key, label, fmt in KEYS:
        cells = [(lambda m: "—" if m is None else fmt.format(m))(_median(rows, key))
                 for rows in runs.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    warm = side["runs_s"][1:] or side["runs_s"]
    lines += ["", f"AppTest, Simulate page, new process: first run "
              f"{side['runs_s'][0] * 1000:.0f} ms, later sessions median "
              f"{statistics.median(warm) * 1000:.0f} ms", "", "raw (ms):"]
    for case, rows in runs.items():
        if case == "edit":
            lines.append("- edit: at rest " + ", ".join(f"{r['edit_rest_ms']:.0f}"
                                                       for r in rows))
            continue
        lines.append(f"- {case}: verdict " + ", ".join(f"{r['verdict_ms']:.0f}" for r in rows)
                     + "; glance " + ", ".join("—" if r.get("glance_ms") is None
                                               else f"{r['glance_ms']:.0f}" for r in rows)
                     + "; first interactive chart "
                     + ", ".join(f"{r['chart_ms']:.0f}" for r in rows))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--cold", type=int, default=3, help="server starts (cold visits)")
    ap.add_argument("--warm", type=int, default=6,
                    help="fresh-context visits on warm servers (each also reloads once and "
                         "runs the navigate case once)")
    ap.add_argument("--think", type=float, default=3.0,
                    help="seconds on the Scenario page before clicking Simulate")
    ap.add_argument("--baseline", type=Path, action="append", default=[],
                    help="another tree (a copy of the repo at another version) to measure "
                         "in turns with this one")
    ap.add_argument("--server-arg", action="append", default=[], metavar="OPTION",
                    help="an extra `streamlit run` option, e.g. "
                         "--server-arg=--server.fileWatcherType=auto")
    ap.add_argument("--json", type=Path, help="write the raw figures here")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"needs Debian's chromium at {CHROMIUM}")
    token = ui.encode_scenario(scenario_16g())
    trees = [*args.baseline, ROOT]
    sides = [server_side(tree, token, 6) for tree in trees]
    runs = browser_runs(trees, args.cold, args.warm, token, args.think,
                        tuple(args.server_arg))
    for tree, tree_runs, side in zip(trees, runs, sides, strict=True):
        print(report(tree, tree_runs, side), end="\n\n")
    if args.json:
        args.json.write_text(json.dumps(
            [{"tree": str(t), "runs": r, "server_side": s}
             for t, r, s in zip(trees, runs, sides, strict=True)], indent=1))


if __name__ == "__main__":
    main()
