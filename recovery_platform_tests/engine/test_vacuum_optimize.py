from __future__ import annotations

import pytest

from recovery_platform.engine import StorageEngine
from recovery_platform_tests.engine.bronze import SHAPE, ids, rows


def small_files(engine: StorageEngine, uri: str, count: int = 4) -> None:
    for start in range(0, count * 5, 5):
        engine.append(uri, rows(ids(start, start + 5)))


@pytest.mark.parametrize("hours", [0, 1, 167])
def test_vacuum_refuses_less_than_seven_days(engine: StorageEngine, uri: str, hours: int) -> None:
    small_files(engine, uri)
    before = engine.state(uri).version
    with pytest.raises(ValueError, match=r"retention_hours.*168"):
        engine.vacuum(uri, retention_hours=hours, dry_run=False)
    assert engine.state(uri).version == before


def test_vacuum_keeps_recent_files_and_every_version_readable(
    engine: StorageEngine, uri: str
) -> None:
    small_files(engine, uri)
    engine.optimize(uri)
    latest = engine.state(uri).version
    dry = engine.vacuum(uri, retention_hours=168, dry_run=True)
    assert dry.dry_run
    assert dry.files == ()
    assert dry.retention_hours >= 168
    result = engine.vacuum(uri, retention_hours=200, dry_run=False, keep_versions=[0, 1])
    assert result.files == ()
    assert result.retention_hours >= 200
    for version in range(latest + 1):
        assert engine.read(uri, version=version).num_rows == min(version + 1, 4) * 5


def test_vacuum_honours_a_longer_table_retention(engine: StorageEngine, uri: str) -> None:
    small_files(engine, uri, 2)
    engine.set_properties(uri, {"delta.deletedFileRetentionDuration": "interval 30 days"})
    result = engine.vacuum(uri, retention_hours=168, dry_run=True)
    assert result.retention_hours == 720


def test_optimize_compacts_without_changing_content(engine: StorageEngine, uri: str) -> None:
    small_files(engine, uri)
    fingerprint = engine.fingerprint(uri, SHAPE)
    counts = engine.row_counts(uri, SHAPE)
    result = engine.optimize(uri)
    assert result.files_removed == 4
    assert result.files_added == 1
    assert result.version == engine.state(uri).version == 4
    assert engine.fingerprint(uri, SHAPE) == fingerprint
    assert engine.row_counts(uri, SHAPE) == counts
    commit = engine.history(uri, limit=1)[0]
    assert commit.operation == "OPTIMIZE"
    assert not commit.data_change


def test_optimize_with_zorder(engine: StorageEngine, uri: str) -> None:
    small_files(engine, uri)
    fingerprint = engine.fingerprint(uri, SHAPE)
    result = engine.optimize(uri, zorder_columns=["LastSynced", "IsDeleted"])
    assert result.files_removed == 4
    assert engine.fingerprint(uri, SHAPE) == fingerprint
    assert engine.history(uri, limit=1)[0].operation == "OPTIMIZE"
