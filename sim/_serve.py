"""Starting the dashboard: one place for the ``streamlit run`` command line.

``miglab serve`` (and so ``make run``), the browser tests and the dashboard benchmark all
start the same server the same way: headless, on 127.0.0.1 only, no usage statistics, and
no file watcher (it re-scans the project, ``.venv`` included, and delayed every new
session by 0.3–0.5 s; ``benchmarks/dashboard/RESULTS.md``), uploads of at most 1 MB.
Code edits then need a reload of the server, not just of the page.

    >>> streamlit_argv(Path("app.py"), 8501)[4:7]
    ['app.py', '--server.headless', 'true']
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["dashboard", "free_port", "streamlit_argv"]

APP_PY = Path(__file__).resolve().parent.parent / "app.py"


def streamlit_argv(app_py: Path, port: int, *extra: str) -> list[str]:
    """The command that serves ``app_py`` on ``127.0.0.1:port`` (``extra``: more options)."""
    return [sys.executable, "-m", "streamlit", "run", str(app_py),
            "--server.headless", "true", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
            # uploads are refused above 1 MiB anyway (sim._bounded); stop them at the door
            "--server.maxUploadSize", "1", *extra]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def dashboard(root: Path = APP_PY.parent, *extra: str, timeout_s: float = 60.0,
              ) -> Iterator[str]:
    """Serve ``root/app.py`` on a free port until the block ends; yields its URL.

    Waits for Streamlit's health check; the server is always stopped afterwards.

    Raises:
        RuntimeError: the server exited or was not healthy within ``timeout_s``, with the
            end of its log.
    """
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(streamlit_argv(root / "app.py", port, *extra), cwd=root,
                                stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while not _healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read()[-2000:].decode(errors="replace")
                    raise RuntimeError(f"streamlit did not start on {url}:\n{tail}")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
            return bool(reply.read() == b"ok")
    except OSError:
        return False
