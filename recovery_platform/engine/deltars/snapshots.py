"""Loaded table versions the delta-rs engine reads from, and the fresh loads it writes through.

One operation asks several questions of the same versions (state, schema, counts, files), and
every load replays the log. A version, once loaded, is a fixed snapshot and is reused; a local
table's latest version is reused while its commit file is unchanged and no later commit exists.
A table to write through is always a fresh load of the caller's own, so a write never moves a
snapshot that readers share.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from deltalake import DeltaTable

from recovery_platform.engine.deltars.table import commit_marker, local_log_dir, open_table
from recovery_platform.engine.version_memo import LatestSnapshots, LoadedVersions

__all__ = ["TableSnapshots"]

_Marker = tuple[int, tuple[int, int, int]]
"""A kept latest version: its number and its commit file's identity (`commit_marker`)."""


class TableSnapshots:
    """The engine's loaded versions: read-only snapshots, and fresh loads to write through.

    Args:
        storage_options: object-store options passed to delta-rs; None for local folders.
    """

    def __init__(self, storage_options: Mapping[str, str] | None) -> None:
        self._options = storage_options
        self._loaded: LoadedVersions[DeltaTable] = LoadedVersions()
        self._latest_kept: LatestSnapshots[_Marker, DeltaTable] = LatestSnapshots()

    def to_read(self, uri: str, version: int | None = None) -> DeltaTable:
        """A version for reading: loaded once and then reused; the latest while it is latest.

        Callers never move a table object to another version or write through one returned
        here (writers use `to_write`), so a loaded version stays what it was.
        """
        if version is None:
            return self._latest(uri)

        def load() -> tuple[str, DeltaTable]:
            dt = open_table(uri, self._options, version)
            return str(dt.metadata().id), dt

        return self._loaded.get_or_load(uri, version, load)

    def _latest(self, uri: str) -> DeltaTable:
        """The latest version for reading: a local table's kept snapshot while still latest."""
        log_dir = local_log_dir(uri)
        if log_dir is not None:
            kept = self._latest_kept.get(uri, lambda marker: _still_latest(log_dir, marker))
            if kept is not None:
                return kept
        latest = self._fresh_latest(uri, writing=False)
        at = latest.version()
        marker = commit_marker(log_dir, at) if log_dir is not None else None
        if marker is not None:
            table_id = str(latest.metadata().id)
            snapshot = self._loaded.get_or_load(uri, at, lambda: (table_id, latest))
            self._latest_kept.keep(uri, (at, marker), snapshot)
            return snapshot
        return latest

    def to_write(self, uri: str) -> DeltaTable:
        """A fresh load of the latest version, of the caller's own, to write through.

        Its protocol must be one this engine writes correctly (`open_table(writing=True)`).
        """
        return self._fresh_latest(uri, writing=True)

    def _fresh_latest(self, uri: str, *, writing: bool) -> DeltaTable:
        latest = open_table(uri, self._options, writing=writing)
        self._loaded.saw_latest(uri, str(latest.metadata().id))
        return latest


def _still_latest(log_dir: Path, marker: _Marker) -> bool:
    """The kept version's commit file is unchanged and no later commit exists."""
    version, commit = marker
    return commit_marker(log_dir, version) == commit and not (
        log_dir / f"{version + 1:020d}.json"
    ).exists()
