"""The builder under fuzzing: decks generated from the fragments of the slide syntax.

Hypothesis composes decks, valid and malformed, from what slides are made of:
front matter (good and broken YAML), separators in and out of code fences and
HTML blocks, notes, comments (attribute comments, nested, cut, unclosed),
placeholders, includes, math, raw HTML, images with odd paths (NUL bytes, names
too long, climbing out of the project, absolute, a FIFO, a file that is not an
image) and odd encodings (a byte order mark, CRLF, bytes that are not UTF-8).

Properties:
- `build()` raises nothing but `BuildFailed`, within a time and a memory bound;
- every diagnostic names an existing file, and a line within it;
- a valid deck builds, and into as many slides, stacked the same way, as
  reveal.js's own splitting rules give (outside code fences, where it is weak);
- `build.py` answers every deck with exit status 0 or 1 and `path:line` lines,
  never a traceback.

`make test` runs a fixed number of examples from a fixed seed (a few seconds).
A long campaign:

    TALK_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/test_fuzz.py -q

Every failure a campaign found is kept as an `@example` below or as a fixture in
tests/fixtures/hostile/ (test_hostile_input.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from talkbuild.build import BuildConfig, build, render
from talkbuild.diagnostics import BuildFailed

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = int(os.environ.get("TALK_FUZZ_EXAMPLES", "0"))
SECONDS_PER_BUILD = 10  # the bound on one build (issue 11)
MEMORY_PER_BUILD = 2 * 1024**3  # address space a build may add, in bytes

settings.register_profile(
    "fast",
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "campaign",
    max_examples=max(CAMPAIGN, 1),
    derandomize=False,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
PROFILE = "campaign" if CAMPAIGN else "fast"

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a2c9a36a0000000049454e44ae426082"
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>\n'
CODE = (
    "import math\n\n\ndef f(x):\n    # region fit\n    return math.sqrt(x)\n    # endregion fit\n"
)
RESULTS = '{"steps": 4000, "values": [0.25, 0.5], "e1": {"max": 1.5e-8}, "big": 1114112}\n'
MANIFEST = """images:
  - id: moth
    file: moth.png
    title: A moth
    author: Someone
    license: CC0
    source: https://example.org/moth
  - id: owl
    file: owl.png
    title: An owl
    author: Someone
    license: CC0
    source: https://example.org/owl
"""
LONG = "x" * 300


def project(folder: Path) -> None:
    """The files a generated deck may name, next to it."""
    (folder / "code.py").write_text(CODE)
    (folder / "img.png").write_bytes(PNG)
    (folder / "dot.svg").write_bytes(SVG)
    (folder / "moth.png").write_bytes(PNG)
    (folder / "fake.png").write_text("not an image\n")
    (folder / "results").mkdir()
    (folder / "results" / "demo.json").write_text(RESULTS)
    (folder / "manifest.yaml").write_text(MANIFEST)
    (folder / "folder").mkdir()
    os.mkfifo(folder / "pipe")


# --- Fragments of the slide syntax -------------------------------------------------

PATHS = st.sampled_from(
    [
        "img.png",
        "dot.svg",
        "fake.png",
        "missing.png",
        "folder",
        "pipe",
        "a%00b.png",
        f"{LONG}.png",
        "../" * 12 + "etc/passwd",
        "/etc/hostname",
        "code.py",
        "img.png?v=1#x",
        "with%20space.png",
        "https://example.org/a.png",
        "data:image/png;base64,AAAA",
        "external:moth",
        "external:owl",
        "external:nope",
        "",
    ]
)
WORDS = st.sampled_from(
    "a word Ünïcödé 漢字 $ $$ * _ ` \\ { } {{ }} [ ] ( ) < > ! # - -- : | & &amp; "
    "%00 .. / \t x=1 data-x TODO FIXME".split(" ")
)
CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cs",))
TEXT = st.one_of(st.lists(WORDS, max_size=12).map(" ".join), st.text(CHARACTERS, max_size=30))
ATTRIBUTES = st.sampled_from(
    [
        'class="fragment"',
        'class="r-stretch" style="color: red"',
        "data-id",
        'data-background-image="img.png"',
        'data-background-image="a%00b.png"',
        f'data-background-image="{LONG}.png"',
        'a<b="c"',
        'data-"><script>="x"',
        "x" * 50,
        'data-background-color="#000"',
    ]
)
PLACEHOLDERS = st.builds(
    lambda key, spec: "{{ demo." + key + (f":{spec}" if spec is not None else "") + " }}",
    st.sampled_from(["steps", "values.0", "values.9", "values.²", "e1", "e1.max", "nope", "big"]),
    st.none() | st.sampled_from([".2f", "c", ">8", ",d", "1000000000", ".3e", "x", "99999" * 5]),
)
COMMENTS = st.one_of(
    st.builds(lambda a: f"<!-- .element: {a} -->", ATTRIBUTES),
    st.builds(lambda a: f"<!-- .slide: {a} -->", ATTRIBUTES),
    st.builds(lambda t: f"<!-- {t} -->", TEXT),
    st.sampled_from(
        [
            "<!-- TODO: finish -->",
            "<!-- a <!-- b --> c -->",
            '<!-<!-- .element: class="a" -->- .element: class="b" -->',
            "<!--",
            "-->",
            "<!-->",
        ]
    ),
)
INLINE = st.one_of(
    TEXT,
    PLACEHOLDERS,
    st.builds(lambda t: f"${t}$", TEXT),
    st.builds(lambda t: f"$${t}$$", TEXT),
    st.builds(lambda t, p: f"![{t}]({p})", TEXT, PATHS),
    st.builds(lambda p: f'<img src="{p}">', PATHS),
    COMMENTS,
    st.sampled_from(["**bold**", "*em*", "`code`", "[link](https://example.org)", "\\{{ x }}"]),
)
LINE = st.lists(INLINE, min_size=1, max_size=5).map(" ".join)
INFO = st.sampled_from(
    ["", "python", "python [1|2-3]", "python [17: 1|3]", "[]", "text [", "js [1:", "[" + " " * 30]
)
FENCE_LINES = st.one_of(TEXT, st.sampled_from(["---", "-v-", "Note: x", "<!-- x -->", "```"]))


@st.composite
def fences(draw, closed: bool | None = None) -> str:
    marker = draw(st.sampled_from(["```", "~~~", "````"]))
    info = draw(INFO)
    if draw(st.booleans()):
        target = draw(st.sampled_from(["code.py", "code.py#fit", "code.py#nope", "pipe"]))
        target = draw(st.sampled_from([target, "folder", "/dev/zero", f"{LONG}.py", "../x.py"]))
        info += f" include={target}"
        body = [] if draw(st.booleans()) else ["x"]
    else:
        body = draw(st.lists(FENCE_LINES, max_size=4))
    closed = draw(st.booleans()) if closed is None else closed
    return "\n".join([marker + info, *body, *([marker] if closed else [])])


HTML_BLOCK = st.one_of(
    st.builds(lambda lines: "<div>\n" + "\n".join(lines) + "\n</div>", st.lists(LINE, max_size=3)),
    st.builds(lambda c: f"<div>\n<p>a</p>\n{c}\n</div>", COMMENTS),
    st.builds(lambda a: f"<p <!-- .element: {a} -->>x</p>", ATTRIBUTES),
    st.builds(lambda p: f'<video src="{p}"></video>', PATHS),
    st.sampled_from(["<div>\n---\n</div>", "<!--\n---\n-->", "<table>\n<tr><td>x</td></tr>"]),
)
BLOCK = st.one_of(
    LINE,
    st.builds(lambda t: f"# {t}", LINE),
    st.builds(
        lambda items: "\n".join(f"- {i}" for i in items), st.lists(LINE, min_size=1, max_size=3)
    ),
    fences(),
    HTML_BLOCK,
    st.builds(lambda t: f"$$\n{t}\n$$", TEXT),
    st.builds(lambda t: f"{t}\\", LINE),
    st.builds(lambda t: f"Note: {t}", LINE),
    st.sampled_from(["---", "-v-", "--- ", " ---", "***", "Title\n---", "> quote\n---"]),
)
YAML_LINES = st.sampled_from(
    [
        "title: A talk",
        "author: Someone",
        "date: 2025-03-10",
        "date: 2024-02-30",
        "title: !!float abc",
        "title: !!int abc",
        "title: !!bool abc",
        "date: !!timestamp abc",
        "author: " + "9" * 5000,
        'title: "\\ud800"',
        "theme: black",
        "theme: nope",
        "highlight_theme: zenburn",
        "lang: de",
        "results: results",
        'results: "a\\0b"',
        f"results: {LONG}",
        "external_images: manifest.yaml",
        'external_images: "m\\0.yaml"',
        f"external_images: {LONG}.yaml",
        "external_images: folder",
        "external_images: pipe",
        "reveal:\n  slideNumber: c/t\n  width: 1280",
        "reveal: [1, 2]",
        "reveal: &r\n  width: *r",
        "reveal:\n  keyboard: {13: next, x: prev}",
        "reveal:\n  width: .inf",
        "reveal:\n  nope: 1",
        "reveal:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "  b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
        "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
        "  e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\n  width: [*e, *e, *e, *e, *e, *e, *e, *e]",
        "separator: '==='",
        "separator_vertical: '---'",
        "separator_notes: 'Speaker:'",
        "unknown: 1",
        'title: "unclosed',
        "- a list",
        "[a, b",
        "\ttitle: tab",
        "# only a comment",
        "",
    ]
)
FRONT_MATTER = st.lists(YAML_LINES, max_size=4).map(
    lambda lines: "---\n" + "\n".join(lines) + "\n---"
)


@st.composite
def markdown(draw) -> str:
    """A deck's Markdown: maybe front matter, then blocks separated as people do."""
    parts = [draw(FRONT_MATTER)] if draw(st.booleans()) else []
    for block in draw(st.lists(BLOCK, max_size=8)):
        parts += [block, draw(st.sampled_from(["\n\n", "\n", "\n\n\n"]))]
    return "\n".join(parts) if not parts or draw(st.booleans()) else "".join(parts)


@st.composite
def encoded(draw, text: str) -> bytes:
    """The text as a file: UTF-8, perhaps with a BOM, CRLF, or a byte that breaks it."""
    data = text.encode("utf-8")
    change = draw(st.sampled_from(["none", "none", "bom", "crlf", "cr", "bad-byte", "latin-1"]))
    if change == "bom":
        data = b"\xef\xbb\xbf" + data
    elif change == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif change == "cr":
        data = data.replace(b"\n", b"\r")
    elif change == "bad-byte":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\x00"])) + data[at:]
    elif change == "latin-1":
        data = text.encode("latin-1", errors="replace")
    return data


@st.composite
def decks(draw) -> list[bytes]:
    """One file, or a folder of two (only the first may have front matter)."""
    count = draw(st.sampled_from([1, 1, 1, 2]))
    return [draw(encoded(draw(markdown()))) for _ in range(count)]


# --- Running a build ---------------------------------------------------------------


class Hang(BaseException):
    """Raised in the build by the alarm: BaseException, so no handler swallows it."""


@contextlib.contextmanager
def bounded(seconds: float, memory: int):
    """Interrupt the build after `seconds`; let it add at most `memory` bytes of
    address space (a build past that gets MemoryError)."""

    def alarm(signum, frame):
        raise Hang(f"the build took over {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = _address_space()
    if used is not None:
        resource.setrlimit(resource.RLIMIT_AS, (used + memory, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space() -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmSize:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def write_deck(folder: Path, files: list[bytes]) -> Path:
    project(folder)
    if len(files) == 1:
        (folder / "deck.md").write_bytes(files[0])
        return folder / "deck.md"
    for number, data in enumerate(files, 1):
        (folder / f"{number:02}.md").write_bytes(data)
    return folder


def run_build(tmp_path_factory, files: list[bytes]):
    """(BuildReport or BuildFailed, seconds, deck folder) of one in-process build."""
    folder = tmp_path_factory.mktemp("deck")
    source = write_deck(folder, files)
    config = BuildConfig(
        source=source,
        output=folder / "out",
        project=ROOT,
        results=folder / "results",
        figures=False,
    )
    cwd = os.getcwd()
    os.chdir(folder)  # diagnostics name files relative to the working directory
    start = time.monotonic()
    try:
        with bounded(SECONDS_PER_BUILD, MEMORY_PER_BUILD):
            try:
                outcome = build(config)
            except BuildFailed as failure:
                outcome = failure
    except Hang as hang:
        pytest.fail(str(hang))
    finally:
        os.chdir(cwd)
    return outcome, time.monotonic() - start, folder


# Failures fuzzing found, kept (the classes of issue 11 are fixtures in hostile/).
FOUND = [
    [b"---\n---\n\n# a\n"],
    [b"---\nreveal: &r\n  width: *r\n---\n"],
    [b'<div>\n<!-<!-- .element: class="a" -->- .element: class="b" -->\n</div>\n'],
    [b"$x$ a \\\n"],
    [b"![a](a%00b.png)\n\n```python include=pipe\n```\n"],
    [b"---\nexternal_images: pipe\n---"],
    [b"---\n\n---\x1f\n\n<div>\n---\n</div>\n\n"],
    [b'---\ntheme: "a\\nb"\n---\n'],
]


def with_found_examples(test):
    for files in FOUND:
        test = example(files=files)(test)
    return test


@settings.get_profile(PROFILE)
@with_found_examples
@given(files=decks())
def test_build_raises_only_build_failed_within_its_bounds(tmp_path_factory, files):
    outcome, seconds, folder = run_build(tmp_path_factory, files)
    assert seconds < SECONDS_PER_BUILD
    assert isinstance(outcome, BuildFailed) or (outcome.output / "index.html").is_file()
    shutil.rmtree(folder)  # a campaign makes tens of thousands


@settings.get_profile(PROFILE)
@with_found_examples
@given(files=decks())
def test_every_diagnostic_names_an_existing_file_and_a_line_in_it(tmp_path_factory, files):
    outcome, _, folder = run_build(tmp_path_factory, files)
    for diagnostic in outcome.diagnostics:
        path = folder / diagnostic.path
        assert os.path.lexists(path), diagnostic
        if path.is_file():  # not a folder, a FIFO: those have no lines
            assert diagnostic.line is not None, diagnostic
            lines = len(
                path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            )
            assert 1 <= diagnostic.line <= lines, diagnostic
    shutil.rmtree(folder)


# --- Valid decks and reveal.js's splitting -----------------------------------------

VALID_TEXT = st.lists(
    st.sampled_from("a word Ünï *em* `code` 42 [link](https://x.org)".split(" ")),
    min_size=1,
    max_size=6,
).map(" ".join)
VALID_FENCE_LINES = st.sampled_from(["x = 1", "---", "-v-", "Note: not a note", "", "# c"])
VALID_BLOCK = st.one_of(
    VALID_TEXT,
    st.builds(lambda t: f"## {t}", VALID_TEXT),
    st.builds(
        lambda items: "\n".join(f"- {i}" for i in items),
        st.lists(VALID_TEXT, min_size=1, max_size=3),
    ),
    st.builds(
        lambda lines: "```python\n" + "\n".join(lines) + "\n```",
        st.lists(VALID_FENCE_LINES, max_size=4),
    ),
    st.builds(lambda t: f"$x_1$ and {t}", VALID_TEXT),
    st.just("$$\n\\sum_i w_i^2\n$$"),
    st.just('<div class="box">\n<p>raw</p>\n</div>'),
    st.just('- item <!-- .element: class="fragment" -->'),
    st.just('<!-- .slide: data-background-color="#123" -->'),
    st.just("![a dot](dot.svg)"),
    st.just("{{ demo.steps }} steps, {{ demo.e1.max:.1e }}"),
)


@st.composite
def valid_decks(draw) -> str:
    """Slides of valid blocks, joined by separator lines between blank lines; notes
    and front matter sometimes."""
    slides = draw(st.lists(st.lists(VALID_BLOCK, min_size=1, max_size=3), min_size=1, max_size=8))
    kinds = [draw(st.sampled_from(["---", "-v-"])) for _ in slides[1:]]
    text = ""
    if draw(st.booleans()):
        text += "---\ntitle: A valid deck\nreveal:\n  slideNumber: true\n---\n\n"
    for number, blocks in enumerate(slides):
        if number:
            text += f"\n{kinds[number - 1]}\n\n"
        text += "\n\n".join(blocks) + "\n"
        if draw(st.booleans()):
            text += "\nNote: " + draw(VALID_TEXT) + "\n"
    return text


def revealjs_stacks(markdown_text: str) -> list[int]:
    """Stack sizes by reveal.js's Markdown plugin (slidify: its separators
    `\\r?\\n---\\r?\\n`, and `\\r?\\n-v-\\r?\\n` for vertical slides), applied outside
    code fences, after the front matter, where reveal.js itself would be wrong."""
    body = re.sub(r"\A---\n.*?\n---\n", "", markdown_text, flags=re.DOTALL)
    body = re.sub(r"^```.*?^```$", "```", body, flags=re.DOTALL | re.MULTILINE)
    separators = re.compile(r"\r?\n---\r?\n|\r?\n-v-\r?\n", re.MULTILINE)
    horizontal = re.compile(r"\r?\n---\r?\n")
    sections: list = []
    last, was_horizontal = 0, True
    for match in separators.finditer(body):
        is_horizontal = bool(horizontal.search(match.group(0)))
        if not is_horizontal and was_horizontal:
            sections.append([])
        content = body[last : match.start()]
        if is_horizontal and was_horizontal:
            sections.append(content)
        else:
            sections[-1].append(content)
        last, was_horizontal = match.end(), is_horizontal
    (sections if was_horizontal else sections[-1]).append(body[last:])
    return [len(s) if isinstance(s, list) else 1 for s in sections]


@settings.get_profile(PROFILE)
@given(text=valid_decks())
def test_a_valid_deck_has_the_slides_revealjs_splitting_gives(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("valid")
    project(folder)
    (folder / "deck.md").write_text(text, encoding="utf-8")
    rendered = render(
        BuildConfig(source=folder / "deck.md", results=folder / "results", figures=False)
    )
    assert [d for d in rendered.diagnostics if d.is_error] == []
    assert [len(stack) for stack in rendered.deck.stacks] == revealjs_stacks(text)
    shutil.rmtree(folder)


# --- Through build.py --------------------------------------------------------------


@settings(settings.get_profile(PROFILE), max_examples=CAMPAIGN // 20 if CAMPAIGN else 5)
@given(files=decks())
def test_build_py_answers_every_deck_with_located_lines(tmp_path_factory, files):
    folder = tmp_path_factory.mktemp("cli")
    source = write_deck(folder, files)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "build.py"),
            source.name,
            "-o",
            "out",
            "--no-figures",
            "--results",
            "results",
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=60,
    )
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    summary = [line for line in lines if line.startswith("build failed: ")]
    assert len(summary) == (result.returncode == 1)
    for line in lines:
        if line not in summary:
            assert re.match(r"^[^:]+(:\d+)?: ", line), line
    shutil.rmtree(folder)
