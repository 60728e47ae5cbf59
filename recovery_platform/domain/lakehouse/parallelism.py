"""Working on several tables at once: the nightly sync and a rollback touch tens of tables.

Tables are independent (each has its own lease, files and log), and the delta-rs engine spends
its time in Rust and Arrow code that releases the GIL, so a few threads overlap one table's
merge with another's scan. Engines declare whether their calls may overlap
(`EngineCapabilities.parallel_tables`); results always come back in table order, so audit rows,
outcomes and reports read the same as a serial run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.table_config import PlatformConfig
from recovery_platform.engine import StorageEngine

T = TypeVar("T")

TABLE_WORKERS_ENV = "RECOVERY_TABLE_WORKERS"
MAX_DEFAULT_WORKERS = 4


def table_workers() -> int:
    """`RECOVERY_TABLE_WORKERS`, else the machine's cores (at most 4): threads per operation."""
    raw = os.environ.get(TABLE_WORKERS_ENV)
    if raw is None or raw.strip() == "":
        return max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))
    try:
        workers = int(raw)
    except ValueError:
        workers = 0
    if workers < 1:
        raise InvalidInputError(TABLE_WORKERS_ENV, f"{raw!r} is not a worker count",
                                ["an integer of at least 1"])
    return workers


def dependency_levels(config: PlatformConfig, tables: Sequence[str]) -> list[list[str]]:
    """`tables` in waves: each table after every table it references (within `tables`).

    A child's referential check reads the versions its parents were pinned at, so during a sync
    a parent must be finished before its children are validated; tables of one wave are
    independent. Order within a wave follows `tables`; a reference cycle (Dataverse has them:
    account.primarycontactid and contact.parentcustomerid) ends up in one last wave, in
    `tables` order, rather than blocking.
    """
    remaining = list(dict.fromkeys(tables))
    done: set[str] = set()
    levels: list[list[str]] = []
    while remaining:
        ready = [
            table for table in remaining
            if all(rel.references in done or rel.references not in remaining
                   or rel.references == table for rel in config.parents_of(table))
        ]
        if not ready:
            ready = remaining
        levels.append(ready)
        done.update(ready)
        remaining = [table for table in remaining if table not in done]
    return levels


def map_tables(
    engine: StorageEngine, tables: Sequence[str], work: Callable[[str], T]
) -> Iterator[T]:
    """`work(table)` for every table, yielded in table order as soon as each is ready."""
    workers = min(table_workers(), len(tables)) if engine.capabilities.parallel_tables else 1
    if workers <= 1:
        for table in tables:
            yield work(table)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="table") as pool:
        yield from pool.map(work, tables)
