"""The Voila app in a real browser: the page shows only the apps (the notebook's check cells are hidden);
a key press and a mouse drag on a slider change the prediction text and the plot (the drag while the
mouse is still down: updates are continuous); the map selector redraws the bars.

Needs Debian's chromium (/usr/bin/chromium; `.ci/run` installs it) and the Python packages voila and
playwright (never `playwright install`: the browser comes from the system).
"""

import os
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


def changed(page, selector: str, before: str, attribute: str = "innerText", timeout: int = 60_000) -> None:
    """Wait until the first element matching ``selector`` has a different ``attribute`` than ``before``."""
    page.wait_for_function(
        "([sel, attr, before]) => { const e = document.querySelector(sel); return e && e[attr] !== before; }",
        arg=[selector, attribute, before], timeout=timeout)


def test_app_page_slider_drag_and_map_switch(voila_url, tmp_path):
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
            page.locator(".seqattn-signal-plot").wait_for(timeout=120_000)
            before_text = text.inner_text()
            assert "Predicted next value: 12.00" in before_text and "12 = " in before_text  # the recipe
            # only the apps: the check cells run in the kernel but are hidden on the page
            checks = page.locator(".celltag_checks")
            assert checks.count() >= 3 and not any(checks.nth(k).is_visible() for k in range(checks.count()))
            assert not page.get_by_text("linear preset:").first.is_visible()
            page.screenshot(path=str(tmp_path / "before.png"))

            # 1. keyboard: slider handles are 0 = length, 1.. = t=0, t=1, ...; nudge t=4 (value 10) up
            src = page.locator(".seqattn-plot").get_attribute("src")
            handle = page.locator(".widget-slider .noUi-handle").nth(5)
            handle.focus()
            for _ in range(10):
                handle.press("ArrowRight")
            changed(page, ".seqattn-prediction", before_text)
            changed(page, ".seqattn-plot", src, "src")

            # 2. a mouse drag on t=2: the prediction moves while the button is still down
            text_now, src = text.inner_text(), page.locator(".seqattn-plot").get_attribute("src")
            box = page.locator(".widget-slider .noUi-handle").nth(3).bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2, steps=12)
            changed(page, ".seqattn-prediction", text_now)
            page.mouse.up()
            changed(page, ".seqattn-plot", src, "src")
            assert "Predicted next value" in text.inner_text()

            # 3. the map selector redraws the bars
            src = page.locator(".seqattn-plot").get_attribute("src")
            page.locator(".seqattn-map select").select_option("attention")
            changed(page, ".seqattn-plot", src, "src")

            # 4. the event-log app: another account, another table of events and influence
            events = page.locator(".seqattn-events")
            events.wait_for(timeout=60_000)
            before_events = events.inner_text()
            assert "most influential: step" in before_events
            table = page.locator(".seqattn-events-table").inner_html()
            assert "<table" in table and "influence" in table
            page.locator(".seqattn-account select").select_option(index=5)
            changed(page, ".seqattn-events", before_events)
            changed(page, ".seqattn-events-table", table, "innerHTML")
            page.screenshot(path=str(tmp_path / "after.png"))
            assert (tmp_path / "after.png").read_bytes() != (tmp_path / "before.png").read_bytes()
        finally:
            browser.close()
