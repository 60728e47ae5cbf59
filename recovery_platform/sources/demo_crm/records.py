"""Integer state of every demo CRM record ever created, and one day of churn applied to it.

Records are numbered in creation order; a record's number never changes, so its GUID (derived
from the number) is the same on every day it appears. All state is numpy arrays, so a day of
churn on hundreds of thousands of records is a handful of vectorised operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recovery_platform.sources.demo_crm.values import MICROS_PER_DAY


@dataclass
class Records:
    """Every record of one table created so far.

    Attributes:
        present: Whether the record is in the current day's extract.
        created: `createdon` in microseconds since the epoch.
        modified: `modifiedon` in microseconds since the epoch; bumped on every content change.
        attrs: Integer codes the table's columns are rendered from; foreign keys are record
            numbers of the referenced table, -1 for null.
    """

    present: np.ndarray
    created: np.ndarray
    modified: np.ndarray
    attrs: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.present)

    @classmethod
    def empty(cls) -> Records:
        """No records yet."""
        none = np.empty(0, dtype=np.int64)
        return cls(np.empty(0, dtype=bool), none, none.copy())

    def add(self, created: np.ndarray, attrs: dict[str, np.ndarray]) -> np.ndarray:
        """Append new, present records (modified = created); returns their numbers."""
        start = len(self)
        count = len(created)
        self.present = np.concatenate([self.present, np.ones(count, dtype=bool)])
        self.created = np.concatenate([self.created, created])
        self.modified = np.concatenate([self.modified, created])
        for name, values in attrs.items():
            current = self.attrs.get(name, np.empty(0, dtype=values.dtype))
            self.attrs[name] = np.concatenate([current, values])
        return np.arange(start, start + count, dtype=np.int64)

    def touch(self, numbers: np.ndarray, day_start: int, rng: np.random.Generator) -> None:
        """Record a content change on the day starting at `day_start`: bump `modifiedon`."""
        self.modified[numbers] = day_start + rng.integers(0, MICROS_PER_DAY, len(numbers))

    def present_numbers(self) -> np.ndarray:
        """Numbers of the records in the current extract, in creation order."""
        return np.flatnonzero(self.present)


@dataclass(frozen=True)
class Snapshot:
    """What a day's comparison needs of the previous day's state."""

    count: int
    present: np.ndarray
    modified: np.ndarray

    @classmethod
    def of(cls, records: Records) -> Snapshot:
        """Copy the comparable state of `records`."""
        return cls(len(records), records.present.copy(), records.modified.copy())


@dataclass(frozen=True)
class DayChanges:
    """How one day's extract differs from the previous day's, counted by key."""

    rows: int
    inserted: int
    updated: int
    deleted: int
    reappeared: int


def compare(before: Snapshot, after: Records) -> DayChanges:
    """Classify every key against the previous day, the way the daily sync will."""
    grown = len(after) - before.count
    was_present = np.concatenate([before.present, np.zeros(grown, dtype=bool)])
    known = np.arange(len(after)) < before.count
    now = after.present
    previous_modified = np.concatenate([before.modified, np.zeros(grown, dtype=np.int64)])
    return DayChanges(
        rows=int(now.sum()),
        inserted=int((now & ~known).sum()),
        updated=int((now & was_present & (after.modified != previous_modified)).sum()),
        deleted=int((was_present & ~now).sum()),
        reappeared=int((now & known & ~was_present).sum()),
    )


def sample(rng: np.random.Generator, population: np.ndarray, count: int) -> np.ndarray:
    """Up to `count` distinct members of `population`, sorted."""
    count = min(count, len(population))
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    return np.sort(rng.choice(population, size=count, replace=False))


def draw_present(
    rng: np.random.Generator, records: Records, count: int, null_share: float = 0.0
) -> np.ndarray:
    """`count` random present record numbers (with repeats), a `null_share` of them -1."""
    present = records.present_numbers()
    if len(present) == 0:
        return np.full(count, -1, dtype=np.int64)
    drawn = present[rng.integers(0, len(present), count)]
    if null_share > 0:
        drawn[rng.random(count) < null_share] = -1
    return drawn
