"""Keys held by more than one row: counted at a version, reported in an extract, and never
silently netted away by a key diff or a source diff (every engine, real tables)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recovery_platform.engine import (
    NO_DUPLICATES,
    DuplicateKeys,
    DuplicateKeysError,
    StorageEngine,
    TableShape,
)
from recovery_platform_tests.engine.bronze import SCHEMA, SHAPE, ids, rows
from recovery_platform_tests.engines import ENGINE_NAMES, make_engine

COMPARE = ["accountid", "name", "amount"]


def null_keyed(count: int) -> pa.Table:
    """Rows without a key: a separate invariant, never duplicates of each other."""
    table = rows([f"null-{i}" for i in range(count)])
    return table.set_column(0, "accountid", pa.nulls(count, pa.string()))


def write_extract(path: Path, *tables: pa.Table) -> str:
    pq.write_table(pa.concat_tables(tables).select(COMPARE), path)
    return str(path)


KEY_DIFF_TABLES = [
    pytest.param((name, feed), id=f"{name}-{'change-feed' if feed else 'plain'}")
    for name in ENGINE_NAMES
    for feed in (False, True)
    if not (feed and name == "spark")
]
"""Every engine on a plain table; delta-rs on a change-feed table too, where its key diff nets
the feed (Spark compares both versions whole either way)."""


@pytest.fixture(params=KEY_DIFF_TABLES)
def diff_engine(request: pytest.FixtureRequest, uri: str) -> StorageEngine:
    """An engine and an empty bronze table at `uri`, with or without a change data feed."""
    name, feed = request.param
    engine = make_engine(name)
    properties = {"delta.enableChangeDataFeed": "true"} if feed else {}
    engine.create_table(uri, SCHEMA, properties=properties)
    return engine


def test_duplicate_keys_counts_extra_rows_and_samples_ten_keys(
    engine: StorageEngine, uri: str
) -> None:
    clean = engine.append(uri, rows(ids(0, 12)))
    repeated = engine.append(
        uri, pa.concat_tables([rows(ids(0, 11)), rows(["acc-0011", "acc-0011"]), null_keyed(2)])
    )

    assert engine.duplicate_keys(uri, SHAPE, clean) == NO_DUPLICATES
    found = engine.duplicate_keys(uri, SHAPE, repeated)
    # 11 keys held twice and acc-0011 three times: 13 rows beyond the first of each key
    assert found == DuplicateKeys(extra_rows=13, repeated_keys=12, sample_keys=tuple(ids(0, 10)))
    assert engine.duplicate_keys(uri, SHAPE) == found
    assert engine.duplicate_keys(uri, SHAPE, repeated, sample_size=2) == DuplicateKeys(
        13, 12, ("acc-0000", "acc-0001"))
    assert engine.duplicate_keys(uri, TableShape(key=None), repeated) == NO_DUPLICATES


def test_source_diff_reports_keys_the_extract_repeats_and_compares_nothing(
    engine: StorageEngine, uri: str, tmp_path: Path
) -> None:
    source = write_extract(
        tmp_path / "extract.parquet",
        rows(ids(0, 5)), rows(["acc-0001", "acc-0100", "acc-0100"]), null_keyed(2),
    )
    expected = DuplicateKeys(extra_rows=2, repeated_keys=2, sample_keys=("acc-0001", "acc-0100"))

    for exists in (False, True):
        if exists:
            engine.append(uri, rows(ids(0, 5)))
        diff = engine.source_diff(uri, source, SHAPE, compare_columns=COMPARE)
        assert diff.duplicates == expected, exists
        assert (diff.source_rows, diff.unchanged) == (10, 0)
        assert (diff.changed.num_rows, diff.missing_active.num_rows) == (0, 0)
    assert engine.state(uri).version == 0


def test_source_diff_refuses_a_table_that_repeats_a_key(
    engine: StorageEngine, uri: str, tmp_path: Path
) -> None:
    engine.append(uri, rows(ids(0, 5)))
    version = engine.append(uri, rows(["acc-0002"]))
    still_there = write_extract(tmp_path / "still_there.parquet", rows(ids(0, 6)))
    gone = write_extract(tmp_path / "gone.parquet", rows(["acc-0000", "acc-0001"]))

    for source in (still_there, gone):
        with pytest.raises(DuplicateKeysError) as refused:
            engine.source_diff(uri, source, SHAPE, compare_columns=COMPARE)

        assert (refused.value.version, refused.value.duplicates) == (
            version, DuplicateKeys(1, 1, ("acc-0002",)))
        assert f"holds duplicate primary keys at version {version}" in str(refused.value)
        assert uri in str(refused.value) and "acc-0002" in str(refused.value)


def test_key_diff_refuses_a_version_where_a_key_was_added_again(
    diff_engine: StorageEngine, uri: str
) -> None:
    """Restoring `clean` removes one of the two acc-0003 rows: no per-key answer is right."""
    engine = diff_engine
    clean = engine.append(uri, rows(ids(0, 10)))
    repeated = engine.append(uri, rows(["acc-0003"]))

    for from_version, to_version in ((repeated, clean), (clean, repeated)):
        with pytest.raises(DuplicateKeysError) as refused:
            engine.key_diff(uri, SHAPE, from_version, to_version)
        assert (refused.value.version, refused.value.duplicates) == (
            repeated, DuplicateKeys(1, 1, ("acc-0003",)))


def test_key_diff_refuses_a_version_whose_repeated_key_changed(
    diff_engine: StorageEngine, uri: str
) -> None:
    engine = diff_engine
    repeated = engine.append(uri, rows([*ids(0, 10), "acc-0003"]))
    changed = engine.update_where(uri, equals={"accountid": "acc-0003"}, values={"name": "x"})

    with pytest.raises(DuplicateKeysError) as refused:
        engine.key_diff(uri, SHAPE, repeated, changed)

    assert (refused.value.version, refused.value.duplicates.sample_keys) == (
        repeated, ("acc-0003",))


def test_key_diff_across_a_version_that_repeated_a_key_refuses_or_is_exact(
    diff_engine: StorageEngine, uri: str
) -> None:
    """Both ends hold unique keys; in between acc-0003 was held twice, then one row re-keyed.

    Netting the change feed per key would lose acc-0003's change; comparing the two versions
    directly is exact.
    """
    engine = diff_engine
    start = engine.append(uri, rows(ids(0, 10)))
    repeated = engine.append(uri, rows(["acc-0003"], tag="-copy"))
    end = engine.update_where(
        uri, equals={"accountid": "acc-0003", "name": "name-acc-0003"},
        values={"accountid": "acc-0099"},
    )
    assert engine.duplicate_keys(uri, SHAPE, start) == NO_DUPLICATES
    assert engine.duplicate_keys(uri, SHAPE, end) == NO_DUPLICATES

    try:
        diff = engine.key_diff(uri, SHAPE, start, end)
    except DuplicateKeysError as refused:
        assert refused.version == repeated
        assert refused.duplicates == DuplicateKeys(1, 1, ("acc-0003",))
        return
    assert (diff.added, diff.removed, diff.changed) == (1, 0, 1)
    assert (diff.sample_added, diff.sample_changed) == (("acc-0099",), ("acc-0003",))
