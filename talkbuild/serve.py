"""Live preview: serve the deck on localhost, rebuild on change, reload the browser.

    python build.py --serve [--port 8000] [PATH]     (or `make serve`)

The deck is built with the normal build (stale figures only) into the output
folder, which is served from 127.0.0.1. A watcher polls the inputs every
POLL_SECONDS and rebuilds when a file's content changed. Pages are served with
a small script added to index.html on the way out (the deck on disk has none):
it long-polls /__livereload and reloads on a new build, returning to the same
slide, or shows a failed build's `path:line` errors in an overlay, which goes
away with the next successful build. One Node process, started with the first
build that has new math, typesets the formulas of every rebuild (tex.WarmKatex).
Ctrl-C stops the server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import sys
import threading
import traceback
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .build import BuildConfig, build, figures_project
from .diagnostics import BuildFailed, Diagnostic, in_order, report
from .files import display_path
from .output import TEMPLATES
from .tex import WarmKatex

HOST = "127.0.0.1"  # never reachable from other machines
POLL_SECONDS = 0.3  # how often the watcher looks at the inputs
LONG_POLL_SECONDS = 20.0  # a /__livereload request is answered at the latest after this
ENDPOINT = "/__livereload"
IGNORED = {"__pycache__", ".git", "node_modules", ".venv"}  # never inputs of a deck

# Added before </body> of index.html when served. It keeps the slide across
# reloads (sessionStorage, in case a deck turns reveal.js's `hash` option off).
CLIENT = """<script>
(function () {
  var version = %(version)d, key = "talkbuild-livereload-indices";
  var saved = sessionStorage.getItem(key);
  if (saved && window.Reveal) {
    sessionStorage.removeItem(key);
    var go = function () { var i = JSON.parse(saved); Reveal.slide(i.h, i.v, i.f); };
    if (Reveal.isReady()) go(); else Reveal.on("ready", go);
  }
  function show(errors) {
    var box = document.getElementById("talkbuild-errors");
    if (!errors.length) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("pre");
      box.id = "talkbuild-errors";
      box.style.cssText = "position:fixed;inset:0;z-index:2147483647;margin:0;padding:2em;" +
        "overflow:auto;background:rgba(40,0,0,.92);color:#fff;font:16px/1.5 monospace;" +
        "white-space:pre-wrap;text-align:left";
      document.body.appendChild(box);
    }
    box.textContent = "Build failed (the deck shown is the last good one):\\n\\n" +
      errors.join("\\n");
  }
  function poll(state) {
    fetch("%(endpoint)s?state=" + state, {cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(function (s) {
        if (s.version !== version) {
          if (window.Reveal && Reveal.isReady())
            sessionStorage.setItem(key, JSON.stringify(Reveal.getIndices()));
          location.reload();
          return;
        }
        show(s.errors);
        poll(s.state);
      })
      .catch(function () { setTimeout(function () { poll(state); }, 1000); });
  }
  poll(-1);
})();
</script>
"""
# Served while there is no deck yet (the first build failed).
PLACEHOLDER = """<!doctype html>
<html><head><meta charset="utf-8"><title>Building…</title></head>
<body><p>No deck yet: waiting for a build without errors.</p>
</body></html>
"""


class BuildState:
    """The latest build's outcome, and a way to wait for the next one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.state = 0  # counts every build
        self.version = 0  # counts successful builds: the page reloads when it changes
        self.errors: list[str] = []  # the last build's errors, empty when it succeeded
        self.closed = False

    def finished(self, errors: list[str]) -> None:
        with self._changed:
            self.state += 1
            if not errors:
                self.version += 1
            self.errors = errors
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait(self, known: int, timeout: float) -> dict:
        """The state as JSON-ready dict, once it differs from `known` (or on timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: self.state != known or self.closed, timeout)
            return {"state": self.state, "version": self.version, "errors": self.errors}


class Handler(SimpleHTTPRequestHandler):
    """Files of the deck folder, index.html with the client script, and the endpoint."""

    def __init__(self, *args, builds: BuildState, **kwargs):
        self.builds = builds
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = urlsplit(self.path)
        if url.path == ENDPOINT:
            known = parse_qs(url.query).get("state", ["-1"])[0]
            state = self.builds.wait(
                int(known) if known.lstrip("-").isdigit() else -1, LONG_POLL_SECONDS
            )
            self._send(json.dumps(state).encode(), "application/json")
        elif url.path in ("/", "/index.html"):
            index = Path(self.directory) / "index.html"
            try:
                page = index.read_text(encoding="utf-8")
            except OSError:
                page = PLACEHOLDER
            script = CLIENT % {"version": self.builds.version, "endpoint": ENDPOINT}
            head, body, tail = page.rpartition("</body>")
            page = head + script + body + tail if body else page + script
            self._send(page.encode(), "text/html; charset=utf-8")
        else:
            super().do_GET()

    def _send(self, data: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a reload fetches the new build
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # the terminal shows builds and errors, not every request


def watched_roots(config: BuildConfig) -> list[tuple[Path, int | None]]:
    """What a change of triggers a rebuild: the slides, the templates, and the
    figure scripts (or, with figures off, the figures used as they are)."""
    source = config.source.absolute()
    # A single Markdown file: its folder, two levels deep (images beside it or in
    # a subfolder), not everything below wherever the file happens to be.
    roots = [(source, None) if source.is_dir() else (source.parent, 2), (TEMPLATES, None)]
    project = figures_project(config.source)
    if project is not None:
        roots.append((project / ("scripts" if config.figures else "figures"), None))
    if config.results:
        roots.append((config.results, None))
    return roots


class Watcher:
    """Content hashes of the watched files; a file is only read again when its
    modification time or size changed."""

    def __init__(self, roots: list[tuple[Path, int | None]], exclude: Path):
        """roots: (folder or file, depth: None for all levels below)."""
        self.roots = roots
        self.exclude = exclude.absolute()
        self._hashes: dict[Path, tuple[int, int, str]] = {}
        self.snapshot = self._scan()

    def changed(self) -> bool:
        snapshot = self._scan()
        changed, self.snapshot = snapshot != self.snapshot, snapshot
        return changed

    def _scan(self) -> dict[Path, str]:
        found: dict[Path, str] = {}
        for path in self._files():
            try:
                stat = path.stat()
                known = self._hashes.get(path)
                if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
                    found[path] = known[2]
                    continue
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:  # removed while scanning: the next scan sees it
                continue
            self._hashes[path] = (stat.st_mtime_ns, stat.st_size, digest)
            found[path] = digest
        return found

    def _files(self):
        for root, depth in self.roots:
            if root.is_file():
                yield root
                continue
            for folder, subfolders, files in os.walk(root):
                level = len(Path(folder).relative_to(root).parts)
                subfolders[:] = (
                    []
                    if depth is not None and level + 1 >= depth
                    else [
                        name
                        for name in subfolders
                        if name not in IGNORED
                        and not name.startswith(".")
                        and not (Path(folder) / name).absolute() == self.exclude
                    ]
                )
                yield from (Path(folder) / name for name in files if not name.startswith("."))


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a waiting /__livereload request does not hold up the exit

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a page closed or reloaded
            super().handle_error(request, client_address)


class LiveServer:
    """The HTTP server and the watcher, each in a thread; `stop()` ends both."""

    def __init__(self, config: BuildConfig, port: int = 8000, log=None):
        # One Node process typesets the math of every rebuild (tex.WarmKatex).
        self.katex = config.katex or WarmKatex(config.project / "node_modules")
        self.config = config = dataclasses.replace(config, katex=self.katex)
        self.log = log or sys.stderr  # build messages (diagnostics always go to stderr)
        self.builds = BuildState()
        self._stop = threading.Event()
        self.httpd = Server(
            (HOST, port),
            partial(Handler, builds=self.builds, directory=str(config.output.absolute())),
        )
        self.url = f"http://{HOST}:{self.httpd.server_address[1]}/"
        self._threads: list[threading.Thread] = []  # none until start() has built

    def start(self) -> None:
        """Build once, then serve and watch in the background."""
        watcher = Watcher(watched_roots(self.config), self.config.output)
        self.rebuild()
        self._threads = [
            threading.Thread(target=self.httpd.serve_forever, daemon=True),
            threading.Thread(target=self._watch, args=(watcher,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.builds.close()  # answers waiting /__livereload requests now
        if self._threads:  # shutdown() would wait forever for a loop never started
            self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self.katex.close()

    def rebuild(self) -> None:
        """One normal build; its errors go to the terminal and to the browser."""
        try:
            built = build(self.config)
        except BuildFailed as failure:
            report(failure.diagnostics)
            errors = [str(d) for d in in_order(failure.diagnostics) if d.is_error]
            print(
                f"build failed: {len(errors)} error{'s' * (len(errors) != 1)}; "
                "serving the previous deck",
                file=self.log,
            )
        except Exception:  # a bug in the builder or a script must not end the preview
            text = traceback.format_exc()
            print(text, file=self.log, end="")
            errors = [str(Diagnostic("talkbuild", None, text))]
        else:
            report(built.diagnostics)
            print(
                f"{display_path(built.output / 'index.html')}: {built.slides} slides; "
                f"serving {self.url}",
                file=self.log,
            )
            errors = []
        self.builds.finished(errors)

    def _watch(self, watcher: Watcher) -> None:
        while not self._stop.wait(POLL_SECONDS):
            if watcher.changed():
                self.rebuild()


def serve(config: BuildConfig, port: int = 8000) -> int:
    """Serve until Ctrl-C; returns the exit status."""
    if getattr(config, "self_contained", False):
        print("--serve serves a deck folder; leave out --self-contained", file=sys.stderr)
        return 2
    try:
        server = LiveServer(config, port)
    except OSError as error:
        print(f"cannot serve on {HOST}:{port}: {error.strerror}", file=sys.stderr)
        return 1
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops as cleanly as Ctrl-C
    try:
        server.start()
        print(f"serving {server.url} (Ctrl-C stops)", file=sys.stderr, flush=True)
        threading.Event().wait()  # until KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("stopped", file=sys.stderr)
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
