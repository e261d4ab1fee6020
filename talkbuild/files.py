"""How a path is shown in a message, and how a file is written so nobody sees half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def display_path(path: Path | str) -> str:
    """A path as messages show it: relative to the working directory."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write `data` beside `path`, then rename it over `path`: a reader (or a killed
    build) sees the old file or the new one, never half of one."""
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.new-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
