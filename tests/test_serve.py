"""Live preview (`build.py --serve`): rebuild on change, reload on the same slide,
show a broken slide's path:line in an overlay, stop cleanly on Ctrl-C.

The server runs in threads of this process on a free port, serving a copy of the
browser fixture deck built without figures; Chromium is Debian's, as in
test_deck_browser.py. Every wait is bounded.
"""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES

from talkbuild.build import BuildConfig
from talkbuild.serve import LiveServer
from talkbuild.slides import display_path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000  # for one rebuild and reload; each takes well under a second


@pytest.fixture
def deck(tmp_path) -> Path:
    shutil.copytree(FIXTURES / "browser", tmp_path / "slides")
    return tmp_path / "slides" / "deck.md"


@pytest.fixture
def server(deck, tmp_path):
    server = LiveServer(BuildConfig(source=deck, output=tmp_path / "out", figures=False), port=0)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(server):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(server.url)
            page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=WAIT_MS)
            yield page
        finally:
            browser.close()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _wait_for_reload(page) -> None:
    page.wait_for_function(
        "!window.beforeEdit && window.Reveal && Reveal.isReady()", timeout=WAIT_MS
    )


@pytest.mark.browser
def test_edit_reloads_on_the_same_slide_and_errors_show_in_an_overlay(page, deck):
    page.evaluate("Reveal.slide(1, 1)")  # the second slide of the vertical stack
    page.evaluate("window.beforeEdit = true")  # gone once the page has reloaded

    _edit(deck, "## Second in the stack", "## Second, edited")
    _wait_for_reload(page)
    assert page.evaluate("[Reveal.getIndices().h, Reveal.getIndices().v]") == [1, 1]
    assert page.text_content(".slides section.present section.present h2") == "Second, edited"

    page.evaluate("window.beforeEdit = true")
    fence_line = len(deck.read_text(encoding="utf-8").splitlines()) + 2
    deck.write_text(deck.read_text(encoding="utf-8") + "\n```python\nunclosed\n", encoding="utf-8")
    page.wait_for_function(  # the overlay may first show a half-written file's errors
        "text => (document.getElementById('talkbuild-errors') || {}).textContent?.includes(text)",
        arg=f"deck.md:{fence_line}: code fence",
        timeout=WAIT_MS,
    )
    assert page.evaluate("window.beforeEdit") is True  # the last good deck stays

    _edit(deck, "\n```python\nunclosed\n", "")
    _wait_for_reload(page)
    assert page.query_selector("#talkbuild-errors") is None
    assert page.evaluate("[Reveal.getIndices().h, Reveal.getIndices().v]") == [1, 1]


def test_only_the_served_page_has_the_reload_script(server, tmp_path):
    with urllib.request.urlopen(server.url, timeout=5) as response:
        served = response.read().decode()
    assert "/__livereload" in served
    assert "/__livereload" not in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_server_listens_on_localhost_only(server):
    assert server.httpd.server_address[0] == "127.0.0.1"
    assert server.url.startswith("http://127.0.0.1:")


def test_a_first_build_with_errors_keeps_serving(deck, tmp_path):
    _edit(deck, "![A dot](img/dot.svg)", "![A dot](img/missing.svg)")
    server = LiveServer(BuildConfig(source=deck, output=tmp_path / "out", figures=False), port=0)
    try:
        server.start()
        assert server.builds.errors and "deck.md:" in server.builds.errors[0]
        with urllib.request.urlopen(server.url, timeout=5) as response:
            assert "No deck yet" in response.read().decode()
    finally:
        server.stop()


def test_ctrl_c_stops_the_server(deck, tmp_path):
    command = [
        sys.executable,
        str(ROOT / "build.py"),
        str(deck),
        "-o",
        str(tmp_path / "out"),
        "--no-figures",
        "--serve",
        "--port",
        "0",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(line) for line in process.stderr], daemon=True
    )
    reader.start()
    try:
        while not lines.get(timeout=15).startswith("serving "):
            pass
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        process.stderr.close()


@pytest.mark.browser
def test_a_tex_error_shows_in_the_overlay(page, deck):
    page.evaluate("window.beforeEdit = true")
    line = len(deck.read_text(encoding="utf-8").splitlines()) + 2
    deck.write_text(deck.read_text(encoding="utf-8") + "\n$\\frac{a$\n", encoding="utf-8")
    page.wait_for_function(
        "text => (document.getElementById('talkbuild-errors') || {}).textContent?.includes(text)",
        arg=f"deck.md:{line}: TeX error in '\\frac{{a': ",
        timeout=WAIT_MS,
    )
    assert page.evaluate("window.beforeEdit") is True  # the last good deck stays


def test_rebuilds_typeset_their_math_in_one_warm_node_process(deck, tmp_path, monkeypatch):
    started = []
    popen = subprocess.Popen

    def counting(args, **kwargs):
        started.append(args)
        return popen(args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", counting)
    config = BuildConfig(source=deck, output=tmp_path / "out", figures=False, cache=tmp_path)
    server = LiveServer(config, port=0)
    try:
        for n in range(3):  # each build brings a formula the cache has not seen
            deck.write_text(deck.read_text(encoding="utf-8") + f"\n$x_{{{n}}}$\n")
            server.rebuild()
            assert server.builds.errors == []
        page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
        assert page.count('<span class="katex">') == 3 + 3
        line = len(deck.read_text(encoding="utf-8").splitlines()) + 2
        deck.write_text(deck.read_text(encoding="utf-8") + "\n$\\frac{a$\n")
        server.rebuild()
        assert [e for e in server.builds.errors if "TeX error" in e] == [
            f"{display_path(deck)}:{line}: TeX error in '\\frac{{a': Unexpected end of input "
            "in a macro argument, expected '}' at end of input"
        ]
    finally:
        server.stop()
    assert [args for args in started if "katex_render.js" in str(args)] == [started[0]]
    assert started[0][-1] == "--lines"
    assert server.katex._process is None  # stopped with the server
