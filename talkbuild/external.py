"""External images: pictures the repository may not hold, credited from a manifest.

Some images cannot be generated and are not ours to commit (a photo under a
Creative Commons licence, a figure from a blog post). The Markdown names them by id,

    ![An io moth showing its eyespots](external:io-moth)

and a YAML manifest (front matter `external_images:`, relative to the Markdown file;
by default `external/images.yaml` beside it) records, for each id, the file expected
next to the manifest, its title, source, author and licence:

    images:
      - id: io-moth
        file: io-moth.jpg
        title: Automeris io (io moth)
        kind: Photo                  # optional: the credit's first word (default Image)
        author: Patrick Coin
        license: CC BY-SA 2.5
        license_url: https://creativecommons.org/licenses/by-sa/2.5/   # optional
        source: https://commons.wikimedia.org/w/index.php?curid=768361

An image whose file is present becomes a <figure> with the image (copied into the
deck by the media stage, like any other image) and a credit line. A missing file is
a warning (an error with --strict), and the slide shows a placeholder box with the
title, the credit and where to put the file, so a deck built from a fresh clone
still works. Unknown ids and manifest problems are errors at their file and line.

A paragraph that holds only external images becomes a <div class="external-figures">
(a <figure> cannot sit inside a <p>); in a paragraph with other text they render as
inline <span>s instead.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from . import paths
from .diagnostics import Diagnostic
from .markdown import inline_lines
from .output import attrs_html
from .slides import Deck, Slide, YamlProblem, display_path, load_yaml

SCHEME = "external:"  # ![alt](external:ID)
DEFAULT_MANIFEST = Path("external") / "images.yaml"  # beside the (first) Markdown file
REQUIRED_FIELDS = ("id", "file", "title", "author", "license", "source")
OPTIONAL_FIELDS = ("license_url", "kind")
ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
URL = re.compile(r"^https?://\S+$")
# Attributes of the Markdown image that are not carried over to the <img>.
OWN_ATTRIBUTES = ("src", "alt")


@dataclass(frozen=True)
class ExternalImage:
    id: str
    path: Path  # where the file is expected (next to the manifest)
    title: str
    author: str
    license: str
    source: str
    license_url: str = ""
    kind: str = "Image"

    def credit_html(self) -> str:
        """'Photo: Patrick Coin, CC BY-SA 2.5, source', the licence and source linked."""
        licence = escapeHtml(self.license)
        if self.license_url:
            licence = f'<a href="{escapeHtml(self.license_url)}">{licence}</a>'
        return (
            f"{escapeHtml(self.kind)}: {escapeHtml(self.author)}, {licence}, "
            f'<a href="{escapeHtml(self.source)}">source</a>'
        )


@dataclass
class Manifest:
    path: Path
    images: dict[str, ExternalImage]


# --- The manifest ------------------------------------------------------------------


def load_manifest(path: Path) -> tuple[Manifest | None, list[Diagnostic]]:
    """Read and check the manifest; every problem is reported at its line."""
    import yaml

    shown = display_path(path)
    try:
        text = paths.read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        return None, [Diagnostic(shown, None, "external image manifest not found")]
    except paths.PathProblem as problem:
        return None, [Diagnostic(shown, None, f"cannot read external image manifest: {problem}")]
    except (OSError, UnicodeDecodeError) as error:
        return None, [Diagnostic(shown, None, f"cannot read external image manifest: {error}")]
    try:
        root, _ = load_yaml(text, construct=False)
    except YamlProblem as problem:
        line = problem.line + 1 if problem.line is not None else None
        return None, [Diagnostic(shown, line, f"invalid YAML: {problem.describe(1)}")]

    errors: list[Diagnostic] = []

    def error(node, message: str) -> None:
        errors.append(
            Diagnostic(shown, node.start_mark.line + 1 if node is not None else 1, message)
        )

    entries = _mapping_value(root, "images")
    if entries is None or not isinstance(entries, yaml.SequenceNode):
        error(entries or root, "the manifest must be a mapping with an 'images:' list")
        return None, errors
    images: dict[str, ExternalImage] = {}
    for entry in entries.value:
        if not isinstance(entry, yaml.MappingNode):
            error(entry, "each image must be a mapping of id, file, title, author, license, source")
            continue
        fields: dict[str, str] = {}
        for key, value in entry.value:
            name = str(key.value)
            if name not in REQUIRED_FIELDS + OPTIONAL_FIELDS:
                error(
                    key,
                    f"unknown field '{name}' (known: "
                    f"{', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})",
                )
            elif not isinstance(value, yaml.ScalarNode) or not str(value.value).strip():
                error(value, f"'{name}' must be a non-empty string")
            else:
                fields[name] = str(value.value).strip()
        problems = len(errors)
        missing = [name for name in REQUIRED_FIELDS if name not in fields]
        if missing:
            which = f"image '{fields['id']}'" if "id" in fields else "image"
            error(entry, f"{which} is missing {', '.join(repr(m) for m in missing)}")
        if "id" in fields and not ID.match(fields["id"]):
            error(entry, f"id '{fields['id']}' must be lower-case letters, digits, - and _")
        elif fields.get("id") in images:
            error(entry, f"duplicate id '{fields['id']}'")
        file = Path(fields.get("file", "."))
        if file.is_absolute() or ".." in file.parts:
            error(entry, f"file '{file}' must be inside {display_path(path.parent)}/")
        else:
            try:
                paths.check(path.parent / file)
            except paths.PathProblem as problem:
                error(entry, f"file {str(file)!r}: {problem}")
        for name in ("source", "license_url"):
            if name in fields and not URL.match(fields[name]):
                error(entry, f"{name} '{fields[name]}' must be an http(s) URL")
        if len(errors) > problems:
            continue
        images[fields["id"]] = ExternalImage(
            id=fields["id"],
            path=path.parent / file,
            title=fields["title"],
            author=fields["author"],
            license=fields["license"],
            source=fields["source"],
            license_url=fields.get("license_url", ""),
            kind=fields.get("kind", "Image"),
        )
    return (None if errors else Manifest(path, images)), errors


def _mapping_value(node, key: str):
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if k.value == key), None)


# --- The slides --------------------------------------------------------------------


def resolve(deck: Deck, project: Path, strict: bool = False) -> list[Diagnostic]:
    """Replace every `external:` image of the deck by its figure or placeholder."""
    references = [
        (slide, inline)
        for slide in deck.slides
        for inline in slide.tokens + slide.notes
        if inline.type == "inline"
        and inline.children
        and any(_is_external(c) for c in inline.children)
    ]
    named = deck.meta.external_images
    if not references and named is None:
        return []
    manifest_path = named or deck.sources[0].parent / DEFAULT_MANIFEST
    manifest, diagnostics = None, []
    exists = paths.exists(manifest_path)
    if named is not None and not paths.exists(named, "file"):
        problem = "is not a regular file" if exists else "not found"
        diagnostics = [
            Diagnostic(
                display_path(deck.sources[0]),
                deck.meta.lines.get("external_images"),
                f"external image manifest '{display_path(manifest_path)}' {problem}",
            )
        ]
    elif exists:
        manifest, diagnostics = load_manifest(manifest_path)
    for slide, inline in references:
        diagnostics += _resolve_inline(
            slide, inline, manifest, manifest_path, project, strict, manifest_ok=not diagnostics
        )
    return diagnostics


def _is_external(token: Token) -> bool:
    return token.type == "image" and str(token.attrs.get("src", "")).startswith(SCHEME)


def _resolve_inline(
    slide: Slide,
    inline: Token,
    manifest: Manifest | None,
    manifest_path: Path,
    project: Path,
    strict: bool,
    manifest_ok: bool,
) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    children = inline.children
    alone = all(
        _is_external(c)
        or (c.type == "text" and not c.content.strip())
        or c.type in ("softbreak", "hardbreak")
        or (c.type == "html_inline" and not c.content)
        for c in children
    )
    first = inline.map[0] + 1 if inline.map else slide.line
    for i, (child, line) in enumerate(inline_lines(children, first)):
        if not _is_external(child):
            continue
        image_id = str(child.attrs["src"])[len(SCHEME) :]
        entry = manifest.images.get(image_id) if manifest else None
        if entry is None:
            if manifest is not None:
                diagnostics.append(
                    Diagnostic(
                        slide.path,
                        line,
                        f"unknown external image '{image_id}' (not in "
                        f"{display_path(manifest.path)})",
                    )
                )
            elif manifest_ok:  # no manifest at all; a broken one is reported already
                diagnostics.append(
                    Diagnostic(
                        slide.path,
                        line,
                        f"external image '{image_id}': no manifest "
                        f"({display_path(manifest_path)} not found; or name one "
                        "with 'external_images:' in the front matter)",
                    )
                )
            continue
        present = paths.exists(entry.path, "file")
        if not present:
            diagnostics.append(
                Diagnostic(
                    slide.path,
                    line,
                    f"external image '{image_id}' missing: {display_path(entry.path)}",
                    "error" if strict else "warning",
                )
            )
        html = _figure_html(child, entry, slide.source.parent, project, present, block=alone)
        children[i] = Token("html_inline", "", 0, content=html)
    if alone:  # a paragraph of figures only: a <div>, since <p> cannot hold a <figure>
        _paragraph_as_div(slide.tokens + slide.notes, inline)
    return diagnostics


def _paragraph_as_div(tokens: list[Token], inline: Token) -> None:
    index = next(i for i, t in enumerate(tokens) if t is inline)
    opening = tokens[index - 1] if index else None
    closing = tokens[index + 1] if index + 1 < len(tokens) else None
    if opening is None or closing is None or opening.type != "paragraph_open":
        return
    if opening.hidden:  # a tight list item's paragraph: keep the figures in the item
        return
    opening.tag = closing.tag = "div"
    classes = " ".join(filter(None, ("external-figures", opening.attrGet("class"))))
    opening.attrSet("class", classes)


def _figure_html(
    image: Token, entry: ExternalImage, base: Path, project: Path, present: bool, block: bool
) -> str:
    figure, caption, box = ("figure", "figcaption", "div") if block else ("span",) * 3
    # `<!-- .element: class="fragment" -->` after the image: the class is the figure's
    # (image and credit appear together), other attributes (style) the image's.
    classes = " ".join(filter(None, ("external-image", str(image.attrs.get("class", "")))))
    image.attrs.pop("class", None)
    alt = escapeHtml(
        "".join(c.content for c in image.children or []) or image.content or entry.title
    )
    credit = f'<{caption} class="external-credit">{entry.credit_html()}</{caption}>'
    if present:
        src = escapeHtml(Path(os.path.relpath(entry.path, base)).as_posix())
        extra = attrs_html({n: v for n, v in image.attrs.items() if n not in OWN_ATTRIBUTES})
        if "title" not in image.attrs:
            extra += f' title="{escapeHtml(entry.title)}"'
        return (
            f'<{figure} class="{escapeHtml(classes)}"><img src="{src}" alt="{alt}"{extra}>'
            f"{credit}</{figure}>"
        )
    folder = _shown_folder(entry.path.parent, project, base)
    style = image.attrs.get("style")  # a size given to the image applies to the box
    style = f' style="{escapeHtml(str(style))}"' if style else ""
    return (
        f'<{figure} class="{escapeHtml(classes)} external-missing">'
        f'<{box} class="external-placeholder" role="img" aria-label="{alt}"{style}>'
        f'<strong><a href="{escapeHtml(entry.source)}">{escapeHtml(entry.title)}</a>'
        f"</strong>"
        f"<{box if block else 'span'}>Image not included in the repository: put "
        f"<code>{escapeHtml(entry.path.name)}</code> in <code>{escapeHtml(folder)}</code>"
        f"</{box if block else 'span'}></{box}>{credit}</{figure}>"
    )


def _shown_folder(folder: Path, project: Path, base: Path) -> str:
    """The folder as the placeholder names it: relative to the project when inside it,
    else to the Markdown file, so the deck does not depend on where the build ran."""
    try:
        return folder.resolve().relative_to(project.resolve()).as_posix() + "/"
    except ValueError:
        return Path(os.path.relpath(folder.resolve(), base.resolve())).as_posix() + "/"
