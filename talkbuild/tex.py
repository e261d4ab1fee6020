"""Math: every `$...$` and `$$...$$` typeset by KaTeX when the deck is built.

The deck's formulas (slides and speaker notes) are collected from the parsed
tokens once placeholders are filled in, and typeset by KaTeX's library API
(`katex.renderToString`) in ONE Node process for the whole build
(`katex_render.js`, JSON on stdin and stdout), started early so that its
start-up overlaps the rest of the rendering. Slides get KaTeX's HTML and MathML;
speaker notes MathML only, since reveal.js's speaker view copies the notes into
a window without KaTeX's stylesheet, where Chromium and Firefox draw MathML
natively (the printed notes show the same MathML). The deck runs no KaTeX code.

A TeX error is a build error at the formula's own line:
`slides/talk.md:12: TeX error in '\\frac{a': ...`; KaTeX's "strict" findings
are warnings. Results are cached in `<project>/build/.cache/katex.json`, keyed
on the TeX, display mode, output and KaTeX's version (and this renderer), so a
rebuild whose formulas did not change starts no Node at all. The live preview
keeps one Node process for all its rebuilds (`WarmKatex`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from markdown_it.token import Token

from .diagnostics import Diagnostic

if TYPE_CHECKING:
    import subprocess

RENDERER = Path(__file__).with_name("katex_render.js")
CACHE_FILE = "katex.json"  # in the build's cache folder
SHOWN_TEX = 60  # characters of a formula an error message quotes
# The classes on KaTeX's HTML elements; the stylesheet maps them to fonts.
CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
CSS_CLASS = re.compile(r"\.([\w-]+)")
FONT_FACE_FILE = re.compile(r"fonts/(KaTeX_[\w]+)-(\w+)\.woff2")
NODE_MISSING = (
    "the deck's math is typeset at build time by KaTeX under Node.js, and `node` is "
    "not on the PATH: install Node.js 18 or later (Debian/Ubuntu: `apt-get install "
    "nodejs npm`; others: https://nodejs.org), then run `npm ci` in the project"
)


@dataclass
class Formula:
    """One `$...$` or `$$...$$` of the deck, at its token."""

    token: Token
    path: str  # how diagnostics name the Markdown file
    line: int  # 1-based line of the formula's first character
    mathml: bool  # speaker notes: MathML only

    @property
    def display(self) -> bool:
        return self.token.type != "math_inline"

    @property
    def key(self) -> str:
        """The cache key: display mode, output and TeX."""
        return f"{'D' if self.display else 'I'}{'M' if self.mathml else 'H'}{self.token.content}"


def collect(slides) -> list[Formula]:
    """Every formula the slides and notes render (math in image alt text is not)."""
    found: list[Formula] = []
    for slide in slides:
        for tokens, mathml in ((slide.tokens, False), (slide.notes, True)):
            for token in tokens:
                children = token.children if token.type == "inline" else [token]
                for math in children or ():
                    if math.type.startswith("math_"):
                        found.append(Formula(math, slide.path, _line(math, token), mathml))
    return found


def _line(math: Token, block: Token) -> int:
    if "line" in math.meta:  # set by markdown.py's syntax_checks rule
        return math.meta["line"]
    return block.map[0] + 1 if block.map else 1


@dataclass
class Typesetting:
    """A typesetting in progress: the cache hits, and Node working on the rest."""

    formulas: list[Formula]
    results: dict[str, dict]  # key -> {"html", "warnings"} or {"error", "position"}
    diagnostics: list[Diagnostic] = field(default_factory=list)
    process: subprocess.Popen | None = None
    warm: WarmKatex | None = None  # the live preview's Node process, used instead
    request: list[str] = field(default_factory=list)  # the keys sent to Node, in order
    cache: Path | None = None
    cache_header: dict = field(default_factory=dict)


def start(
    formulas: list[Formula],
    node_modules: Path,
    cache: Path | None,
    warm: WarmKatex | None = None,
) -> Typesetting:
    """Look the formulas up in the cache and start Node on the others (if any); with
    `warm`, finish() hands them to that process instead."""
    job = Typesetting(formulas, {}, warm=warm)
    katex = node_modules / "katex"
    if not formulas or not (katex / "package.json").is_file():
        return job  # no math, or no KaTeX: assets.py reports that one
    job.cache = cache / CACHE_FILE if cache else None
    job.cache_header = {
        "katex": json.loads((katex / "package.json").read_text(encoding="utf-8"))["version"],
        "renderer": zlib.crc32(RENDERER.read_bytes()),
    }
    known = _load_cache(job.cache, job.cache_header)
    for formula in formulas:
        key = formula.key
        if key in known:
            job.results[key] = known[key]
        elif key not in job.results:
            job.results[key] = {}
            job.request.append(key)
    if not job.request:
        return job
    node = shutil.which("node")
    if node is None:
        first = next(f for f in formulas if f.key in job.request)
        job.diagnostics.append(Diagnostic(first.path, first.line, NODE_MISSING))
        job.request = []
        return job
    if warm is not None:
        return job
    import subprocess  # only builds with new formulas start a process

    try:
        job.process = subprocess.Popen(
            [node, str(RENDERER), str(node_modules)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as error:
        first = formulas[0]
        job.diagnostics.append(
            Diagnostic(first.path, first.line, f"cannot start Node.js ({node}): {error}")
        )
        job.request = []
    return job


def finish(job: Typesetting) -> list[Diagnostic]:
    """Wait for Node, give every formula token its HTML, report TeX errors and warnings."""
    diagnostics = job.diagnostics
    if job.request:
        request = json.dumps(
            {
                "formulas": [
                    {"tex": key[2:], "display": key[0] == "D", "mathml": key[1] == "M"}
                    for key in job.request
                ]
            }
        )
        if job.warm is not None:
            results, failure = job.warm.typeset(request)
        else:
            results, failure = _one_shot(job.process, request)
        if results is not None and len(results) != len(job.request):
            results, failure = None, "it answered for a different number of formulas"
        if results is None:
            first = job.formulas[0]
            diagnostics.append(
                Diagnostic(first.path, first.line, f"KaTeX under Node.js failed: {failure}")
            )
            return diagnostics
        job.results.update(zip(job.request, results))
        _save_cache(job)
    for formula in job.formulas:
        result = job.results.get(formula.key) or {}
        tex = formula.token.content
        if "html" in result:
            formula.token.meta["html"] = result["html"]
            for warning in result.get("warnings", ()):
                diagnostics.append(
                    Diagnostic(
                        formula.path,
                        formula.line,
                        f"TeX warning in '{_shown(tex)}': {warning}",
                        "warning",
                    )
                )
        elif "error" in result:
            position = result.get("position")
            line = formula.line
            where = ""
            if isinstance(position, int):
                line += tex.count("\n", 0, position)
                where = (
                    " at end of input" if position >= len(tex) else f" at position {position + 1}"
                )
            diagnostics.append(
                Diagnostic(
                    formula.path, line, f"TeX error in '{_shown(tex)}': {result['error']}{where}"
                )
            )
    return diagnostics


def _one_shot(process: subprocess.Popen, request: str) -> tuple[list | None, str]:
    """(results, "") from the build's own Node process, or (None, why not)."""
    stdout, stderr = process.communicate(request.encode())
    return _results(stdout, stderr, process.returncode)


def _results(stdout: bytes, stderr: bytes, status: int | None) -> tuple[list | None, str]:
    try:
        if status in (0, None):
            return json.loads(stdout)["results"], ""
    except (ValueError, KeyError, TypeError):
        pass
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return None, "; ".join(lines[-3:]) or f"exit status {status}"


class WarmKatex:
    """One Node process kept for the live preview's builds (`katex_render.js --lines`:
    a request per line, a response per line), so that editing a formula does not pay
    for Node's start-up. Started on first use, again if it died; `close()` ends it.
    Builds run one at a time; the lock makes sure of it."""

    def __init__(self, node_modules: Path):
        self.node_modules = node_modules
        self._process: subprocess.Popen | None = None
        self._stderr = None  # a temporary file: a pipe nobody reads could fill up
        import threading  # the live preview has it already; a build does not need it

        self._lock = threading.Lock()

    def typeset(self, request: str) -> tuple[list | None, str]:
        with self._lock:
            for _ in range(2):  # a process that died is started once more
                process = self._running()
                if isinstance(process, str):
                    return None, process
                try:
                    process.stdin.write(request.encode() + b"\n")
                    process.stdin.flush()
                    line = process.stdout.readline()
                except OSError:
                    line = b""
                if line:
                    return _results(line, b"", None)
                process.wait()
                self._stderr.seek(0)
                failure = _results(b"", self._stderr.read(), process.returncode)
                self._discard()
            return failure

    def _discard(self) -> None:
        """Forget the process (it has ended), closing our ends of its pipes."""
        for pipe in (self._process.stdin, self._process.stdout):
            try:
                pipe.close()
            except OSError:  # a broken pipe to a process that died
                pass
        self._process = None

    def _running(self) -> subprocess.Popen | str:
        import subprocess

        if self._process is not None:
            if self._process.poll() is None:
                return self._process
            self._discard()
        node = shutil.which("node")
        if node is None:
            return NODE_MISSING
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                [node, str(RENDERER), str(self.node_modules), "--lines"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        except OSError as error:
            return f"cannot start Node.js ({node}): {error}"
        return self._process

    def kill(self) -> None:
        """End a Node that does not answer (from another thread: typeset() then fails)."""
        process = self._process
        if process is not None:
            process.kill()

    def detach(self) -> None:
        """In a forked copy of the owner: close this copy's ends of the pipes, so that
        Node still ends when the owner closes its own."""
        if self._process is not None:
            for pipe in (self._process.stdin, self._process.stdout):
                try:
                    pipe.close()  # this copy's descriptor; Node reads on from the owner's
                except OSError:
                    pass
            self._process = None

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                import subprocess

                try:
                    self._process.stdin.close()  # katex_render.js ends with its input
                except OSError:
                    pass
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
                self._discard()
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None


def _shown(tex: str) -> str:
    text = " ".join(tex.split())
    return text if len(text) <= SHOWN_TEX else text[: SHOWN_TEX - 1] + "…"


def _load_cache(path: Path | None, header: dict) -> dict[str, dict]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in header.items()):
        return {}
    formulas = data.get("formulas")
    if not isinstance(formulas, dict):
        return {}
    return {  # what a damaged file holds besides typeset formulas is typeset again
        key: result
        for key, result in formulas.items()
        if isinstance(result, dict)
        and isinstance(result.get("html"), str)
        and all(isinstance(w, str) for w in result.get("warnings", []))
    }


def _save_cache(job: Typesetting) -> None:
    """Keep this build's typeset formulas (not the errors) for the next build.

    Only this build's: a formula edited in the live preview does not leave every
    intermediate version behind. Written atomically; a cache that cannot be
    written is no reason to fail the build."""
    if job.cache is None:
        return
    formulas = {
        key: result
        for key in dict.fromkeys(f.key for f in job.formulas)
        if "html" in (result := job.results.get(key) or {})
    }
    try:
        job.cache.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".katex-", dir=job.cache.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump({**job.cache_header, "formulas": formulas}, file)
        os.replace(temporary, job.cache)
    except OSError:
        pass


def typeset(formulas: list[Formula], node_modules: Path, cache: Path | None) -> list[Diagnostic]:
    """start() and finish() in one call."""
    return finish(start(formulas, node_modules, cache))


# --- Fonts -------------------------------------------------------------------------


def used_fonts(css: str, html: Iterable[str]) -> set[str]:
    """The KaTeX font files (`KaTeX_Main-Regular`...) that HTML typeset by KaTeX uses.

    Read from the stylesheet: every rule whose classes all occur in the HTML
    gives its family (KaTeX_Main by default, `.katex`'s own font), weight and
    style. A rule that sets only a weight or a style (`\\textbf`) may combine with
    any family used, so it adds that variant of each. A variant a family has no
    file for (bold AMS) brings the family's files: the browser picks one of them."""
    classes: set[str] = set()
    for text in html:
        for match in CLASS_ATTRIBUTE.finditer(text):
            classes.update(match.group(1).split())
    if "katex" not in classes:
        return set()
    faces: set[tuple[str, str, str]] = {("KaTeX_Main", "normal", "normal")}
    weights, styles = set(), set()
    for selectors, body in CSS_RULE.findall(css):
        if selectors.lstrip().startswith("@") or "font" not in body:
            continue
        declarations = dict(
            (name.strip(), value.strip())
            for name, _, value in (d.partition(":") for d in body.split(";"))
        )
        family = declarations.get("font-family", "").split(",")[0].strip()
        weight = "bold" if declarations.get("font-weight") in ("700", "bold") else "normal"
        style = declarations.get("font-style", "normal")
        if not family.startswith("KaTeX_") and weight == "normal" and style != "italic":
            continue
        for selector in selectors.split(","):
            needed = set(CSS_CLASS.findall(selector)) - {"katex"}
            if not needed or not needed <= classes:
                continue
            if family.startswith("KaTeX_"):
                faces.add((family, weight, style))
            else:
                weights.add(weight)
                styles.add(style)
    for family, weight, style in list(faces):
        for w in weights | {weight}:
            for s in styles | {style}:
                faces.add((family, w, s))
    available: dict[str, set[str]] = {}
    for family, variant in FONT_FACE_FILE.findall(css):
        available.setdefault(family, set()).add(variant)
    fonts = set()
    for family, weight, style in faces:
        variant = {
            ("normal", "normal"): "Regular",
            ("bold", "normal"): "Bold",
            ("normal", "italic"): "Italic",
            ("bold", "italic"): "BoldItalic",
        }[weight, style]
        have = available.get(family, set())
        fonts |= {f"{family}-{v}" for v in ([variant] if variant in have else have)}
    return fonts
