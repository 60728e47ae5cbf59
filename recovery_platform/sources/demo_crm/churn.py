"""The demo CRM over time: an initial population, then one day of churn after another.

Each (table, day) draws from its own random stream seeded by (seed, table, day), so a table's
history is the same whichever other tables are generated alongside it.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from recovery_platform.sources.demo_crm.records import (
    DayChanges,
    Records,
    Snapshot,
    compare,
    draw_present,
    sample,
)
from recovery_platform.sources.demo_crm.tables import MODELS, TableModel
from recovery_platform.sources.demo_crm.values import (
    MICROS_PER_DAY,
    day_start_micros,
    guid_strings,
    timestamps,
)

HISTORY_DAYS = 5 * 365
"""Initial records were created at some point in the five years before the first day."""


@dataclass(frozen=True)
class ChurnRates:
    """Shares of the previous day's rows that change on each following day."""

    inserted: float
    updated: float
    deleted: float
    reappeared: float

    @classmethod
    def from_daily_churn(cls, churn: float) -> ChurnRates:
        """`churn` inserted and updated, half of it deleted, a tenth of it reappearing."""
        if not 0.0 <= churn <= 1.0:
            raise ValueError(f"invalid value for field 'daily_churn': {churn}; allowed: 0 to 1")
        return cls(inserted=churn, updated=churn, deleted=churn / 2, reappeared=churn / 10)


def _table_code(table: str) -> int:
    return zlib.crc32(table.encode("utf-8"))


class DemoSimulation:
    """The integer state of the demo tables, advanced one day at a time.

    Args:
        tables: Table names in `MODELS`, parents before dependents (parents must be included).
        counts: Initial record count per table.
        seed: Makes the whole history reproducible.
        rates: Daily churn.
    """

    def __init__(
        self, tables: Sequence[str], counts: Mapping[str, int], seed: int, rates: ChurnRates
    ) -> None:
        self.tables = list(tables)
        self.counts = dict(counts)
        self.seed = seed
        self.rates = rates
        self.records = {table: Records.empty() for table in self.tables}
        self._salts = {
            table: (seed * 0x9E3779B1 + _table_code(table)) & 0xFFFFFFFFFFFFFFFF for table in MODELS
        }

    def first_day(self, day: date) -> dict[str, DayChanges]:
        """Create the initial population as it stands in the first full extract."""
        changes = {}
        for table in self.tables:
            rng = self._rng(table, 0)
            records = self.records[table]
            before = Snapshot.of(records)
            count = self.counts[table]
            start = day_start_micros(day)
            created = start - rng.integers(1, HISTORY_DAYS * MICROS_PER_DAY, count)
            numbers = records.add(created, MODELS[table].new(rng, count, self.records))
            records.modified[numbers] = created + rng.integers(0, start - created)
            changes[table] = compare(before, records)
        return changes

    def next_day(self, index: int, day: date) -> dict[str, DayChanges]:
        """Apply one day of churn to every table, parents first."""
        return {table: self._churn(table, index, day) for table in self.tables}

    def extract(self, table: str) -> dict[str, pa.Array | pa.ChunkedArray]:
        """The current day's extract of `table` as columns, keyed by column name."""
        model = MODELS[table]
        records = self.records[table]
        numbers = records.present_numbers()
        columns: dict[str, pa.Array | pa.ChunkedArray] = {model.key: self._keys(table, numbers)}
        columns.update(model.render(records, numbers, self._keys))
        columns["createdon"] = timestamps(records.created[numbers])
        columns["modifiedon"] = timestamps(records.modified[numbers])
        return columns

    def _churn(self, table: str, index: int, day: date) -> DayChanges:
        model = MODELS[table]
        rng = self._rng(table, index)
        records = self.records[table]
        before = Snapshot.of(records)
        active = records.present_numbers()
        start = day_start_micros(day)

        deleted = sample(rng, active, round(len(active) * self.rates.deleted))
        records.present[deleted] = False
        updated = sample(rng, records.present_numbers(), round(len(active) * self.rates.updated))
        model.change(rng, records, updated)
        records.touch(updated, start, rng)
        gone = np.flatnonzero(~before.present)
        reappeared = sample(rng, gone, round(len(active) * self.rates.reappeared))
        records.present[reappeared] = True
        inserted = round(len(active) * self.rates.inserted)
        created = start + rng.integers(0, MICROS_PER_DAY, inserted)
        records.add(created, model.new(rng, inserted, self.records))

        back = np.zeros(len(records), dtype=bool)
        back[reappeared] = True
        self._keep_references(model, records, back, start, rng)
        return compare(before, records)

    def _keep_references(
        self,
        model: TableModel,
        records: Records,
        back: np.ndarray,
        start: int,
        rng: np.random.Generator,
    ) -> None:
        """Make every present row reference a present parent, as the CRM itself would."""
        for relation in model.relations:
            parent = self.records[relation.parent]
            ref = records.attrs[relation.column]
            broken = records.present & (ref >= 0)
            broken[broken] = ~parent.present[ref[broken]]
            if relation.cascade:
                records.present[broken & ~back] = False
                fix = np.flatnonzero(broken & back)
                ref[fix] = draw_present(rng, parent, len(fix))
            else:
                fix = np.flatnonzero(broken)
                ref[fix] = -1
            records.touch(fix, start, rng)

    def _keys(
        self, table: str, numbers: np.ndarray, valid: np.ndarray | None = None
    ) -> pa.ChunkedArray:
        return guid_strings(numbers, self._salts[table], valid)

    def _rng(self, table: str, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, _table_code(table), index])
