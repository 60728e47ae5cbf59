"""Wall time and peak memory of one benchmark phase, child processes (a JVM) included."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil
import pyarrow as pa


@dataclass
class PhaseResult:
    """One measured phase."""

    name: str
    seconds: float = 0.0
    rows: int = 0
    peak_rss_mb: float = 0.0
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        """Throughput; 0 when the phase handles no rows."""
        return self.rows / self.seconds if self.seconds and self.rows else 0.0


def _tree_rss(process: psutil.Process) -> int:
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


@contextmanager
def measure(name: str, rows: int = 0, interval: float = 0.02) -> Iterator[PhaseResult]:
    """Time a block and sample the RSS of this process and its children while it runs.

    Memory that earlier phases freed but the allocators kept is returned first, so a phase's
    peak reflects its own work, as it would in the separate process Dagster gives each run.
    """
    gc.collect()
    pa.default_memory_pool().release_unused()
    result = PhaseResult(name=name, rows=rows)
    process = psutil.Process()
    peak = [_tree_rss(process)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(process))
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        result.peak_rss_mb = round(max(peak[0], _tree_rss(process)) / 2**20, 1)
