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
from typing import TypeVar

T = TypeVar("T")

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

    def known(self, uri: str, table_id: str, version: int, question: Hashable) -> bool:
        """Whether the answer is remembered (it may still be evicted before it is asked for)."""
        with self._lock:
            return (uri, table_id, version, question) in self._answers

    def __len__(self) -> int:
        return len(self._answers)
