"""Results computed over one immutable table version, remembered for the life of an engine.

A Delta version never changes once committed, and a table recreated at the same location gets a
new table id, so (location, table id, version) names fixed content. A daily sync counts a table
before, during validation and when pinning it; a rollback fingerprints the restored version for
its proof and again for the PostRollback checkpoint. Remembering those answers removes repeated
scans without ever serving a stale one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
S = TypeVar("S")
M = TypeVar("M")

DEFAULT_CAPACITY = 4096


class VersionMemo:
    """A bounded, thread-safe map from (uri, table id, version, question) to its answer."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._answers: OrderedDict[tuple[Hashable, ...], object] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(
        self, uri: str, table_id: str, version: int, question: Hashable, compute: Callable[[], T]
    ) -> T:
        """The remembered answer, or `compute()`'s, remembered (computed outside the lock)."""
        key = (uri, table_id, version, question)
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]  # type: ignore[return-value]
        answer = compute()
        with self._lock:
            self._answers[key] = answer
            while len(self._answers) > self._capacity:
                self._answers.popitem(last=False)
        return answer

    def recall(self, uri: str, table_id: str, version: int, question: Hashable) -> object | None:
        """The remembered answer, or None when there is none (answers are never None)."""
        with self._lock:
            return self._answers.get((uri, table_id, version, question))

    def __len__(self) -> int:
        return len(self._answers)


class LoadedVersions(Generic[S]):
    """Loaded table versions kept for reuse: a loaded, committed version is a fixed snapshot.

    One operation asks several questions of the same version (its counts, its schema, its
    files, its rows), and loading a version replays its log each time. Entries are keyed by
    (uri, version) and carry the table id; `saw_latest` drops a location's entries when its
    latest version shows another table id (the table was recreated there).
    """

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._loaded: OrderedDict[tuple[str, int], tuple[str, S]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, uri: str, version: int, load: Callable[[], tuple[str, S]]) -> S:
        """The loaded version, or the snapshot `load()` returns with its table id, kept."""
        key = (uri, version)
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key][1]
        table_id, snapshot = load()
        with self._lock:
            self._loaded[key] = (table_id, snapshot)
            while len(self._loaded) > self._capacity:
                self._loaded.popitem(last=False)
        return snapshot

    def saw_latest(self, uri: str, table_id: str) -> None:
        """Forget `uri`'s versions of any other table id."""
        with self._lock:
            stale = [k for k, (tid, _) in self._loaded.items() if k[0] == uri and tid != table_id]
            for key in stale:
                del self._loaded[key]


class LatestSnapshots(Generic[M, S]):
    """The latest loaded version of each local table, reused while it is still the latest.

    Loading the latest version lists and replays the log (about 5-10 ms for a bronze table),
    and one operation asks for a table's latest version several times (its state, properties,
    schema, counts). A local table's latest version is still the latest while its commit file
    is unchanged and the next commit file does not exist: two `stat` calls. Snapshots handed
    out here are only read, never written through, so a kept one never moves.
    """

    def __init__(self) -> None:
        self._kept: dict[str, tuple[M, S]] = {}
        self._lock = threading.Lock()

    def get(self, uri: str, still_latest: Callable[[M], bool]) -> S | None:
        """The kept snapshot of `uri` if `still_latest(its marker)`, else None."""
        with self._lock:
            kept = self._kept.get(uri)
        if kept is None or not still_latest(kept[0]):
            return None
        return kept[1]

    def keep(self, uri: str, marker: M, snapshot: S) -> None:
        """Keep `snapshot` as `uri`'s latest, identified by `marker`."""
        with self._lock:
            self._kept[uri] = (marker, snapshot)
