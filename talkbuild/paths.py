"""Files the deck names: checked before they are read or copied, never trusted.

A deck may be someone else's Markdown, so every path it names (an image, a slide
background, an include, `results:`, `external_images:`, a manifest entry) is
looked at before use:

- a path the file system rejects (a NUL byte, a name too long) is a message, not
  an exception;
- only regular files are read, and only up to a size limit, so that a FIFO, a
  device or a directory neither hangs nor floods the build;
- a file outside the deck's project folder is reported (`outside`), so that
  `![x](../../../etc/passwd)` cannot publish a file the presenter never meant to;
- only files whose content is an image, video or audio are copied into the deck
  (`media_kind`), whatever their names say.

The project folder is the nearest folder, from the deck upwards, that holds a
`.git`; without one, the deck's own folder. `--allow-outside DIR` adds folders.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

# Bytes a file may have before it is refused: a slide includes code, not data dumps.
MAX_TEXT_BYTES = 4 * 1024 * 1024
# How much of a file media_kind reads to tell what it is.
SNIFF_BYTES = 8192
# Text that may come before an SVG's <svg element: a byte order mark, the XML
# declaration, comments, a doctype and white space.
SVG_PROLOGUE_BYTES = SNIFF_BYTES


# How a file outside the project is reported (`outside`).
OUTSIDE = (
    "outside the deck's project folder: its content would be published with the deck "
    "(build with --allow-outside DIR to allow a folder)"
)


class PathProblem(Exception):
    """A path that cannot be used; the message says why, without the path."""


def check(path: Path) -> None:
    """Raise PathProblem when the file system cannot even look the path up."""
    text = str(path)
    if "\0" in text:
        raise PathProblem("the path contains a NUL character")
    try:
        os.stat(path)
    except ValueError as error:  # a character the file system encoding cannot hold
        raise PathProblem(f"the path is not usable: {error}") from None
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            raise PathProblem("the path is too long for the file system") from None


def kind(path: Path) -> str:
    """'file', 'folder', 'missing' or 'other' (a FIFO, a device, a socket); raises PathProblem."""
    check(path)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "missing"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return "other"


def exists(path: Path, what: str | None = None) -> bool:
    """Whether something (of that kind: 'file', 'folder') is at the path; never raises."""
    try:
        found = kind(path)
    except PathProblem:
        return False
    return found != "missing" if what is None else found == what


def resolve(path: Path) -> Path:
    """The absolute path with symbolic links followed; raises PathProblem."""
    check(path)
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as error:  # a symlink loop, ...
        raise PathProblem(f"the path cannot be resolved: {error}") from None


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """A regular file's bytes, at most `limit` (MAX_TEXT_BYTES) of them; raises
    PathProblem or OSError."""
    limit = MAX_TEXT_BYTES if limit is None else limit
    found = kind(path)
    if found == "missing":
        raise FileNotFoundError(errno.ENOENT, "not found", str(path))
    if found != "file":
        what = "a folder" if found == "folder" else "not a regular file (a device or a pipe?)"
        raise PathProblem(f"it is {what}")
    # O_NONBLOCK: if a FIFO took the file's place since the check, opening it
    # returns at once instead of waiting for a writer.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise PathProblem("it is not a regular file")
        data = file.read(limit + 1)
    if len(data) > limit:
        mib, rest = divmod(limit, 1024 * 1024)
        size = f"{mib} MiB" if mib and not rest else f"{limit} bytes"
        raise PathProblem(f"it is larger than the limit of {size}")
    return data


def project_root(source: Path) -> Path:
    """The deck's project folder: the nearest folder upwards that is a repository (.git)
    or holds the deck's figure scripts (scripts/), else the deck's own folder."""
    start = resolve(source)
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists() or (candidate / "scripts").is_dir():
            return candidate
    return folder


def outside(path: Path, roots: list[Path]) -> bool:
    """Whether a resolved path lies outside every one of the folders."""
    return not any(path == root or root in path.parents for root in roots)


def media_kind(path: Path) -> str | None:
    """'image/png', 'video/mp4', 'image/svg+xml'... from the file's first bytes, or
    None when the content is not an image, a video or audio."""
    try:
        with open(path, "rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError:
        return None
    import filetype  # 4 ms: only decks with local media pay for it

    found = filetype.guess(head)
    if found is not None and found.mime.split("/")[0] in ("image", "video", "audio"):
        return found.mime
    return "image/svg+xml" if _is_svg(head) else None


def _is_svg(head: bytes) -> bool:
    """An SVG is XML whose root element is <svg>: only a prologue may come before it."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    while text.startswith(("<?", "<!--", "<!")):
        end = {"<?": "?>", "<!--": "-->"}.get(text[:4] if text.startswith("<!--") else text[:2])
        close = text.find(end or ">")
        if close < 0:
            return False
        text = text[close + len(end or ">") :].lstrip(" \t\r\n")
    return text.startswith("<svg") and (len(text) == 4 or not text[4].isalnum())
