"""A realistic, reproducible demo CRM landed as daily extracts, plus a bad sync on demand.

`generate_demo_crm` writes `<landing_root>/<table>/<YYYY-MM-DD>.parquet` for the four demo
tables (account, contact, donation, activitypointer), which `LocalSnapshotSource` then serves.
Day 0 is the initial full extract; every following day inserts, updates, deletes and brings
back records, keeping error-level relations intact among the rows of each day's extract. The
returned manifest counts, per table and day, what changed against the previous day, so tests
can assert the daily sync's classification exactly.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from recovery_platform.sources.connector import SourceExtract, validate_table_name
from recovery_platform.sources.declared_schema import declared_schemas
from recovery_platform.sources.demo_crm.churn import ChurnRates, DemoSimulation
from recovery_platform.sources.demo_crm.records import DayChanges
from recovery_platform.sources.demo_crm.tables import MODELS
from recovery_platform.sources.local_snapshot import LocalSnapshotSource, extract_path

DEMO_TABLES: tuple[str, ...] = tuple(MODELS)
"""The tables the demo CRM can generate, parents before dependents."""


@dataclass(frozen=True)
class DemoScale:
    """Initial record counts of the demo tables (day 0).

    `DemoScale.of(n)` (or passing an int) gives n accounts, 3n contacts, 5n donations and
    4n activities: roughly the shape of a fundraising CRM.
    """

    accounts: int
    contacts: int
    donations: int
    activities: int

    def __post_init__(self) -> None:
        for name in ("accounts", "contacts", "donations", "activities"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"invalid value for field '{name}': {value!r}; allowed: a whole number >= 0"
                )

    @classmethod
    def of(cls, accounts: int) -> DemoScale:
        """The usual proportions for `accounts` accounts."""
        return cls(accounts, 3 * accounts, 5 * accounts, 4 * accounts)

    def count(self, table: str) -> int:
        """Initial record count of a demo table."""
        return {
            "account": self.accounts,
            "contact": self.contacts,
            "donation": self.donations,
            "activitypointer": self.activities,
        }[table]


@dataclass(frozen=True)
class DayStats:
    """One table's extract for one day, compared by key with the previous day's.

    `inserted` keys were never seen before, `reappeared` keys were seen on an earlier day but
    not the previous one, `deleted` keys were in the previous extract but not this one, and
    `updated` keys are in both with different content. On day 0 every row counts as inserted.
    """

    table: str
    day: date
    rows: int
    inserted: int
    updated: int
    deleted: int
    reappeared: int


@dataclass(frozen=True)
class DemoManifest:
    """What `generate_demo_crm` wrote: every table's extracts, day by day."""

    landing_root: str
    seed: int
    scale: DemoScale
    days: tuple[date, ...]
    entries: tuple[DayStats, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables written, parents before dependents."""
        return tuple(dict.fromkeys(entry.table for entry in self.entries))

    def stats(self, table: str, day: date) -> DayStats:
        """The entry for `table` on `day`."""
        for entry in self.entries:
            if entry.table == table and entry.day == day:
                return entry
        raise KeyError(f"the manifest has no entry for table '{table}' on {day.isoformat()}")

    def for_table(self, table: str) -> list[DayStats]:
        """The entries of `table`, oldest first."""
        return [entry for entry in self.entries if entry.table == table]


def generate_demo_crm(
    landing_root: str | Path,
    *,
    start: date,
    days: int,
    scale: DemoScale | int,
    seed: int = 7,
    daily_churn: float = 0.01,
    tables: Sequence[str] | None = None,
) -> DemoManifest:
    """Write `days` daily extracts of the demo CRM, starting on `start`.

    Args:
        landing_root: Folder to land extracts in; existing extracts of the same days are replaced.
        start: The day of the initial full extract.
        days: How many daily extracts per table (at least 1).
        scale: Initial record counts, or a number of accounts (see `DemoScale.of`).
        seed: The same seed always gives the same extracts.
        daily_churn: Share of the previous day's rows inserted and updated each day; half that
            share is deleted and a tenth of it reappears (previously deleted keys come back).
        tables: Which demo tables to write (all by default). Tables they reference are still
            simulated, unwritten, so a table's content never depends on this choice.

    Returns:
        Per table and day, the row count and the keys inserted, updated, deleted, reappeared.
    """
    wanted = _wanted_tables(tables)
    if days < 1:
        raise ValueError(f"invalid value for field 'days': {days}; allowed: 1 or more")
    if seed < 0:
        raise ValueError(f"invalid value for field 'seed': {seed}; allowed: 0 or more")
    sizes = scale if isinstance(scale, DemoScale) else DemoScale.of(scale)
    simulated = [table for table in DEMO_TABLES if table in _with_parents(wanted)]
    simulation = DemoSimulation(
        simulated,
        {table: sizes.count(table) for table in simulated},
        seed,
        ChurnRates.from_daily_churn(daily_churn),
    )
    schemas = declared_schemas()
    entries: list[DayStats] = []
    calendar = tuple(start + timedelta(days=offset) for offset in range(days))
    for index, day in enumerate(calendar):
        changes = simulation.first_day(day) if index == 0 else simulation.next_day(index, day)
        for table in (table for table in simulated if table in wanted):
            data = _conform(table, simulation.extract(table), schemas[table])
            write_extract(landing_root, table, day, data)
            entries.append(_stats(table, day, changes[table]))
    return DemoManifest(str(landing_root), seed, sizes, calendar, tuple(entries))


@dataclass(frozen=True)
class BadSync:
    """A disaster extract written over a day: what it was made from and what it lost."""

    extract: SourceExtract
    base_day: date
    base_rows: int
    dropped: int


def write_bad_sync_extract(
    landing_root: str | Path,
    table: str,
    day: date,
    *,
    drop_fraction: float,
    seed: int = 7,
) -> BadSync:
    """Write a bad-sync extract of `table` for `day`: a good extract missing many rows.

    The rows come from the extract already landed for `day`, or else the latest one before
    it; `drop_fraction` of them (1.0 gives an empty extract) are left out, chosen at random.

    Raises:
        ExtractNotFoundError: If no extract of `table` exists on or before `day`.
    """
    if not 0.0 <= drop_fraction <= 1.0:
        raise ValueError(
            f"invalid value for field 'drop_fraction': {drop_fraction}; allowed: 0 to 1"
        )
    source = LocalSnapshotSource(landing_root)
    earlier = [d for d in source.available_dates(table) if d <= day]
    base = source.extract(table, earlier[-1] if earlier else day)
    data = pq.read_table(base.uri)
    dropped = round(data.num_rows * drop_fraction)
    rng = np.random.default_rng([seed, data.num_rows, day.toordinal()])
    keep = np.sort(rng.permutation(data.num_rows)[dropped:])
    path = write_extract(landing_root, table, day, data.take(pa.array(keep, type=pa.int64())))
    extract = SourceExtract(table, day, str(path.resolve()), data.num_rows - dropped)
    return BadSync(extract, base.extract_date, base.rows, dropped)


def write_extract(landing_root: str | Path, table: str, day: date, data: pa.Table) -> Path:
    """Land `data` as the extract of `table` for `day`, atomically (never half-written)."""
    path = extract_path(landing_root, table, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(data, partial)
    os.replace(partial, path)
    return path


def _wanted_tables(tables: Sequence[str] | None) -> set[str]:
    if tables is None:
        return set(DEMO_TABLES)
    if isinstance(tables, str):
        raise ValueError("invalid value for field 'tables': give a list of table names")
    return {validate_table_name(table, DEMO_TABLES) for table in tables}


def _with_parents(tables: set[str]) -> set[str]:
    needed = set(tables)
    for table in tables:
        needed |= _with_parents({relation.parent for relation in MODELS[table].relations})
    return needed


def _conform(
    table: str, columns: dict[str, pa.Array | pa.ChunkedArray], schema: pa.Schema
) -> pa.Table:
    """The generated columns in tables.yaml's order and types, or an error naming the gap."""
    missing = [name for name in schema.names if name not in columns]
    if missing:
        raise ValueError(
            f"tables.yaml declares columns {missing} of table '{table}' that the demo CRM "
            f"generator does not produce; generated columns: {sorted(columns)}"
        )
    return pa.table({name: columns[name] for name in schema.names}).cast(schema)


def _stats(table: str, day: date, changes: DayChanges) -> DayStats:
    return DayStats(
        table=table,
        day=day,
        rows=changes.rows,
        inserted=changes.inserted,
        updated=changes.updated,
        deleted=changes.deleted,
        reappeared=changes.reappeared,
    )
