"""Tables other engines wrote (Spark, Databricks, old delta-rs): read, count, travel, restore."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from recovery_platform.engine import StorageEngine, TableShape
from recovery_platform.engine.fingerprint import fingerprint_batches

GOLDEN = Path(
    os.environ.get("RECOVERY_GOLDEN_TABLES")
    or Path(__file__).resolve().parents[3] / "shared" / "golden-delta-tables"
)
"""Beside the repository as `../shared` (CI lays it there); override with RECOVERY_GOLDEN_TABLES."""
NO_TRACKING = TableShape(key=None, deleted=None, purged=None)


@dataclass(frozen=True)
class Golden:
    name: str
    rows_per_version: tuple[int, ...]
    operations: tuple[str, ...]


TABLES = [
    Golden("simple_table", (5, 20, 5, 5, 3), ("DELETE", "UPDATE", "WRITE", "MERGE", "WRITE")),
    Golden("simple_table_with_checkpoint", tuple(range(1, 12)), ("WRITE",) * 11),
    Golden("cdf-table", (10, 10, 10, 9), ("DELETE", "UPDATE", "UPDATE", "WRITE")),
    Golden("table-without-dv-small", (10,), ("WRITE",)),
    Golden("table_with_column_mapping", (5,), ("WRITE",)),
    Golden("delta-0.8.0-partitioned", (7,), ("WRITE",)),
]


def test_the_golden_tables_are_present() -> None:
    assert GOLDEN.is_dir(), f"golden tables not found at {GOLDEN}; set RECOVERY_GOLDEN_TABLES"


@pytest.fixture(params=TABLES, ids=[t.name for t in TABLES])
def golden(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Golden, str]:
    table: Golden = request.param
    copy = tmp_path / table.name
    shutil.copytree(GOLDEN / table.name, copy)
    return table, str(copy)


def test_read_count_and_history(engine: StorageEngine, golden: tuple[Golden, str]) -> None:
    table, uri = golden
    latest = len(table.rows_per_version) - 1
    full = engine.read(uri)
    assert full.num_rows == table.rows_per_version[-1]
    counts = engine.row_counts(uri, NO_TRACKING)
    assert (counts.total, counts.active, counts.deleted, counts.purged) == (
        full.num_rows,
        full.num_rows,
        0,
        0,
    )
    history = engine.history(uri)
    assert [c.version for c in history] == list(range(latest, -1, -1))
    assert tuple(c.operation for c in history) == table.operations
    assert engine.state(uri).version == latest


def test_time_travel_counts(engine: StorageEngine, golden: tuple[Golden, str]) -> None:
    table, uri = golden
    for version, expected in enumerate(table.rows_per_version):
        assert engine.row_counts(uri, NO_TRACKING, version).total == expected
        assert engine.read(uri, version=version).num_rows == expected


def test_every_version_is_restorable(engine: StorageEngine, golden: tuple[Golden, str]) -> None:
    table, uri = golden
    table_id = engine.state(uri).table_id
    for version in range(len(table.rows_per_version)):
        result = engine.is_restorable(uri, version, table_id)
        assert result.restorable, result.reason


def test_fingerprint_streams_the_same_as_a_full_read(
    engine: StorageEngine, golden: tuple[Golden, str]
) -> None:
    _, uri = golden
    expected = fingerprint_batches(engine.read(uri).to_batches())
    assert engine.fingerprint(uri, NO_TRACKING) == expected


def test_restore_reproduces_the_target_version(
    engine: StorageEngine, golden: tuple[Golden, str]
) -> None:
    table, uri = golden
    if len(table.rows_per_version) == 1:
        engine.append(uri, engine.read(uri).slice(0, 1))
    target_fingerprint = engine.fingerprint(uri, NO_TRACKING, 0)
    before = engine.state(uri).version
    result = engine.restore(uri, 0, commit_metadata={"recovery_platform.test": "golden"})
    assert not result.noop
    assert result.version_after == before + 1
    assert engine.fingerprint(uri, NO_TRACKING) == target_fingerprint
    assert engine.read(uri).num_rows == table.rows_per_version[0]
    assert engine.history(uri, limit=1)[0].user_metadata == {"recovery_platform.test": "golden"}


def test_column_mapping_reads_logical_names_and_values(
    engine: StorageEngine, tmp_path: Path
) -> None:
    uri = str(tmp_path / "mapped")
    shutil.copytree(GOLDEN / "table_with_column_mapping", uri)
    table = engine.read(uri)
    assert table.column_names == ["Company Very Short", "Super Name"]
    names = sorted(table.column("Super Name").to_pylist())
    assert names == [
        "Anthony Johnson",
        "Mr. Daniel Ferguson MD",
        "Nathan Bennett",
        "Stephanie Mcgrath",
        "Timothy Lamb",
    ]
    filtered = engine.read(uri, columns=["Super Name"], equals={"Company Very Short": "BME"})
    assert filtered.column("Super Name").to_pylist() == ["Timothy Lamb"]
