"""Numbers and code that come from the project's scripts.

Placeholders. A figure script `scripts/NAME.py` writes the numbers it wants quoted
to `figures/NAME.json` (a JSON object, possibly nested). A slide writes
`{{ NAME.key.subkey }}`, or with a Python format spec `{{ NAME.key:.2e }}`, in
text, math, inline code, code fences or raw HTML; list items are numbered keys
(`{{ NAME.values.0 }}`). Substitution works on the parsed tokens, so every
missing file or key is reported at its own `path:line`. In text, `\\{{` keeps the
braces literally.

Includes. A code fence whose info string has `include=PATH#REGION` and an empty
body shows the lines between `# region REGION` and `# endregion REGION` of PATH
(relative to the Markdown file): other regions' marker lines are dropped and the
block is dedented. Without `#REGION` the whole file is included. Line highlights
(`[1|3]`) count lines of the included block. Included code is shown verbatim:
placeholders in it are not substituted.
"""

from __future__ import annotations

import html
import json
import re
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote

from markdown_it.token import Token

from . import paths
from .diagnostics import Diagnostic
from .markdown import PLACEHOLDER, inline_lines
from .slides import display_path

# Numbers in a format spec (width, precision), each at most this; list indexes at
# most this many digits.
MAX_FORMAT_NUMBER = 1000
FORMAT_NUMBER = re.compile(r"\d+")
MAX_INDEX_DIGITS = 9
INCLUDE = re.compile(r"(?:^|\s)include=(\S+)")
REGION_MARKER = re.compile(r"^\s*(?:#|//)\s*(region|endregion)\b[ \t]*(\S*)")


class ResultError(Exception):
    """A placeholder that cannot be filled in; the message names what is missing."""


class Results:
    """The results files of one folder, each read once."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._files: dict[str, object] = {}

    def _file(self, name: str):
        if name not in self._files:
            path = self.folder / f"{name}.json"
            try:
                self._files[name] = json.loads(paths.read_bytes(path).decode("utf-8"))
            except FileNotFoundError:
                self._files[name] = ResultError(
                    f"results file '{display_path(path)}' not found (written by scripts/{name}.py?)"
                )
            except paths.PathProblem as problem:
                self._files[name] = ResultError(
                    f"cannot read results file '{display_path(path)}': {problem}"
                )
            except (OSError, UnicodeDecodeError) as error:
                self._files[name] = ResultError(
                    f"cannot read results file '{display_path(path)}': {error}"
                )
            except json.JSONDecodeError as error:
                self._files[name] = ResultError(
                    f"results file '{display_path(path)}' is not valid JSON "
                    f"(line {error.lineno}: {error.msg})"
                )
            except (ValueError, RecursionError) as error:  # 5000-digit numbers, deep nesting
                self._files[name] = ResultError(
                    f"results file '{display_path(path)}' cannot be read: "
                    f"{'it is nested too deeply' if isinstance(error, RecursionError) else error}"
                )
        data = self._files[name]
        if isinstance(data, ResultError):
            raise data
        return data

    def lookup(self, dotted: str):
        """The value saved under `name.key.subkey`, as read from the JSON; raises ResultError."""
        name, *keys = dotted.split(".")
        value = self._file(name)
        for depth, key in enumerate(keys):
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and _index(key) < len(value):
                value = value[int(key)]
            else:
                missing = ".".join(keys[: depth + 1])
                where = display_path(self.folder / f"{name}.json")
                if not isinstance(value, (dict, list)):
                    found = ".".join([name, *keys[:depth]])
                    raise ResultError(f"'{found}' is {value!r}, which has no key '{key}' ({where})")
                if isinstance(value, list):
                    raise ResultError(
                        f"'{name}.{missing}': {where} has only {len(value)} "
                        f"items at '{'.'.join([name, *keys[:depth]])}'"
                    )
                raise ResultError(f"results '{name}' have no key '{missing}' ({where})")
        return value

    def value(self, dotted: str, spec: str | None = None) -> str:
        """The text for `{{ dotted:spec }}`; raises ResultError."""
        value = self.lookup(dotted)
        if spec:
            return _formatted(dotted, value, spec)
        if isinstance(value, dict):
            raise ResultError(
                f"'{dotted}' is an object (keys: {', '.join(map(str, value))}); "
                "name one of its keys"
            )
        if isinstance(value, str):
            return _unicode(dotted, value)
        if value is None or isinstance(value, (bool, list)):
            return _unicode(dotted, json.dumps(value))
        return str(value)


def _index(key: str) -> int:
    """A list index written in ASCII digits (not ² or ٣); any other key is past the end."""
    if key.isascii() and key.isdigit() and len(key) <= MAX_INDEX_DIGITS:
        return int(key)
    return sys.maxsize


def _formatted(dotted: str, value, spec: str) -> str:
    """format(value, spec), with widths and precisions bounded: `:1000000000` would
    ask for a gigabyte of spaces."""
    numbers = FORMAT_NUMBER.findall(spec)
    if any(len(n) > 4 or int(n) > MAX_FORMAT_NUMBER for n in numbers):
        raise ResultError(
            f"format spec ':{spec}' of '{dotted}' asks for more than "
            f"{MAX_FORMAT_NUMBER} characters or digits"
        )
    try:
        return _unicode(dotted, format(value, spec))
    except (ValueError, TypeError, OverflowError) as error:
        raise ResultError(f"cannot format '{dotted}' = {value!r} with ':{spec}': {error}") from None


def _unicode(dotted: str, text: str) -> str:
    """The text, if it can be written as UTF-8 (`:c` of 55296 is a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ResultError(f"'{dotted}' gives text that is not valid Unicode") from None
    return text


def substitute(tokens: list[Token], results: Results, shown: str) -> list[Diagnostic]:
    """Fill in every placeholder of a slide's tokens, in place."""
    errors: list[Diagnostic] = []

    def fill(text: str, line_of, escape: bool = False) -> str:
        def one(match: re.Match) -> str:
            try:
                value = results.value(match.group(1), match.group(2))
            except ResultError as error:
                errors.append(Diagnostic(shown, line_of(match.start()), str(error)))
                return match.group(0)
            return html.escape(value) if escape else value

        return PLACEHOLDER.sub(one, text) if "{{" in text else text

    for token in tokens:
        if token.type == "inline" and token.children:
            _substitute_inline(token.children, token.map[0] + 1 if token.map else 1, fill)
        elif token.content and token.type in ("fence", "code_block", "math_block", "html_block"):
            if token.meta.get("include"):
                continue
            first = token.map[0] + 1 if token.map else 1
            if token.type == "fence":
                first += 1
            content = token.content
            token.content = fill(
                content,
                lambda pos, c=content, f=first: f + c.count("\n", 0, pos),
                escape=token.type == "html_block",
            )
        _substitute_attrs(token, lambda pos, t=token: t.map[0] + 1 if t.map else 1, fill)
        if token.meta.get("slide_attrs"):
            line = token.map[0] + 1 if token.map else 1
            token.meta["slide_attrs"] = {
                k: fill(v, lambda pos, line=line: line, escape=False)
                for k, v in token.meta["slide_attrs"].items()
            }
    return errors


def _substitute_inline(children: list[Token], line: int, fill) -> None:
    for child, at_line in inline_lines(children, line):
        at = lambda pos, n=at_line: n  # noqa: E731 (inline tokens know only their line)
        if child.type == "placeholder":
            child.content = fill(child.content, at)
            child.type = "text"
        elif child.type in ("code_inline", "math_inline", "math_inline_double"):
            child.content = fill(child.content, at)
        elif child.type == "html_inline":
            child.content = fill(child.content, at, escape=True)
        _substitute_attrs(child, at, fill)
        if child.children:
            _substitute_inline(child.children, at_line, fill)


def _substitute_attrs(token: Token, at, fill) -> None:
    for name, value in list(token.attrs.items()):
        if not isinstance(value, str):
            continue
        if "%7B%7B" in value:  # markdown-it percent-encodes braces in links
            value = unquote(value)
        if "{{" in value:
            token.attrSet(name, fill(value, at))


# --- Code includes -----------------------------------------------------------------


def resolve_includes(
    tokens: list[Token], base: Path, shown: str, roots: list[Path] | None = None
) -> list[Diagnostic]:
    """Replace the body of every `include=` code fence with the named file region; with
    `roots`, a file outside all of those folders is an error (see paths.py)."""
    errors: list[Diagnostic] = []
    for token in tokens:
        if token.type != "fence":
            continue
        match = INCLUDE.search(token.info)
        if match is None:
            continue
        line = token.map[0] + 1 if token.map else 1
        target = match.group(1)
        token.info = (token.info[: match.start()] + " " + token.info[match.end() :]).strip()
        token.meta["include"] = target
        if token.content.strip():
            errors.append(
                Diagnostic(
                    shown,
                    line,
                    f"a code fence with include={target} must "
                    "have an empty body (its code comes from the file)",
                )
            )
            continue
        file_name, _, region = target.partition("#")
        try:
            token.content = include(base / file_name, region, roots)
        except ResultError as error:
            errors.append(Diagnostic(shown, line, f"include={target}: {error}"))
    return errors


def include(path: Path, region: str = "", roots: list[Path] | None = None) -> str:
    """The lines of `region` in the file (all of it when empty), dedented, newline-ended."""
    try:
        if roots is not None and paths.outside(paths.resolve(path), roots):
            raise ResultError(f"'{display_path(path)}' is {paths.OUTSIDE}")
        lines = paths.read_bytes(path).decode("utf-8").splitlines()
    except FileNotFoundError:
        raise ResultError(f"file '{display_path(path)}' not found") from None
    except paths.PathProblem as problem:
        raise ResultError(f"cannot read '{display_path(path)}': {problem}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ResultError(f"cannot read '{display_path(path)}': {error}") from None
    if region:
        start = next(
            (i for i, text in enumerate(lines) if _marker(text) == ("region", region)), None
        )
        if start is None:
            raise ResultError(f"no '# region {region}' in '{display_path(path)}'")
        end = next(
            (i for i in range(start + 1, len(lines)) if _marker(lines[i]) == ("endregion", region)),
            None,
        )
        if end is None:
            raise ResultError(
                f"region '{region}' in '{display_path(path)}' (line {start + 1}) "
                f"has no '# endregion {region}'"
            )
        lines = lines[start + 1 : end]
    code = textwrap.dedent("\n".join(text for text in lines if _marker(text) is None))
    return code.strip("\n") + "\n"


def _marker(text: str) -> tuple[str, str] | None:
    match = REGION_MARKER.match(text)
    return (match.group(1), match.group(2)) if match else None
