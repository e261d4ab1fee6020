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
- `placeholder`: `{{ script.key:spec }}` in text (see `results.py`).
- `slide_comments` (a core rule, after inline parsing): `<!-- .element: ... -->`
  and `<!-- .slide: ... -->` comments as reveal.js's Markdown plugin applies
  them, TODO/FIXME comments reported as warnings, then every comment removed.

Splitting the token stream into slides is `slides.py`'s job; this module only
marks where the breaks are. Render rules turn fences into reveal.js code blocks
(`data-line-numbers`, `data-ln-start-from`) and math into elements holding the
raw TeX, which the deck typesets with KaTeX in the browser.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


# reveal.js's Markdown plugin: `[17: 1|3-5]` in a code fence's info string.
LINE_NUMBERS = re.compile(r"\[\s*((\d*):)?\s*([\s\d,|-]*)\]")
# `{{ script.key.subkey:format-spec }}`; the name is the results file, then keys.
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*(?::([^{}\n]*?))?\s*\}\}")
COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
# reveal.js's Markdown plugin: the comment body patterns and the attribute syntax.
ELEMENT_ATTRIBUTES = re.compile(r"\.element\s*?(.+?)$", re.MULTILINE)
SLIDE_ATTRIBUTES = re.compile(r"\.slide:\s*?(\S.+?)$", re.MULTILINE)
ATTRIBUTE = re.compile(r'([^"= ]+?)="([^"]+?)"|(data-[^"= ]+?)(?=[" ])')
TODO = re.compile(r"\b(TODO|FIXME)\b")
TAG = re.compile(
    r"<(/?)([A-Za-z][\w:-]*)((?:\s+[^\s\"'>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'"
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
    md.inline.ruler.before("escape", "placeholder", _placeholder)
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


# --- Inline rule -------------------------------------------------------------------


def _placeholder(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("{{", state.pos):
        return False
    match = PLACEHOLDER.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        token = state.push("placeholder", "", 0)
        token.content = match.group(0)
        token.meta = {"name": match.group(1), "spec": match.group(2)}
    state.pos = match.end()
    return True


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


def _attributes(text: str) -> dict[str, str]:
    attrs = {}
    for match in ATTRIBUTE.finditer(text + " "):
        if match.group(2) is not None:
            attrs[match.group(1)] = match.group(2)
        else:
            attrs[match.group(3)] = ""
    return attrs


def _comment_attributes(body: str) -> tuple[str, dict[str, str]] | None:
    """("element" | "slide", attributes) for a reveal.js attribute comment, else None."""
    match = ELEMENT_ATTRIBUTES.search(body)
    if match:
        return "element", _attributes(match.group(1))
    match = SLIDE_ATTRIBUTES.search(body)
    if match:
        return "slide", _attributes(match.group(1))
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
        rendered = f' {name}="{value}"' if value else f" {name}"
        existing = re.compile(
            rf"\s+{re.escape(name)}(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?(?=\s|$)",
            re.IGNORECASE,
        )
        if existing.search(tag_attrs):
            tag_attrs = existing.sub(lambda _, r=rendered: r, tag_attrs, count=1)
        else:
            tag_attrs += rendered
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


def _masked(html: str) -> str:
    """The HTML with every comment blanked out (same length), so tags in comments
    are not mistaken for elements."""
    return COMMENT.sub(lambda m: " " * len(m.group(0)), html)


def _block_comments(tokens: list[Token], index: int, env: dict, lines: list[str]) -> None:
    token = tokens[index]
    line0 = token.map[0] if token.map else 0
    for match in COMMENT.finditer(token.content):
        _warn_todo(match.group(1), line0 + 1 + token.content.count("\n", 0, match.start()), env)
    # The lines of the attribute comments, in the order the loop below takes them
    # (first to last), counted before _cut removes lines.
    attribute_lines = iter(
        [
            line0 + 1 + token.content.count("\n", 0, m.start())
            for m in COMMENT.finditer(token.content)
            if _comment_attributes(m.group(1))
        ]
    )
    while True:
        match = next(
            (m for m in COMMENT.finditer(token.content) if _comment_attributes(m.group(1))), None
        )
        if match is None:
            break
        kind, attrs = _comment_attributes(match.group(1))
        line = next(attribute_lines)
        before = _masked(token.content[: match.start()])  # before _cut can shorten the text
        token.content = _cut(token.content, match.start(), match.end())
        if kind == "slide":
            _set_slide_attrs(token, attrs)
            continue
        elements = _Elements()
        elements.html(token, before)
        target = elements.last or _previous_block(tokens, index, lines)
        if target is None:
            _set_slide_attrs(token, attrs)
        elif target is _NOTES_START:
            _warn_nothing_before_in_notes(line, env)
        else:
            _set_attrs(target, attrs)
    while (match := COMMENT.search(token.content)) is not None:
        token.content = _cut(token.content, match.start(), match.end())
    if not token.content.strip():
        token.content = ""


def _cut(html: str, start: int, end: int) -> str:
    """The HTML without html[start:end]; a line left empty goes too."""
    line_start = html.rfind("\n", 0, start) + 1
    line_end = html.find("\n", end)
    line_end = len(html) if line_end < 0 else line_end
    if not html[line_start:start].strip() and not html[end:line_end].strip():
        return html[:line_start] + html[line_end + 1 :]
    return html[:start] + html[end:]


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
            elements.html(token, _masked(token.content))
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
        child.meta["newlines"] = child.content.count("\n")  # the source's, for inline_lines
        child.content = ""
        found = _comment_attributes(body)
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


def fence_info(info: str) -> tuple[str, dict[str, str]]:
    """(language, code element attributes) from a fence's info string, as reveal.js's
    Markdown plugin reads it: `python [17: 1|3]` -> ("python", {"data-line-numbers":
    "1|3", "data-ln-start-from": "17"}). Words with `=` (e.g. include=) are options."""
    attrs: dict[str, str] = {}
    match = LINE_NUMBERS.search(info)
    if match:
        if match.group(2):
            attrs["data-ln-start-from"] = match.group(2).strip()
        attrs["data-line-numbers"] = match.group(3).strip()
        info = info[: match.start()] + " " + info[match.end() :]
    words = [w for w in info.split() if "=" not in w]
    return (words[0] if words else ""), attrs


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
    def render(self, tokens: Sequence[Token], idx: int, options, env) -> str:
        token = tokens[idx]
        attrs = dict(token.attrs)
        attrs["class"] = " ".join(filter(None, (css_class, attrs.get("class"))))
        element = Token(tag, tag, 0, attrs=attrs)
        end = "\n" if tag == "div" else ""
        return f"<{tag}{self.renderAttrs(element)}>{escapeHtml(token.content)}</{tag}>{end}"

    return render


def render(md: MarkdownIt, tokens: Sequence[Token], env: dict | None = None) -> str:
    """HTML for a run of block tokens (a slide, or its notes)."""
    return md.renderer.render(tokens, md.options, env if env is not None else {})
