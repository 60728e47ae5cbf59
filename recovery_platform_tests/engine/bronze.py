"""Small bronze-shaped tables for the engine tests, and an independent diff to check against."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa

from recovery_platform.engine import StorageEngine, TableShape

SHAPE = TableShape(key="accountid")
SCHEMA = pa.schema(
    [
        ("accountid", pa.string()),
        ("name", pa.string()),
        ("amount", pa.float64()),
        ("IsDeleted", pa.bool_()),
        ("IsPurged", pa.bool_()),
        ("LastSynced", pa.timestamp("us", tz="UTC")),
    ]
)
SYNCED = datetime(2024, 1, 1, tzinfo=UTC)
RESYNCED = datetime(2024, 1, 2, tzinfo=UTC)
"""When rows written with a `tag` were synced: a sync stamps every row it writes."""


def rows(
    ids: Iterable[str],
    *,
    deleted: Sequence[str] = (),
    purged: Sequence[str] = (),
    tag: str = "",
    amount: float = 1.0,
) -> pa.Table:
    """Bronze rows for `ids`; a `tag` changes the name and the sync stamp, as a later sync."""
    keys = list(ids)
    return pa.table(
        {
            "accountid": keys,
            "name": [f"name-{k}{tag}" for k in keys],
            "amount": [amount] * len(keys),
            "IsDeleted": [k in deleted for k in keys],
            "IsPurged": [k in purged for k in keys],
            "LastSynced": [RESYNCED if tag else SYNCED] * len(keys),
        },
        schema=SCHEMA,
    )


def ids(start: int, stop: int) -> list[str]:
    return [f"acc-{i:04d}" for i in range(start, stop)]


def state_of(row: dict[str, Any]) -> str:
    if row.get("IsPurged"):
        return "purged"
    if row.get("IsDeleted"):
        return "deleted"
    return "active"


def independent_diff(
    engine: StorageEngine, uri: str, from_version: int, to_version: int
) -> dict[str, Any]:
    """The key diff computed by hand from two full reads, for comparison with the engine's."""
    before = engine.read(uri, version=from_version)
    return diff_of_reads(before, engine.read(uri, version=to_version))


def diff_of_reads(before: pa.Table, after: pa.Table, key: str = "accountid") -> dict[str, Any]:
    """The key diff computed by hand from two versions' full contents (rows without a key are
    left out): keys added and removed, keys whose row changed, and tracking-state moves."""
    columns = sorted(set(before.column_names) | set(after.column_names))

    def by_key(table: pa.Table) -> dict[Any, dict[str, Any]]:
        return {r[key]: r for r in table.to_pylist() if r[key] is not None}

    old_rows, new_rows = by_key(before), by_key(after)
    both = old_rows.keys() & new_rows.keys()
    changes: dict[str, int] = {}
    for k in both:
        a, b = state_of(old_rows[k]), state_of(new_rows[k])
        if a != b:
            changes[f"{a}->{b}"] = changes.get(f"{a}->{b}", 0) + 1
    return {
        "added": sorted(new_rows.keys() - old_rows.keys()),
        "removed": sorted(old_rows.keys() - new_rows.keys()),
        "changed": sorted(
            k for k in both
            if [old_rows[k].get(c) for c in columns] != [new_rows[k].get(c) for c in columns]
        ),
        "state_changes": changes,
    }


def bad_sync(engine: StorageEngine, uri: str, *, renamed_first: bool = False) -> int:
    """A good load (then, if asked, an update), then a sync that marks most rows deleted.

    Returns the good version, the one a rollback goes back to.
    """
    engine.append(uri, rows(ids(0, 20)))
    if renamed_first:
        engine.update_where(uri, equals={"accountid": "acc-0003"}, values={"name": "renamed"})
    good = engine.state(uri).version
    engine.merge_upsert(uri, rows(ids(0, 15), deleted=ids(0, 15)), key="accountid")
    return good


def files_added_in(uri: str, version: int) -> list[str]:
    """Absolute paths of the data files a local table's commit added (read from the Delta log)."""
    log = Path(uri) / "_delta_log" / f"{version:020d}.json"
    paths = []
    for line in log.read_text().splitlines():
        action = json.loads(line)
        if "add" in action:
            paths.append(str(Path(uri) / unquote(action["add"]["path"])))
    return paths
