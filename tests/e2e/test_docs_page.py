"""End to end: the documentation page in a real headless browser (Debian's chromium), over real HTTP,
under a stage prefix as API Gateway serves it, with the page's Content-Security-Policy enforced.

The app runs on Chalice's local server in a subprocess (tests/e2e/stage_server.py); the page needs
no AWS, so no emulator is started. The browser renders the page, its files and the served document;
the test reads the DOM Swagger UI built and the browser's console log (where a blocked inline script
or style, an eval or a load from elsewhere would show as a CSP violation).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.api.conftest import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"
CHROMIUM = next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)
# An operation the page opens by its deep link, so its request body, examples and responses are drawn
# under the policy too, not only the list.
OPENED = ("registrations", "create_registration")
# What the browser logs when the policy blocks something, or when a script fails.
TROUBLE = re.compile(r"Content.Security.Policy|Refused to|Uncaught|Failed to load resource", re.IGNORECASE)
REQUEST_LINE = re.compile(r'"GET (\S+) HTTP/1\.[01]" (\d{3})')

# Skipped without a browser, except in CI: .ci/run installs it, so there its absence is a failure.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="no chromium binary on PATH (Debian: apt-get install chromium; .ci/run installs it)",
)


class Server:
    def __init__(self, base: str, log: Path) -> None:
        self.base = base  # http://127.0.0.1:PORT/prod
        self.log = log

    def requests_seen(self) -> list[tuple[str, int]]:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [(path, int(status)) for path, status in REQUEST_LINE.findall(text)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("docs-page")
    port = free_port()
    log_path = folder / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.stage_server", "--port", str(port), "--stage", STAGE],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/{STAGE}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited: {log_path.read_text()[-3000:]}")
            try:
                # The document is built on its first request: built here, not in the browser's time.
                if requests.get(f"{base}/v1/openapi.json", timeout=10).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no document within 60 s: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield Server(base, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _render(url: str, profile: Path) -> tuple[str, str]:
    """The DOM once the page has settled, and the browser's log (its console lines included)."""
    if CHROMIUM is None:
        pytest.fail("no chromium binary on PATH in CI: .ci/run installs it when absent")
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",  # as root in a container, chromium's sandbox cannot start
            "--disable-dev-shm-usage",  # a container's /dev/shm is small: shared memory in /tmp instead
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, result.stderr


@needs_chromium
def test_the_page_renders_every_route_in_a_browser_under_its_policy(server: Server, tmp_path: Path):
    # Given the routes the served document lists
    paths = set(requests.get(f"{server.base}/v1/openapi.json", timeout=10).json()["paths"])
    before = len(server.requests_seen())
    tag, operation = OPENED
    # When a browser opens the page under the stage's prefix, at the deep link of one operation
    dom, log = _render(f"{server.base}/v1/docs#/{tag}/{operation}", tmp_path / "profile")
    # Then Swagger UI drew every route of the document, opened the one linked, and offers this stage
    # (prefix included) as the server "Try it out" calls
    drawn = set(re.findall(r'data-path="([^"]+)"', dom))
    assert "/v1/registrations" in drawn and "/v1/docs" in drawn
    assert drawn == paths, f"not drawn: {sorted(paths - drawn)}; unexpected: {sorted(drawn - paths)}"
    opened = re.search(rf'<div class="([^"]*)" id="operations-{tag}-{operation}"', dom)
    assert opened and "is-open" in opened.group(1).split(), "the linked operation is not open"
    assert f'<option value="{server.base}">' in dom
    # and the browser reported no blocked script, style or load, and no script error
    trouble = [line for line in log.splitlines() if TROUBLE.search(line)]
    assert not trouble, "\n".join(trouble)
    # and it asked this stage only, for the page, its three files and the document, each answered
    loaded = server.requests_seen()[before:]
    assert all(path.startswith(f"/{STAGE}/v1/") and status == 200 for path, status in loaded), loaded
    names = {path.rsplit("/", 1)[1] for path, _ in loaded}
    assert names == {"docs", "swagger-ui.css", "swagger-ui-bundle.js", "init.js", "openapi.json"}, loaded
