"""Provenance: where every figure and every number of the deck came from.

Sources. Each experiment script saves through figkit, which notes in
`<figures>/provenance/<script>.json` (scripts/figkit/__init__.py) which lines of the
script saved each figure and each results file: for a figure, the save call, the
function holding it and the function that drew the figure; for results, the line
range of every entry of the dict passed to save_results, by dotted key. It also
notes the script's parameters and seeds (its module-level constants) and the
SHA-256 of the script it ran. The figure pipeline's stamps add the content hash
of the script's inputs and how long it ran (`read_stamps`); git adds the commit.

In the deck. For every figure (`![](../figures/x.svg)`, `<img src>`) and every
placeholder value (`{{ name.key:spec }}`, slide and notes) whose source is known,
`collect` makes an entry: the slide, the script file and its line range, the
region of that script the slide shows (if it includes one), the value and the text
shown. `build/deck/provenance.json` lists them all; the page gets the same data as
a script (inlined in the one-file deck), and talkbuild/static/provenance.js shows
the entries of the current slide in a panel (key P) and in the speaker view's
notes. A number in the text is wrapped in `<span class="talk-value">` with its
source key and exact value, shown on hover. A deck with nothing from a script
gets none of this.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

from markdown_it.token import Token

from . import paths
from .assets import MEDIA_TAG, SRC_ATTRIBUTE, Asset, Framework, unescape_attr
from .diagnostics import Diagnostic
from .markdown import PLACEHOLDER
from .results import ResultError, Results
from .slides import Deck, Slide, display_path, walk

STATIC = Path(__file__).parent / "static"
SIDECARS = "provenance"  # the folder, inside a figures/results folder, of figkit's files
PLUGIN = "TalkProvenance"  # the reveal.js plugin in static/provenance.js
DATA_GLOBAL = "TalkProvenanceData"  # the global that talk/provenance-data.js sets


def read_stamps(figures: Path) -> dict[str, dict]:
    """What the figure pipeline recorded per script: {name: {"inputs": content hash of
    everything the script ran from (its stamp's input hashes and library versions),
    "duration": seconds of its last run}}.

    The one place that reads the pipeline's stamps (<figures>/stamps.json, committed,
    and the durations in <figures>/.cache/, not; see talkbuild/figures/stamps.py).
    Missing or unreadable stamps give {}: the entries then lack only these facts.
    """
    try:
        scripts = json.loads((figures / "stamps.json").read_text(encoding="utf-8"))["scripts"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    try:
        durations = json.loads((figures / ".cache" / "durations.json").read_text("utf-8"))
    except (OSError, ValueError):
        durations = {}
    found = {}
    for name, stamp in scripts.items() if isinstance(scripts, dict) else ():
        if isinstance(stamp, dict):
            recipe = {"inputs": stamp.get("inputs"), "environment": stamp.get("environment")}
            digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
            duration = durations.get(name) if isinstance(durations, dict) else None
            found[name] = {"inputs": digest, "duration": duration}
    return found


@dataclass
class Quote:
    """A placeholder as written on a slide, before it is filled in."""

    source: str  # name.key.subkey
    spec: str | None
    notes: bool  # in the speaker notes
    line: int


@dataclass
class Sources:
    """The figkit provenance files of the folders the deck's figures and results are
    in, indexed by figure file and by results file name; each folder read once."""

    project: Path
    folders: dict[Path, dict[str, dict]] = field(default_factory=dict)  # folder -> name -> file
    diagnostics: list[Diagnostic] = field(default_factory=list)
    _figures: dict[Path, tuple] = field(default_factory=dict)  # figure file -> (name, file, record)
    _results: dict[tuple[Path, str], tuple] = field(default_factory=dict)  # (folder, x.json) -> ...
    _lines: dict[Path, list[str]] = field(default_factory=dict)  # script -> its lines

    def scripts(self, folder: Path) -> dict[str, dict]:
        if folder not in self.folders:
            resolved = folder.resolve()
            found = {}
            for path in sorted((resolved / SIDECARS).glob("*.json")):
                try:
                    found[path.stem] = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as error:
                    self.diagnostics.append(
                        Diagnostic(display_path(path), None, f"cannot read: {error}", "warning")
                    )
            self.folders[folder] = found
            for name, record in found.items():
                for relative, saved in record.get("figures", {}).items():
                    self._figures.setdefault(resolved / relative, (name, record, saved))
                for file_name, saved in record.get("results", {}).items():
                    self._results.setdefault((folder, file_name), (name, record, saved))
        return self.folders[folder]

    def figure(self, path: Path) -> tuple[str, dict, dict] | None:
        """(script name, its provenance file, the figure's record) for an image file:
        figkit's files in the image's folder or one of the two above it."""
        for folder in (path.parent, *path.parents[1:3]):
            self.scripts(folder)
        return self._figures.get(path)

    def results(self, folder: Path, name: str) -> tuple[str, dict, dict] | None:
        """(script name, its provenance file, the results file's record) for name.json."""
        self.scripts(folder)
        return self._results.get((folder, f"{name}.json"))

    def lines(self, script: Path) -> list[str]:
        if script not in self._lines:
            try:
                self._lines[script] = script.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self._lines[script] = []
        return self._lines[script]


def quotes(deck: Deck) -> dict[int, list[Quote]]:
    """The placeholders of every slide (by id of the slide), before they are filled in:
    the same places results.substitute fills, in order."""
    found: dict[int, list[Quote]] = {}
    for slide in deck.slides:
        listed = found[id(slide)] = []
        for notes, part in ((False, slide.tokens), (True, slide.notes)):
            for token in part:
                line = token.map[0] + 1 if token.map else slide.line
                texts = []
                if token.type == "inline":
                    for child in walk(token.children or []):
                        if child.type == "placeholder":
                            texts.append(child.content)
                        elif child.type in (
                            "code_inline",
                            "math_inline",
                            "math_inline_double",
                            "html_inline",
                        ):
                            texts.append(child.content)
                        texts += [v for v in child.attrs.values() if isinstance(v, str)]
                elif token.content and not token.meta.get("include"):
                    texts.append(token.content)
                texts += [v for v in token.attrs.values() if isinstance(v, str)]
                texts += list(token.meta.get("slide_attrs", {}).values())
                for text in texts:
                    for match in PLACEHOLDER.finditer(unquote(text) if "%7B" in text else text):
                        listed.append(Quote(match.group(1), match.group(2), notes, line))
    return found


def collect(
    deck: Deck,
    quoted: dict[int, list[Quote]],
    results: Results,
    project: Path,
) -> tuple[dict | None, list[Diagnostic]]:
    """The provenance of every figure and number of the (filled-in) deck; None when
    nothing in it comes from a script. Wraps numbers in the text in spans."""
    sources = Sources(project)
    entries: list[dict] = []
    scripts: dict[str, dict] = {}
    diagnostics: list[Diagnostic] = []
    index = 0
    for h, stack in enumerate(deck.stacks):
        for v, slide in enumerate(stack):
            index += 1
            where = {"slide": index, "h": h, "v": v, "title": _title(slide)}
            shown_regions = _regions(slide)
            for path, line in _images(slide):
                found = sources.figure(path)
                if found is None:
                    continue
                script, record, saved = found
                scripts.setdefault(script, record)
                drawn = saved.get("drawn_by") or saved.get("function") or {}
                entries.append(
                    {
                        **where,
                        "kind": "figure",
                        "in": "slide",
                        "at": f"{slide.path}:{line}",
                        "source": path.name,
                        "script": script,
                        "lines": drawn.get("lines") or saved.get("call"),
                        "function": drawn.get("name"),
                        "saved_at": saved.get("call"),
                        **_region(record, shown_regions, sources),
                    }
                )
            for quote in quoted.get(id(slide), []):
                name, _, key = quote.source.partition(".")
                found = sources.results(results.folder, name)
                if found is None:
                    continue
                script, record, saved = found
                scripts.setdefault(script, record)
                try:
                    value = results.lookup(quote.source)
                    shown = results.value(quote.source, quote.spec)
                except ResultError:
                    continue  # reported by results.substitute
                entry = _key_lines(saved, key)
                entries.append(
                    {
                        **where,
                        "kind": "number",
                        "in": "notes" if quote.notes else "slide",
                        "at": f"{slide.path}:{quote.line}",
                        "source": quote.source,
                        "spec": quote.spec,
                        "value": value,
                        "shown": shown,
                        "script": script,
                        "lines": entry.get("lines"),
                        "computed_by": entry.get("computed_by"),
                        "saved_at": saved.get("call"),
                        **_region(record, shown_regions, sources),
                    }
                )
            _wrap_values(slide, results, sources)
    diagnostics += sources.diagnostics
    if not entries:
        return None, diagnostics
    commit, modified = _git(project, [record["script"] for record in scripts.values()])
    figures = {}
    for folder, found in sources.folders.items():
        if any(name in scripts for name in found):
            figures.update(read_stamps(folder))
    listed = {}
    for name, record in sorted(scripts.items()):
        script_file = project / record["script"]
        if not script_file.is_file():
            diagnostics.append(
                Diagnostic(
                    display_path(script_file),
                    None,
                    f"the figures and results of '{name}' name this script, which does not exist",
                    "warning",
                )
            )
        elif hashlib.sha256(script_file.read_bytes()).hexdigest() != record.get("script_sha256"):
            diagnostics.append(
                Diagnostic(
                    display_path(script_file),
                    None,
                    "changed since its figures and results were made; their line numbers "
                    "may be off (build without --no-figures to run it again)",
                    "warning",
                )
            )
        stamp = figures.get(name, {})
        listed[name] = {
            "file": record["script"],
            "lines": record.get("script_lines"),
            "sha256": record.get("script_sha256"),
            "inputs": stamp.get("inputs"),
            "duration": stamp.get("duration"),
            "modified": record["script"] in modified if commit else None,
            "seeds": record.get("seeds", {}),
            "parameters": record.get("parameters", {}),
        }
    repository = deck.meta.repository or None
    for entry in entries:
        script = listed[entry["script"]]
        entry["file"] = script["file"]
        if repository and commit and entry["lines"]:
            first, last = entry["lines"]
            entry["url"] = f"{repository}/blob/{commit}/{script['file']}#L{first}-L{last}"
            if entry.get("region"):
                first, last = entry["region"]["lines"]
                entry["region"]["url"] = (
                    f"{repository}/blob/{commit}/{script['file']}#L{first}-L{last}"
                )
    return {
        "repository": repository,
        "commit": commit,
        "scripts": listed,
        "entries": entries,
    }, diagnostics


def _title(slide: Slide) -> str:
    from .pacing import title  # the same title the timing table shows

    return title(slide)


def _images(slide: Slide):
    """(resolved local file, line) of every image of the slide (not its notes)."""
    base = slide.source.parent
    for token in slide.tokens:
        line = token.map[0] + 1 if token.map else slide.line
        refs = []
        if token.type == "html_block":
            refs += _html_sources(token.content)
        for child in walk(token.children or []) if token.type == "inline" else ():
            if child.type == "image":
                refs.append(str(child.attrs.get("src", "")))
            elif child.type == "html_inline":
                refs += _html_sources(child.content)
        for ref in refs:
            if ref and not re.match(r"^([a-z][a-z0-9+.-]*:|//|#)", ref, re.IGNORECASE):
                try:
                    yield paths.resolve(base / unquote(ref.split("#", 1)[0].split("?", 1)[0])), line
                except paths.PathProblem:
                    continue  # assets.py reports it


def _html_sources(content: str) -> list[str]:
    found = []
    for tag in MEDIA_TAG.finditer(content):
        for attr in SRC_ATTRIBUTE.finditer(tag.group(0)):
            found.append(unescape_attr(next(v for v in attr.group(3, 4, 5) if v is not None)))
    return found


def _regions(slide: Slide) -> list[tuple[Path, str]]:
    """(file, region) of every code include of the slide (`include=PATH#REGION`)."""
    found = []
    for token in slide.tokens:
        target = token.meta.get("include") if token.type == "fence" else None
        if target:
            file_name, _, region = target.partition("#")
            try:
                found.append((paths.resolve(slide.source.parent / file_name), region))
            except paths.PathProblem:
                continue  # results.py reports it
    return found


def _region(record: dict, shown: list[tuple[Path, str]], sources: Sources) -> dict:
    """{"region": {"name", "lines"}} when the slide shows code of the record's script."""
    if not shown:
        return {}
    script = (sources.project / record["script"]).resolve()
    for path, name in shown:
        if path != script:
            continue
        lines = _region_lines(sources.lines(script), name)
        if lines:
            return {"region": {"name": name or None, "lines": lines}}
    return {}


REGION_LINE = re.compile(r"^\s*#\s*(region|endregion)\b[ \t]*(\S*)")


def _region_lines(lines: list[str], name: str) -> list[int] | None:
    """The lines of `# region NAME` to `# endregion NAME` (all lines for no name)."""
    if not name:
        return [1, len(lines)] if lines else None
    start = end = None
    for number, text in enumerate(lines, 1):
        match = REGION_LINE.match(text)
        if match and match.group(2) == name:
            if match.group(1) == "region":
                start = number
            elif start is not None:
                end = number
                break
    return [start, end] if start and end else None


def _key_lines(saved: dict, key: str) -> dict:
    """The entry of the results dict a dotted key was saved by: the key itself, else
    the closest enclosing key or `**spread`; else the save call."""
    entries = saved.get("keys", {})
    parts = key.split(".") if key else []
    for depth in range(len(parts), 0, -1):
        prefix = parts[:depth]
        for candidate in (".".join(prefix), ".".join(prefix[:-1] + ["*"])):
            if candidate in entries:
                return entries[candidate]
    return {"lines": saved.get("call")}


def _git(project: Path, files: list[str]) -> tuple[str | None, set[str]]:
    """The commit the project is at, and which of the files differ from it (one
    `git status`; no commit outside a git work tree)."""
    try:
        status = subprocess.run(
            ["git", "-C", str(project), "status", "--porcelain=v2", "--branch", "--", *files],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, set()
    head, modified = None, set()
    for line in status.splitlines():
        if line.startswith("# branch.oid "):
            head = line.split()[2]
        elif line and not line.startswith("#"):
            modified.add(line.split("\t")[0].split(" ")[-1])  # a rename: "new\told"
    return (head if head and head != "(initial)" else None), modified


def _wrap_values(slide: Slide, results: Results, sources: Sources) -> None:
    """Numbers in the text (filled placeholders) become spans naming their source."""
    for token in slide.tokens + slide.notes:
        if token.type != "inline" or not token.children:
            continue
        for i, child in enumerate(token.children):  # not an image's alt text: plain text
            name = child.meta.get("name") if child.type == "text" and child.meta else None
            if not name or sources.results(results.folder, name.split(".")[0]) is None:
                continue
            try:
                value = results.lookup(name)
            except ResultError:
                continue
            span = Token("html_inline", "", 0)
            span.content = (
                f'<span class="talk-value" data-source="{html.escape(name)}" '
                f'data-value="{html.escape(json.dumps(value, ensure_ascii=False))}">'
                f"{html.escape(child.content, quote=False)}</span>"
            )
            token.children[i] = span


def framework(base: Framework, data: dict) -> Framework:
    """The deck's files with the panel's script, stylesheet and data added."""
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    script = f"window.{DATA_GLOBAL} = {json.dumps(data, ensure_ascii=False)};\n"
    return replace(
        base,
        assets=base.assets
        + [
            Asset("provenance.json", data=text.encode("utf-8")),
            Asset("talk/provenance-data.js", data=script.encode("utf-8")),
            Asset("talk/provenance.js", STATIC / "provenance.js"),
            Asset("talk/provenance.css", STATIC / "provenance.css"),
        ],
        stylesheets=base.stylesheets + ["talk/provenance.css"],
        scripts=base.scripts + ["talk/provenance-data.js", "talk/provenance.js"],
        plugins=base.plugins + [PLUGIN],
    )
