"""How many bytes a table's folder holds and a vacuum frees, for local lakehouses.

The engine seam reports which files a vacuum removes but not their sizes, and no engine method
sizes a table's folder. Both are read from the file system here, before the files go; on an
object store (no local path) they are unknown (None) and the summary says so rather than
reporting zero.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote


def local_path(uri: str) -> Path | None:
    """The folder of a table on the local file system, or None for an object store."""
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    return None if "://" in uri else Path(uri)


def folder_bytes(uri: str) -> int | None:
    """Bytes of every file under the table's folder (data, change data and log)."""
    root = local_path(uri)
    if root is None:
        return None
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except FileNotFoundError:  # removed meanwhile (a concurrent vacuum)
                continue
    return total


def file_sizes(uri: str, files: Iterable[str]) -> dict[str, int] | None:
    """Bytes of each of `files` (relative to the table, URL-encoded as in the log) that exists.

    Read before a vacuum deletes them; a file already gone counts 0.
    """
    root = local_path(uri)
    if root is None:
        return None
    sizes = {}
    for name in files:
        path = Path(unquote(name))
        path = path if path.is_absolute() else root / path
        sizes[name] = path.stat().st_size if path.is_file() else 0
    return sizes
