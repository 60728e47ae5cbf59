from __future__ import annotations

import pyarrow as pa

from recovery_platform.engine import RowCounts, StorageEngine, TableShape
from recovery_platform_tests.engine.bronze import SHAPE, ids, rows


def scanned_counts(
    engine: StorageEngine, uri: str, shape: TableShape, version: int | None = None
) -> tuple[int, int, int, int, int, int]:
    """Counts computed here from a full read, independent of the engine's method."""
    table = engine.read(uri, version=version)
    n = table.num_rows

    def flag(column: str | None) -> list[bool]:
        if column is None or column not in table.column_names:
            return [False] * n
        return [bool(v) for v in table.column(column).to_pylist()]

    deleted, purged = flag(shape.deleted), flag(shape.purged)
    both = sum(d and p for d, p in zip(deleted, purged, strict=True))
    only_deleted = sum(d and not p for d, p in zip(deleted, purged, strict=True))
    only_purged = sum(p and not d for d, p in zip(deleted, purged, strict=True))
    null_keys = table.column(shape.key).null_count if shape.key else 0
    return n, n - only_deleted - only_purged - both, only_deleted, only_purged, null_keys, both


def as_tuple(counts: RowCounts) -> tuple[int, int, int, int, int, int]:
    return (
        counts.total,
        counts.active,
        counts.deleted,
        counts.purged,
        counts.null_keys,
        counts.both_flags,
    )


def test_empty_table_counts_zero(engine: StorageEngine, uri: str) -> None:
    engine.create_table(uri, rows([]).schema, properties={})
    assert as_tuple(engine.row_counts(uri, SHAPE)) == (0, 0, 0, 0, 0, 0)


def test_uniform_files_count_exactly(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 10)))
    engine.append(uri, rows(ids(10, 14), deleted=ids(10, 14)))
    engine.append(uri, rows(ids(14, 17), purged=ids(14, 17)))
    counts = engine.row_counts(uri, SHAPE)
    assert as_tuple(counts) == (17, 10, 4, 3, 0, 0)
    assert as_tuple(counts) == scanned_counts(engine, uri, SHAPE)


def test_mixed_files_count_exactly(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 10), deleted=ids(0, 3), purged=ids(8, 10)))
    engine.append(uri, rows(ids(10, 12), deleted=["acc-0011"], purged=["acc-0011"]))
    counts = engine.row_counts(uri, SHAPE)
    assert as_tuple(counts) == (12, 6, 3, 2, 0, 1)
    assert counts.active + counts.deleted + counts.purged + counts.both_flags == counts.total
    assert as_tuple(counts) == scanned_counts(engine, uri, SHAPE)


def test_null_keys_and_null_flags(engine: StorageEngine, uri: str) -> None:
    data = rows(ids(0, 5))
    data = data.set_column(0, "accountid", pa.array(["a", None, "c", None, "e"]))
    data = data.set_column(3, "IsDeleted", pa.array([None, True, False, None, None]))
    engine.append(uri, data)
    counts = engine.row_counts(uri, SHAPE)
    assert as_tuple(counts) == (5, 4, 1, 0, 2, 0)
    assert as_tuple(counts) == scanned_counts(engine, uri, SHAPE)


def test_all_null_flag_file_counts_as_active(engine: StorageEngine, uri: str) -> None:
    data = rows(ids(0, 4))
    data = data.set_column(4, "IsPurged", pa.nulls(4, pa.bool_()))
    engine.append(uri, data)
    engine.append(uri, rows(ids(4, 6), purged=ids(4, 6)))
    assert as_tuple(engine.row_counts(uri, SHAPE)) == (6, 4, 0, 2, 0, 0)


def test_table_without_tracking_columns_is_all_active(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, pa.table({"value": [1, 2, 3]}))
    counts = engine.row_counts(uri, TableShape(key=None, deleted=None, purged=None))
    assert as_tuple(counts) == (3, 3, 0, 0, 0, 0)
    missing_columns = engine.row_counts(uri, TableShape(key=None))
    assert as_tuple(missing_columns) == (3, 3, 0, 0, 0, 0)


def test_counts_at_an_earlier_version(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 8)))
    engine.update_where(uri, equals={"accountid": "acc-0001"}, values={"IsDeleted": True})
    engine.append(uri, rows(ids(8, 10), purged=ids(8, 10)))
    assert as_tuple(engine.row_counts(uri, SHAPE, 0)) == (8, 8, 0, 0, 0, 0)
    assert as_tuple(engine.row_counts(uri, SHAPE, 1)) == (8, 7, 1, 0, 0, 0)
    assert as_tuple(engine.row_counts(uri, SHAPE)) == (10, 7, 1, 2, 0, 0)
    for version in (0, 1, 2):
        assert as_tuple(engine.row_counts(uri, SHAPE, version)) == scanned_counts(
            engine, uri, SHAPE, version
        )


def test_counts_after_merge_and_optimize(engine: StorageEngine, uri: str) -> None:
    for start in range(0, 30, 10):
        engine.append(uri, rows(ids(start, start + 10)))
    engine.merge_upsert(uri, rows(ids(5, 15), deleted=ids(5, 15)), key="accountid")
    expected = scanned_counts(engine, uri, SHAPE)
    assert expected[:4] == (30, 20, 10, 0)
    assert as_tuple(engine.row_counts(uri, SHAPE)) == expected
    engine.optimize(uri)
    assert as_tuple(engine.row_counts(uri, SHAPE)) == expected


def test_counts_and_fingerprint_in_one_call_match_each_alone(
    engine: StorageEngine, uri: str
) -> None:
    """What a checkpoint pins in one read equals what the two separate questions answer."""
    engine.append(uri, rows(ids(0, 10), deleted=ids(0, 3), purged=ids(8, 10)))
    engine.append(uri, rows(ids(10, 12), deleted=["acc-0011"], purged=["acc-0011"]))
    engine.merge_upsert(uri, rows(ids(4, 6), tag="-v2"), key="accountid")
    latest = engine.state(uri).version
    for version in (1, latest):
        counts, fingerprint = engine.counts_and_fingerprint(uri, SHAPE, version)
        assert as_tuple(counts) == scanned_counts(engine, uri, SHAPE, version)
        assert fingerprint == engine.fingerprint(uri, SHAPE, version)
    assert engine.counts_and_fingerprint(uri, SHAPE, 1)[1] != engine.fingerprint(uri, SHAPE, latest)
