"""The Voila app in a real browser: move a slider, the prediction text and the attention plot change.

Needs Debian's chromium (/usr/bin/chromium; `.ci/run` installs it) and the Python packages voila and
playwright (never `playwright install`: the browser comes from the system).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def voila_url(tmp_path):
    pytest.importorskip("voila")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SEQATTN_FAST"}  # the app uses the shipped weights
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), OMP_WAIT_POLICY="PASSIVE", MPLBACKEND="Agg")
    log = open(tmp_path / "voila.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(ROOT / "notebooks" / "04_visualize.ipynb"), f"--port={port}",
         "--no-browser", "--Voila.ip=127.0.0.1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "api", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"voila exited: {(tmp_path / 'voila.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_slider_moves_prediction_and_attention_plot(voila_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # stay offline: Voila asks a CDN for fonts; only loopback may answer
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
                       else route.abort())
            page.goto(voila_url, timeout=120_000)
            text = page.locator(".seqattn-prediction")
            text.wait_for(timeout=180_000)
            page.wait_for_function("document.querySelector('.seqattn-plot') && "
                                   "document.querySelector('.seqattn-plot').src", timeout=60_000)
            before_text = text.inner_text()
            before_src = page.locator(".seqattn-plot").get_attribute("src")
            assert "Predicted next value: 12.00" in before_text
            page.screenshot(path=str(tmp_path / "before.png"))
            # slider handles: 0 = length, 1.. = t=0, t=1, ...; nudge t=4 (value 10) to the right
            handle = page.locator(".widget-slider .noUi-handle").nth(5)
            handle.focus()
            for _ in range(10):
                handle.press("ArrowRight")
            page.wait_for_function(
                "([before]) => { const e = document.querySelector('.seqattn-prediction');"
                " return e && e.innerText !== before; }", arg=[before_text], timeout=60_000)
            page.wait_for_function(
                "([before]) => document.querySelector('.seqattn-plot').src !== before",
                arg=[before_src], timeout=60_000)
            after_text = text.inner_text()
            page.screenshot(path=str(tmp_path / "after.png"))
            assert after_text != before_text and "Predicted next value" in after_text
            assert (tmp_path / "after.png").read_bytes() != (tmp_path / "before.png").read_bytes()
            shutil.copy(tmp_path / "after.png", tmp_path / "app.png")
        finally:
            browser.close()
