"""Wall time and peak memory of one benchmark phase, child processes (a JVM) included."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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


def _tree(process: psutil.Process) -> list[psutil.Process]:
    return [process, *process.children(recursive=True)]


def _reset_peak(process: psutil.Process) -> bool:
    """Restart the kernel's record of `process`'s peak RSS (Linux `clear_refs`, value 5)."""
    try:
        Path(f"/proc/{process.pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss(process: psutil.Process) -> int | None:
    """The kernel's peak RSS of `process` since its last reset (`VmHWM`), in bytes."""
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


@contextmanager
def measure(name: str, rows: int = 0, interval: float = 0.02) -> Iterator[PhaseResult]:
    """Time a block and record the peak RSS of this process and its children while it runs.

    On Linux the kernel keeps each process's peak RSS (`VmHWM`), reset at the start of the
    phase: exact, and free while the phase runs. The phase's peak is the sum of the peaks of
    the processes alive at its end (a JVM included), an upper bound of the tree's peak.
    Elsewhere a thread samples the tree every `interval` seconds; that costs the measured work
    CPU time and the GIL (a sample takes about 2 ms), so it is only the fallback.

    Memory that earlier phases freed but the allocators kept is returned first, so a phase's
    peak reflects its own work, as it would in the separate process Dagster gives each run.
    """
    gc.collect()
    pa.default_memory_pool().release_unused()
    result = PhaseResult(name=name, rows=rows)
    process = psutil.Process()
    exact = all([_reset_peak(p) for p in _tree(process)])
    peak = [_tree_rss(process)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(process))
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    if not exact:
        sampler.start()
    started = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - started
        if exact:
            peaks = [_peak_rss(p) for p in _tree(process)]
            peak[0] = max(peak[0], sum(p or 0 for p in peaks))
        else:
            stop.set()
            sampler.join()
        result.peak_rss_mb = round(max(peak[0], _tree_rss(process)) / 2**20, 1)
