"""Markdown for slides: one markdown-it parser that follows reveal.js's conventions.

The deck is parsed once, at build time, by markdown-it (CommonMark, tables, raw
HTML) with the front matter and dollar-math plugins, plus a few rules of our own:

- `slide_break`: a line that is exactly the horizontal (`---`) or vertical (`-v-`)
  separator, in column 0. It is a block rule, so it never fires inside a code
  fence, a math block or the front matter (their rules consume those lines
  first), and it interrupts paragraphs, lists, tables and setext headings, as
  reveal.js's line-based splitting does.
- `slide_notes`: a line starting `Note:` (or `Notes:`, any case) in column 0;
  the rest of the slide is speaker notes.
- `placeholder`: `{{ script.key:spec }}` in text (see `results.py`); a `{{` that
  starts no placeholder is kept as written and reported.
- `syntax_checks` (a core rule, before text_join): what the other rules would
  silently drop or show as written (comments never closed, `{{` that is no
  placeholder, `$$` never closed...), and each formula's line for tex.py.
- `slide_comments` (a core rule, after inline parsing): `<!-- .element: ... -->`
  and `<!-- .slide: ... -->` comments as reveal.js's Markdown plugin applies
  them, TODO/FIXME comments reported as warnings, then every comment removed.

Splitting the token stream into slides is `slides.py`'s job; this module only
marks where the breaks are. Render rules turn fences into reveal.js code blocks
(`data-line-numbers`, `data-ln-start-from`; `fence_diagnostics` checks their info
strings) and math into elements holding KaTeX's HTML, typeset at build time by
tex.py (or the TeX itself, when parsed without a build).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.rules_block import StateBlock
from markdown_it.rules_block.paragraph import paragraph
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from .diagnostics import Diagnostic

# Keys of the `env` dict that `MarkdownIt.parse` passes to every rule.
ENV_PATH = "path"  # how diagnostics name the file being parsed
ENV_DIAGNOSTICS = "diagnostics"  # list[Diagnostic] the rules append to
ENV_SEPARATORS = "separators"  # Separators; set by the front matter hook when it has some
ENV_FRONT_MATTER_HOOK = "front_matter_hook"  # callable(token, env), called on front matter
_ENV_BREAK_LINES = "_slide_break_lines"  # cache: (src, sorted separator line numbers)


@dataclass(frozen=True)
class Separators:
    """The lines that split a file into slides, and a slide into content and notes."""

    horizontal: str = "---"
    vertical: str = "-v-"
    # Line prefixes, compared case-insensitively: reveal.js's default is /^notes?:/i.
    notes: tuple[str, ...] = ("note:", "notes:")


# `{{ script.key.subkey:format-spec }}`; the name is the results file, then keys.
# The spec is what follows the colon up to its last non-space character. Linear
# time: no two neighbouring quantifiers can take the same characters.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*(?::([^{}\n]*[^{}\s]|)\s*)?\}\}")
# reveal.js's Markdown plugin: the comment body patterns and the attribute syntax.
ELEMENT_ATTRIBUTES = re.compile(r"\.element\s*?(.+?)$", re.MULTILINE)
SLIDE_ATTRIBUTES = re.compile(r"\.slide:\s*?(\S.+?)$", re.MULTILINE)
# reveal.js's attribute pattern, each name starting where a run of name characters
# starts (the lookbehinds): the same attributes, in linear time instead of
# quadratic on a long run of name characters.
ATTRIBUTE = re.compile(r'(?<![^"= ])([^"= ]+?)="([^"]+?)"|(?<![^"= ])(data-[^"= ]+?)(?=[" ])')
# What setAttribute accepts (an XML name, ASCII here): anything else, such as
# `"><script>`, must not be written into the page.
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")
TODO = re.compile(r"\b(TODO|FIXME)\b")
LEADING_BACKSLASHES = re.compile(r"\\*")
# A start or end tag. Attribute names cannot hold "<", so a tag that never closes
# is given up at the next "<": linear time on `<a <a <a ...`.
TAG = re.compile(
    r"<(/?)([A-Za-z][\w:-]*)((?:\s+[^\s\"'<>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'"
    r"|[^\s\"'=<>`]+))?)*)\s*(/?)>"
)
VOID_ELEMENTS = frozenset("area base br col embed hr img input link meta source track wbr".split())


def create_parser() -> MarkdownIt:
    """The slide parser: CommonMark + tables + raw HTML, front matter, math, our rules."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.use(front_matter_plugin)
    # `$$` blocks end at a blank line, so a stray `$$` cannot swallow the rest of
    # the deck; `$$...$$` also works inside a paragraph (display math).
    md.use(
        dollarmath_plugin,
        allow_labels=False,
        allow_blank_lines=False,
        allow_space=True,
        allow_digits=False,
        double_inline=True,
    )

    block = md.block.ruler
    _wrap(block, "front_matter", _calling_front_matter_hook)
    for name in ("table", "math_block", "html_block", "lheading"):
        _wrap(block, name, _stopping_at_slide_breaks)
    interrupts = {"alt": ["paragraph", "reference", "blockquote", "list"]}
    block.before("hr", "slide_break", _slide_break, interrupts)
    block.before("hr", "slide_notes", _slide_notes, interrupts)
    _wrap(md.inline.ruler, "math_inline", _not_wrapping_around)
    md.inline.ruler.before("escape", "placeholder", _placeholder)
    # Before text_join, which merges escaped characters into the text around them.
    md.core.ruler.before("text_join", "syntax_checks", _syntax_checks)
    md.core.ruler.push("slide_comments", _slide_comments)

    for name in ("slide_break", "slide_notes", "front_matter"):
        md.add_render_rule(name, _render_nothing)
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("placeholder", _render_placeholder)
    md.add_render_rule("math_inline", _render_math("span", "math-inline"))
    md.add_render_rule("math_inline_double", _render_math("span", "math-display"))
    md.add_render_rule("math_block", _render_math("div", "math-display"))
    return md


def _wrap(ruler, name: str, wrapper: Callable) -> None:
    rule = ruler.__rules__[ruler.__find__(name)]
    ruler.at(name, wrapper(rule.fn), {"alt": rule.alt})


# --- Block rules -------------------------------------------------------------------


def separators(env: dict) -> Separators:
    return env.get(ENV_SEPARATORS) or Separators()


def _column_zero_text(state: StateBlock, line: int) -> str | None:
    """The line's text if it starts in column 0 of the file (not in a quote or list)."""
    start = state.bMarks[line]
    if state.tShift[line] or (start and state.src[start - 1] != "\n"):
        return None
    return state.src[start : state.eMarks[line]]


def _slide_break_kind(text: str, seps: Separators) -> str | None:
    text = text.rstrip()
    if text == seps.horizontal:
        return "horizontal"
    if text == seps.vertical:
        return "vertical"
    return None


def _slide_break(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    text = _column_zero_text(state, start_line)
    kind = text is not None and _slide_break_kind(text, separators(state.env))
    if not kind:
        return False
    if silent:
        return True
    _line_token(state, "slide_break", start_line, text.rstrip()).meta = {"kind": kind}
    state.line = start_line + 1
    return True


def _line_token(state: StateBlock, kind: str, line: int, markup: str) -> Token:
    """A block token for one whole source line (a separator or the `Note:` line)."""
    token = state.push(kind, "", 0)
    token.block = True
    token.map = [line, line + 1]
    token.markup = markup
    return token


def _slide_notes(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    text = _column_zero_text(state, start_line)
    if text is None:
        return False
    lowered = text.lower()
    prefix = next((p for p in separators(state.env).notes if lowered.startswith(p.lower())), None)
    if prefix is None:
        return False
    if silent:
        return True
    _line_token(state, "slide_notes", start_line, text[: len(prefix)])
    rest = text[len(prefix) :]
    if not rest.strip():
        state.line = start_line + 1
        return True
    # The rest of the line begins the notes' first paragraph, which may go on over
    # the following lines: parse it as a paragraph that starts after the prefix.
    saved = state.bMarks[start_line], state.tShift[start_line], state.sCount[start_line]
    indent = len(rest) - len(rest.lstrip(" \t"))
    state.bMarks[start_line] += len(prefix)
    state.tShift[start_line] = indent
    state.sCount[start_line] = indent
    paragraph(state, start_line, end_line, False)
    state.bMarks[start_line], state.tShift[start_line], state.sCount[start_line] = saved
    return True


def _break_lines(state: StateBlock) -> list[int]:
    """Numbers of the lines that are slide separators (cached per source)."""
    cached = state.env.get(_ENV_BREAK_LINES)
    if cached is None or cached[0] is not state.src:
        seps = separators(state.env)
        lines = [i for i, text in enumerate(state.src.split("\n")) if _slide_break_kind(text, seps)]
        cached = state.env[_ENV_BREAK_LINES] = (state.src, lines)
    return cached[1]


def _stopping_at_slide_breaks(rule: Callable) -> Callable:
    """A block rule that cannot run past the next slide separator.

    Rules that scan ahead without asking the paragraph terminators (setext
    headings, HTML blocks, tables, math blocks) would otherwise read `Title`
    followed by `---` as a heading, or keep a separator inside an HTML block.
    """

    def rule_before_next_break(
        state: StateBlock, start_line: int, end_line: int, silent: bool
    ) -> bool:
        lines = _break_lines(state)
        i = bisect.bisect_right(lines, start_line)
        if i < len(lines) and lines[i] < end_line:
            end_line = lines[i]
        return rule(state, start_line, end_line, silent)

    return rule_before_next_break


def _calling_front_matter_hook(rule: Callable) -> Callable:
    """Front matter that is read as soon as it is parsed, since it may set separators."""

    def front_matter(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        if not rule(state, start_line, end_line, silent):
            return False
        hook = state.env.get(ENV_FRONT_MATTER_HOOK)
        if not silent and hook is not None:
            hook(state.tokens[-1], state.env)
        return True

    return front_matter


# --- Inline rules ------------------------------------------------------------------


def _not_wrapping_around(rule: Callable) -> Callable:
    """dollarmath's inline rule, without reading the paragraph's last character as the
    one before its first.

    To tell whether a `$` is escaped (or follows a digit) it counts the backslashes
    before it down to src[-1] when they reach the paragraph's start, which Python
    reads as its last character: a paragraph that starts with `$x$` and ends with a
    backslash (a hard break) or a digit lost its math. A space added at the end
    for that call is neither.
    """

    def math_inline(state: StateInline, silent: bool) -> bool:
        src, pos = state.src, state.pos
        # Only a `$` with nothing but backslashes before it reads src[-1].
        if src[pos] != "$" or src[-1] in " \n" or LEADING_BACKSLASHES.match(src).end() < pos:
            return rule(state, silent)
        state.src = src + " "
        try:
            return rule(state, silent)
        finally:
            state.src = src

    return math_inline


def _placeholder(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("{{", state.pos):
        return False
    match = PLACEHOLDER.match(state.src, state.pos)
    if match is None:
        # Not a placeholder: shown as written, and reported by _syntax_checks
        # (`\\{{` is the way to write literal braces).
        if not silent:
            token = state.push("placeholder", "", 0)
            token.content = "{{"
            token.meta = {"unclosed_placeholder": _written_placeholder(state.src, state.pos)}
        state.pos += 2
        return True
    if not silent:
        token = state.push("placeholder", "", 0)
        token.content = match.group(0)
        token.meta = {"name": match.group(1), "spec": match.group(2)}
    state.pos = match.end()
    return True


# --- Core rule: what the other rules would silently drop -------------------------


def _syntax_checks(state: StateCore) -> None:
    """Report what the slide syntax would otherwise drop or show as written, and give
    every formula its line (`meta["line"]`) for tex.py's messages.

    - HTML comments never closed: in the deck they would hide everything after them,
      the script that starts reveal.js included. A `<!--` inside a comment means the
      comment before it lacks its `-->`.
    - `{{` that does not start a placeholder (`{{ name.key }` with one brace).
    - `$$` left in the text: display math never closed (a blank line ends it).
    - `$\\name` left in the text: likely inline math never closed (a warning, as a
      lone `$` is also money)."""
    env = state.env
    for token in state.tokens:
        line0 = token.map[0] + 1 if token.map else 1
        if token.type == "html_block":
            _check_comments(token.content, line0, env)
            _check_html_math(token.content, line0, env)
        elif token.type == "math_block":
            token.meta["line"] = line0
        elif token.type == "inline" and token.children:
            _check_inline(token.children, line0, env)


def _check_inline(children: list[Token], line: int, env: dict) -> None:
    text: list[str] = []  # the current run of text, escaped characters blanked out
    for child in children:
        if child.type in ("text", "text_special"):
            # An escaped or entity character (`\\$`, `&lt;`) is not syntax.
            literal = child.type == "text" or child.content == child.markup
            text.append(child.content if literal else "\0" * len(child.content))
            continue
        if text:
            _check_text("".join(text), line, env)
            text = []
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        elif child.type.startswith("math_"):
            child.meta["line"] = line
        elif child.type == "html_inline":
            _check_comments(child.content, line, env)
        elif child.type == "placeholder" and child.meta.get("unclosed_placeholder"):
            _report(
                env,
                line,
                f"'{child.meta['unclosed_placeholder']}' is not a placeholder: write "
                "'{{ name.key }}' or '{{ name.key:format }}', or '\\{{' to show the braces",
            )
        if child.type in ("math_inline", "math_inline_double", "html_inline"):
            line += child.content.count("\n")
    if text:
        _check_text("".join(text), line, env)
        if text[-1].endswith("\\") and children[-1].type == "text":
            _report(
                env,
                line,
                "'\\' at the end of a paragraph is shown as a backslash: a hard line "
                "break needs a line after it",
                "warning",
            )


def _check_text(text: str, line: int, env: dict) -> None:
    if "<!--" in text:
        _report(env, line, "HTML comment '<!--' is never closed (add '-->')")
    if "$$" in text:
        _report(
            env,
            line,
            "display math '$$' is never closed (a blank line ends it); write '\\$' for a "
            "dollar sign",
        )
    elif (at := text.find("$\\")) >= 0 and text[at + 2 : at + 3].isalpha():
        _report(
            env,
            line,
            f"'{_shortened(text[at:], 30)}' looks like math whose closing '$' is missing "
            "(write '\\$' for a dollar sign)",
            "warning",
        )


def _check_comments(html: str, line: int, env: dict) -> None:
    """Every `<!--` in the HTML has its `-->` before the next `<!--`, and a comment
    that starts `.slide` or `.element` sets attributes reveal.js can read."""
    start = html.find("<!--")
    while start >= 0:
        end = html.find("-->", start + 4)
        following = html.find("<!--", start + 4)
        if end >= 0 and not 0 <= following < end:
            _check_attribute_comment(html[start + 4 : end], line + html.count("\n", 0, start), env)
        if end < 0 or 0 <= following < end:
            body = html[start + 4 : end if end >= 0 else len(html)].lstrip()
            kind = next((k for k in (".slide:", ".element") if body.startswith(k)), None)
            what = f"'<!-- {kind}' comment" if kind else "HTML comment"
            if end < 0:
                problem = "is never closed: it would hide everything after it (add '-->')"
            else:
                problem = (
                    f"is not closed before the next '<!--' on line "
                    f"{line + html.count(chr(10), 0, following)} (add '-->')"
                )
            _report(env, line + html.count("\n", 0, start), f"{what} {problem}")
            if end < 0:
                return
        start = html.find("<!--", end + 3)


def _check_html_math(html: str, line: int, env: dict) -> None:
    """TeX in a raw HTML block is not parsed as Markdown, so not typeset."""
    at = html.find("$")
    while at >= 0:
        following = html[at + 1 : at + 3]
        if following.startswith("$") or (following[:1] == "\\" and following[1:].isalpha()):
            _report(
                env,
                line + html.count("\n", 0, at),
                "math in a raw HTML block is not typeset (Markdown, math included, "
                "starts again after a blank line)",
                "warning",
            )
            return
        at = html.find("$", at + 1)


def _check_attribute_comment(body: str, line: int, env: dict) -> None:
    body = body.lstrip()
    kind = next((k for k in (".slide", ".element") if body.startswith(k)), None)
    if kind is None or (kind == ".slide" and body[6:7].isalnum()):  # `.slides` is prose
        return
    found = _comment_attributes(body, {}, line)  # its own warnings come with the comment rule
    if found is None or not found[1]:
        _report(
            env,
            line,
            f"'<!-- {_shortened(' '.join(body.split()), 40)} -->' sets no attribute: write "
            f'<!-- {kind}: name="value" --> (e.g. class="fragment")',
        )


def _report(env: dict, line: int, message: str, severity: str = "error") -> None:
    env.setdefault(ENV_DIAGNOSTICS, []).append(
        Diagnostic(env.get(ENV_PATH, "<string>"), line, message, severity)
    )


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def structure_diagnostics(tokens: list[Token], lines: list[str], shown: str) -> list[Diagnostic]:
    """Front matter opened by `---` and never closed (markdown-it then reads the `---`
    as a slide separator and the YAML as a slide); empty slides: a separator with
    nothing before it since the start of the file, the front matter or the previous
    separator; a second `Note:` line in one slide (its `Note:` would vanish)."""
    diagnostics = []
    previous = None  # the last level-0 token: None at the start of the file
    notes_line = None  # where the current slide's notes start
    for token in tokens:
        if token.level != 0:
            continue
        if token.type == "slide_notes":
            if notes_line is not None:
                diagnostics.append(
                    Diagnostic(
                        shown,
                        token.map[0] + 1,
                        f"a second '{token.markup}' line in one slide (the notes start on "
                        f"line {notes_line}): this one's '{token.markup}' is dropped",
                        "warning",
                    )
                )
            notes_line = notes_line or token.map[0] + 1
        if token.type == "slide_break":
            notes_line = None
            line = token.map[0] + 1
            if previous is None and line == 1 and _looks_like_yaml(lines[1:]):
                diagnostics.append(
                    Diagnostic(
                        shown,
                        1,
                        "front matter opened here is never closed: add a line '---' "
                        "after it (or, if this is a slide separator, start with a slide)",
                    )
                )
                return diagnostics
            if previous is None or previous.type in ("slide_break", "front_matter"):
                if previous is None:
                    where = "the start of the file"
                elif previous.type == "front_matter":
                    where = "the front matter"
                else:
                    where = f"the separator on line {previous.map[0] + 1}"
                diagnostics.append(
                    Diagnostic(
                        shown,
                        line,
                        f"empty slide: separator '{token.markup}' with nothing since {where}",
                        "warning",
                    )
                )
        previous = token
    if previous is not None and previous.type == "slide_break":
        diagnostics.append(
            Diagnostic(
                shown,
                previous.map[0] + 1,
                f"empty slide: nothing after the separator '{previous.markup}' at the end "
                "of the file",
                "warning",
            )
        )
    return diagnostics


def _looks_like_yaml(lines: list[str]) -> bool:
    """Whether the first non-blank line is a YAML `key:` line."""
    first = next((text for text in lines if text.strip()), "")
    key, colon, rest = first.partition(":")
    return (
        bool(colon)
        and key.strip().replace("_", "a").replace("-", "a").isalnum()
        and (not rest or rest[0] in " \t")
    )


def _written_placeholder(src: str, start: int) -> str:
    """What was meant as a placeholder at `start`: up to its last `}`, if on its line."""
    end = src.find("\n", start)
    end = len(src) if end < 0 else end
    brace = src.find("}", start, end)
    if brace >= 0:
        end = brace + 1
        while end < len(src) and src[end] == "}":
            end += 1
    return _shortened(src[start:end].rstrip(), 40)


# --- Core rule: comments -----------------------------------------------------------


def _slide_comments(state: StateCore) -> None:
    """Apply reveal.js attribute comments, report TODO/FIXME ones, then drop them all."""
    tokens = state.tokens
    lines = None
    for i, token in enumerate(tokens):
        if token.type == "html_block" and "<!--" in token.content:
            lines = lines or state.src.split("\n")
            _block_comments(tokens, i, state.env, lines)
        elif token.type == "inline" and token.children:
            _inline_comments(tokens, i, state.env)


def _attributes(text: str, env: dict, line: int) -> dict[str, str]:
    attrs = {}
    for match in ATTRIBUTE.finditer(text + " "):
        name, value = (match.group(1), match.group(2)) if match.group(2) else (match.group(3), "")
        if ATTRIBUTE_NAME.fullmatch(name):
            attrs[name] = value
        else:
            _warn(env, line, f"attribute name {name!r} is not a valid HTML attribute name; ignored")
    return attrs


def _comment_attributes(body: str, env: dict, line: int) -> tuple[str, dict[str, str]] | None:
    """("element" | "slide", attributes) for a reveal.js attribute comment, else None."""
    match = ELEMENT_ATTRIBUTES.search(body)
    if match:
        return "element", _attributes(match.group(1), env, line)
    match = SLIDE_ATTRIBUTES.search(body)
    if match:
        return "slide", _attributes(match.group(1), env, line)
    return None


def _warn_todo(body: str, line: int, env: dict) -> None:
    match = TODO.search(body)
    if match:
        text = " ".join(body.split())
        env.setdefault(ENV_DIAGNOSTICS, []).append(
            Diagnostic(
                env.get(ENV_PATH, "<string>"), line, f"{match.group(1)} comment: {text}", "warning"
            )
        )


def _set_slide_attrs(token: Token, attrs: dict[str, str]) -> None:
    token.meta.setdefault("slide_attrs", {}).update(attrs)


def _set_attrs(target: Token | tuple[Token, int], attrs: dict[str, str]) -> None:
    """Give the target element the attributes: a token, or (html token, tag offset)."""
    if isinstance(target, tuple):
        token, offset = target
        token.content = _inject_html_attrs(token.content, offset, attrs)
    else:
        for name, value in attrs.items():
            target.attrSet(name, value)


def _inject_html_attrs(html: str, offset: int, attrs: dict[str, str]) -> str:
    """Set attributes on the raw start tag at `offset` (replacing ones of the same name)."""
    match = TAG.match(html, offset)
    tag_attrs = match.group(3)
    for name, value in attrs.items():
        value = escapeHtml(value)
        rendered = f'{name}="{value}"' if value else name
        existing = re.compile(
            rf"(?<=\s){re.escape(name)}(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?(?=\s|$)",
            re.IGNORECASE,
        )
        if existing.search(tag_attrs):
            tag_attrs = existing.sub(lambda _, r=rendered: r, tag_attrs, count=1)
        else:
            tag_attrs += " " + rendered
    return html[: match.start(3)] + tag_attrs + html[match.end(3) :]


class _Elements:
    """Follows raw HTML and inline tokens in document order to find, at any point,
    the element a reveal.js `.element` comment there applies to: the closest
    preceding element (an element just closed, or a void one such as <img>), or
    the open element that contains the comment; None when there is neither."""

    def __init__(self) -> None:
        self.open: list[tuple[str, object]] = []  # (tag name, target) of open elements
        self.last: object | None = None

    def html(self, token: Token, text: str, base: int = 0) -> None:
        """Feed raw HTML; `base` is where `text` starts inside token.content."""
        for match in TAG.finditer(text):
            name = match.group(2).lower()
            if match.group(1):
                self._close(f"html:{name}")
            elif name != "br":  # reveal.js skips <br>
                self.last = (token, base + match.start())
                if name not in VOID_ELEMENTS and not match.group(4):
                    self.open.append((f"html:{name}", self.last))

    def token(self, token: Token) -> None:
        """Feed an inline Markdown token."""
        if token.nesting == 1:
            self.last = token
            self.open.append((f"md:{token.tag}", token))
        elif token.nesting == -1:
            self._close(f"md:{token.tag}")
        elif token.type in ("image", "code_inline"):
            # Math is not an element here: reveal.js applies attributes before its math
            # plugin typesets, while `$...$` is still text.
            self.last = token

    def _close(self, key: str) -> None:
        for k in range(len(self.open) - 1, -1, -1):
            if self.open[k][0] == key:
                self.last = self.open[k][1]
                del self.open[k:]
                return


def html_comments(text: str):
    """(start, end, body) of every `<!-- ... -->` in the text, as HTML reads them: a
    comment ends at the first `-->`, so `<!--` inside one starts nothing. One pass
    with str.find; a regular expression would rescan the rest of the text from
    every `<!--` that is never closed."""
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            return
        yield start, end + 3, text[start + 4 : end]
        pos = end + 3


def _masked(html: str, comments=None) -> str:
    """The HTML with every comment blanked out (same length), so tags in comments
    are not mistaken for elements."""
    parts, pos = [], 0
    for start, end, _ in html_comments(html) if comments is None else comments:
        parts += [html[pos:start], " " * (end - start)]
        pos = end
    parts.append(html[pos:])
    return "".join(parts)


def _block_comments(tokens: list[Token], index: int, env: dict, lines: list[str]) -> None:
    """Apply, report and remove the comments of an HTML block, all found in one pass
    over its text as it was written (removing one never makes another)."""
    token = tokens[index]
    content = token.content
    line0 = token.map[0] if token.map else 0
    comments = list(html_comments(content))
    masked = _masked(content, comments)
    tags = [m for m in TAG.finditer(masked) if "<!--" in content[m.start() : m.end()]]
    injections: dict[int, dict[str, str]] = {}  # tag offset -> attributes to set there
    newlines, counted = 0, 0
    for start, _end, body in comments:
        newlines += content.count("\n", counted, start)
        counted = start
        line = line0 + 1 + newlines
        _warn_todo(body, line, env)
        # A '<!--' inside the comment is reported by _syntax_checks.
        inside = next((tag for tag in tags if tag.start() < start < tag.end()), None)
        if inside is not None:
            _error(
                env,
                line,
                f"a comment inside the tag <{inside.group(2)}>: HTML does not read "
                "it as a comment; put it after the tag",
            )
            continue
        found = _comment_attributes(body, env, line)
        if found is None:
            continue
        kind, attrs = found
        if kind == "slide":
            _set_slide_attrs(token, attrs)
            continue
        elements = _Elements()
        elements.html(token, masked[:start])
        target = elements.last or _previous_block(tokens, index, lines)
        if target is None:
            _set_slide_attrs(token, attrs)
        elif target is _NOTES_START:
            _warn_nothing_before_in_notes(line, env)
        elif isinstance(target, tuple) and target[0] is token:
            injections.setdefault(target[1], {}).update(attrs)
        else:
            _set_attrs(target, attrs)
    token.content = _without_comments(content, masked, comments, injections)
    if not token.content.strip():
        token.content = ""


def _without_comments(
    content: str, masked: str, comments: list, injections: dict[int, dict[str, str]]
) -> str:
    """The HTML with the attributes set on their tags and every comment removed; a
    line that only held comments goes too."""
    cut = "\0"  # markdown-it has replaced every NUL of the source by U+FFFD
    parts, pos = [], 0
    edits = sorted(
        [(start, end, cut) for start, end, _ in comments]
        + [
            (
                offset,
                (tag := TAG.match(masked, offset)).end(),
                _inject_html_attrs(tag.group(0), 0, attrs),
            )
            for offset, attrs in injections.items()
        ]
    )
    for start, end, text in edits:
        if start < pos:  # a comment inside a tag whose attributes were set
            continue
        parts += [content[pos:start], text]
        pos = end
    parts.append(content[pos:])
    result = "".join(parts)
    if cut not in result:
        return result
    kept = [
        _joined(line.split(cut))
        for line in result.split("\n")
        if cut not in line or line.replace(cut, "").strip()
    ]
    return "\n".join(kept)


def _joined(pieces: list[str]) -> str:
    """The text around removed comments, joined; where the joint would make a new
    `<!--` (`<!-<!-- a -->- b -->`), an empty comment keeps the pieces apart, as
    the comment did."""
    text = pieces[0]
    for piece in pieces[1:]:
        text += ("<!---->" if "<!--" in text[-3:] + piece[:3] else "") + piece
    return text


def _warn(env: dict, line: int, message: str, severity: str = "warning") -> None:
    env.setdefault(ENV_DIAGNOSTICS, []).append(
        Diagnostic(env.get(ENV_PATH, "<string>"), line, message, severity)
    )


def _error(env: dict, line: int, message: str) -> None:
    _warn(env, line, message, "error")


def _warn_nothing_before_in_notes(line: int, env: dict) -> None:
    # reveal.js would set the attributes on the notes' <aside> (a class replacing
    # "notes" and showing them on the slide); the slide is not what was meant either.
    env.setdefault(ENV_DIAGNOSTICS, []).append(
        Diagnostic(
            env.get(ENV_PATH, "<string>"),
            line,
            "'.element' comment at the start of the speaker "
            "notes has no element before it to apply to; ignored",
            "warning",
        )
    )


# What `_previous_block` finds for a comment that opens the speaker notes.
_NOTES_START = object()


def _previous_block(
    tokens: list[Token], index: int, lines: list[str]
) -> Token | tuple[Token, int] | object | None:
    """What a block-level `.element` comment at tokens[index] applies to: the previous
    sibling block (the last item of a list directly above it), else the parent block;
    None means the slide itself, `_NOTES_START` nothing (the comment opens the notes)."""
    level = tokens[index].level
    for j in range(index - 1, -1, -1):
        token = tokens[j]
        if token.level > level:
            continue
        if token.level < level:  # the parent block
            return _hidden_paragraph_parent(tokens, j) if token.hidden else token
        if token.type == "slide_break":
            return None
        if token.type == "slide_notes":
            return _NOTES_START
        if token.nesting == -1:
            continue  # its opening token comes next at this level
        if token.type == "html_block":
            elements = _Elements()
            elements.html(token, _masked(token.content))  # its comments are gone by now
            if elements.last is None:
                continue  # only comments or text: reveal.js looks further back
            return elements.last
        if token.type in ("bullet_list_open", "ordered_list_open"):
            return _list_or_last_item(tokens, j, index, lines)
        return token
    return None


def _list_or_last_item(
    tokens: list[Token], list_index: int, comment_index: int, lines: list[str]
) -> Token:
    """reveal.js: a comment right below a list (no blank line) is about its last item."""
    level = tokens[list_index].level
    last_item, end = tokens[list_index], 0
    for token in tokens[list_index + 1 : comment_index]:
        if token.type == "list_item_open" and token.level == level + 1:
            last_item = token
        elif token.map and token.type not in (
            "list_item_open",
            "bullet_list_open",
            "ordered_list_open",
        ):
            end = max(end, token.map[1])
    start = tokens[comment_index].map[0] if tokens[comment_index].map else end
    if any(not text.strip() for text in lines[end:start]):
        return tokens[list_index]
    return last_item


def _hidden_paragraph_parent(tokens: list[Token], index: int) -> Token:
    """A tight list's paragraph is not rendered: its element is the list item."""
    level = tokens[index].level
    for j in range(index - 1, -1, -1):
        if tokens[j].level < level and tokens[j].nesting == 1:
            return tokens[j]
    return tokens[index]


def _inline_comments(tokens: list[Token], index: int, env: dict) -> None:
    inline = tokens[index]
    children = inline.children
    if not any(c.type == "html_inline" and c.content.startswith("<!--") for c in children):
        return
    elements = _Elements()
    for child, line in inline_lines(children, inline.map[0] + 1 if inline.map else 1):
        if child.type in ("softbreak", "hardbreak"):
            continue
        if child.type != "html_inline":
            elements.token(child)
            continue
        if not child.content.startswith("<!--"):
            elements.html(child, child.content)
            continue
        body = child.content[4:-3]
        _warn_todo(body, line, env)
        found = _comment_attributes(body, env, line)
        child.meta["newlines"] = child.content.count("\n")  # the source's, for inline_lines
        child.content = ""
        if found is None:
            continue
        kind, attrs = found
        if kind == "slide":
            _set_slide_attrs(child, attrs)
            continue
        target = elements.last
        if target is None:
            parent = tokens[index - 1] if index else None
            if parent is None or parent.nesting != 1:
                _set_slide_attrs(child, attrs)
                continue
            target = _hidden_paragraph_parent(tokens, index - 1) if parent.hidden else parent
        _set_attrs(target, attrs)


def inline_lines(children: list[Token], line: int):
    """Each child of an inline run with its source line, `line` being the first's: a line
    break, or a newline inside raw HTML (a comment too, once emptied), starts the next."""
    for child in children:
        if child.type in ("softbreak", "hardbreak"):
            newlines = 1
        elif child.type == "html_inline":
            newlines = child.meta.get("newlines", child.content.count("\n"))
        else:
            newlines = 0
        yield child, line
        line += newlines


# --- Render rules ------------------------------------------------------------------


def _render_nothing(self, tokens: Sequence[Token], idx: int, options, env) -> str:
    return ""


# The options a code fence's info string may have (words with `=`; results.py).
FENCE_OPTIONS = ("include",)
HIGHLIGHT_EXAMPLES = "e.g. [1|3-5], [] or [17: 1|3]"


@dataclass
class FenceInfo:
    """A code fence's info string, read as reveal.js's Markdown plugin reads it:
    `python [17: 1|3-5]` is the language, then line numbering and highlight steps."""

    language: str = ""
    attrs: dict[str, str] = field(default_factory=dict)  # for the <code> element
    steps: list[list[tuple[int, int]]] = field(default_factory=list)  # line ranges per step
    options: list[str] = field(default_factory=list)  # `name=value` words
    errors: list[str] = field(default_factory=list)


def parse_fence_info(info: str) -> FenceInfo:
    """Split the info string; a spec reveal.js could not read is an error, not ignored.
    Plain string operations, no regular expression: linear in the info's length."""
    parsed = FenceInfo()
    original = info
    open_at = info.find("[")
    if open_at >= 0:
        close_at = info.find("]", open_at)
        if close_at < 0:
            parsed.errors.append(
                f"line-highlight spec '{info[open_at:].strip()}' has no closing ']' "
                f"({HIGHLIGHT_EXAMPLES})"
            )
            info = info[:open_at]
        else:
            _parse_highlights(info[open_at : close_at + 1], parsed)
            info = info[:open_at] + " " + info[close_at + 1 :]
            if "[" in info or "]" in info:
                parsed.errors.append(
                    f"more than one line-highlight spec in '{original.strip()}' "
                    f"({HIGHLIGHT_EXAMPLES})"
                )
    words = info.split()
    parsed.options = [w for w in words if "=" in w]
    plain = [w for w in words if "=" not in w]
    parsed.language = plain[0] if plain else ""
    return parsed


def _parse_highlights(spec: str, parsed: FenceInfo) -> None:
    inner = spec[1:-1]
    start, colon, steps = inner.rpartition(":")
    start = start.strip()

    def malformed(problem: str) -> None:
        parsed.errors.append(
            f"malformed line-highlight spec '{spec}': {problem} ({HIGHLIGHT_EXAMPLES})"
        )

    if colon and start and not _is_number(start):
        return malformed(f"'{start}' before ':' is not a line number")
    for step in steps.split("|"):
        ranges: list[tuple[int, int]] = []
        if step.strip():
            for part in step.split(","):
                first, dash, last = (p.strip() for p in part.partition("-"))
                if not _is_number(first) or (dash and not _is_number(last)):
                    what = part.strip()
                    return malformed(
                        f"'{what}' is not a line or a range of lines"
                        if what
                        else "an empty item between commas"
                    )
                low, high = int(first), int(last) if dash else int(first)
                if low < 1:
                    return malformed("lines count from 1")
                if high < low:
                    return malformed(f"the range '{part.strip()}' ends before it starts")
                ranges.append((low, high))
        parsed.steps.append(ranges)
    if start:
        parsed.attrs["data-ln-start-from"] = start
    parsed.attrs["data-line-numbers"] = steps.strip()


def _is_number(text: str) -> bool:
    """A line number: ASCII digits, few enough for int() (a 5,000-digit one raises)."""
    return text.isascii() and text.isdigit() and len(text) <= 9


def fence_info(info: str) -> tuple[str, dict[str, str]]:
    """(language, code element attributes) from a fence's info string, as reveal.js's
    Markdown plugin reads it: `python [17: 1|3]` -> ("python", {"data-line-numbers":
    "1|3", "data-ln-start-from": "17"}). Words with `=` (e.g. include=) are options."""
    parsed = parse_fence_info(info)
    return parsed.language, parsed.attrs


def fence_diagnostics(tokens: list[Token], shown: str) -> list[Diagnostic]:
    """Code fences whose info string reveal.js would misread or ignore: malformed
    line-highlight specs, steps naming lines past the end of the block, unknown
    options. Run after results.py has replaced `include=` by the included code."""
    diagnostics = []
    for token in tokens:
        if token.type != "fence":
            continue
        line = token.map[0] + 1 if token.map else 1
        parsed = parse_fence_info(unescapeAll(token.info))
        messages = list(parsed.errors)
        for option in parsed.options:
            name = option.partition("=")[0]
            known = ", ".join(f"{o}=" for o in FENCE_OPTIONS)
            if name in FENCE_OPTIONS:  # only one of each: results.py took the first
                messages.append(f"code fence option '{option}' given twice")
            else:
                messages.append(f"unknown code fence option '{option}' (known: {known})")
        if "include" in token.meta and not token.content:
            pass  # the include failed, and said so: its length is unknown
        else:
            count = token.content.count("\n") + (not token.content.endswith("\n"))
            count = count if token.content else 0
            for number, ranges in enumerate(parsed.steps, 1):
                past = [high for _, high in ranges if high > count]
                if past:
                    messages.append(
                        f"line-highlight step {number} of '{parsed.attrs['data-line-numbers']}'"
                        f" names line {max(past)}, but the code block has "
                        f"{count} line{'s' * (count != 1)}"
                    )
        diagnostics += [Diagnostic(shown, line, message) for message in messages]
    return diagnostics


def _render_fence(self, tokens: Sequence[Token], idx: int, options, env) -> str:
    token = tokens[idx]
    language, code_attrs = fence_info(unescapeAll(token.info))
    code = Token(
        "code", "code", 0, attrs={"class": f"language-{language or 'plaintext'}", **code_attrs}
    )
    pre = Token("pre", "pre", 0, attrs=token.attrs)
    content = token.content[:-1] if token.content.endswith("\n") else token.content
    return (
        f"<pre{self.renderAttrs(pre)}><code{self.renderAttrs(code)}>"
        f"{escapeHtml(content)}</code></pre>\n"
    )


def _render_placeholder(self, tokens: Sequence[Token], idx: int, options, env) -> str:
    return escapeHtml(tokens[idx].content)  # unresolved: shown as written


def _render_math(tag: str, css_class: str) -> Callable:
    """The formula in an element of its own: KaTeX's HTML once tex.py has typeset it
    (token.meta["html"]), the TeX itself before (a parse without a build)."""

    def render(self, tokens: Sequence[Token], idx: int, options, env) -> str:
        token = tokens[idx]
        attrs = dict(token.attrs)
        attrs["class"] = " ".join(filter(None, (css_class, attrs.get("class"))))
        element = Token(tag, tag, 0, attrs=attrs)
        end = "\n" if tag == "div" else ""
        body = token.meta.get("html") or escapeHtml(token.content)
        return f"<{tag}{self.renderAttrs(element)}>{body}</{tag}>{end}"

    return render


def render(md: MarkdownIt, tokens: Sequence[Token], env: dict | None = None) -> str:
    """HTML for a run of block tokens (a slide, or its notes)."""
    return md.renderer.render(tokens, md.options, env if env is not None else {})
