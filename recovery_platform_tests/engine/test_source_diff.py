from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from recovery_platform.engine import StorageEngine
from recovery_platform_tests.engine.bronze import SCHEMA, SHAPE, ids, rows

COMPARE = ["accountid", "name", "amount"]


def extract(table: pa.Table) -> pa.Table:
    """What the CRM extract looks like: data columns only."""
    return table.select(COMPARE)


def write_source(path: Path, table: pa.Table) -> str:
    pq.write_table(table, path)
    return str(path)


def flags(changed: pa.Table) -> dict[str, tuple[bool, bool, bool]]:
    return {
        r["accountid"]: (r["_target_present"], r["_target_deleted"], r["_target_purged"])
        for r in changed.to_pylist()
    }


def test_new_table_takes_everything(engine: StorageEngine, uri: str, tmp_path: Path) -> None:
    source = write_source(tmp_path / "extract.parquet", extract(rows(ids(0, 3))))
    diff = engine.source_diff(uri, source, SHAPE, compare_columns=COMPARE)
    assert (diff.source_rows, diff.unchanged) == (3, 0)
    assert flags(diff.changed) == {k: (False, False, False) for k in ids(0, 3)}
    assert diff.changed.column_names == [
        *COMPARE,
        "_target_present",
        "_target_deleted",
        "_target_purged",
    ]
    assert diff.missing_active.num_rows == 0


def test_changed_reappearing_new_and_missing_rows(
    engine: StorageEngine, uri: str, tmp_path: Path
) -> None:
    engine.append(uri, rows(ids(0, 10), deleted=["acc-0008"], purged=["acc-0009"]))
    current = extract(rows([*ids(0, 6), "acc-0008", "acc-0009", "acc-0020"]))
    names = current.column("name").to_pylist()
    names[2] = "renamed in the CRM"
    current = current.set_column(1, "name", pa.array(names))
    source = write_source(tmp_path / "extract.parquet", current)

    diff = engine.source_diff(uri, source, SHAPE, compare_columns=COMPARE)

    assert (diff.source_rows, diff.unchanged) == (9, 5)
    assert flags(diff.changed) == {
        "acc-0002": (True, False, False),
        "acc-0008": (True, True, False),
        "acc-0009": (True, False, True),
        "acc-0020": (False, False, False),
    }
    by_key = {r["accountid"]: r for r in diff.changed.to_pylist()}
    assert by_key["acc-0002"]["name"] == "renamed in the CRM"
    assert diff.missing_active.schema == SCHEMA
    assert sorted(diff.missing_active.column("accountid").to_pylist()) == ["acc-0006", "acc-0007"]


def test_missing_rows_already_deleted_are_not_reported(
    engine: StorageEngine, uri: str, tmp_path: Path
) -> None:
    engine.append(uri, rows(ids(0, 4), deleted=["acc-0003"], purged=["acc-0002"]))
    source = write_source(tmp_path / "extract.parquet", extract(rows(ids(0, 2))))
    diff = engine.source_diff(uri, source, SHAPE, compare_columns=COMPARE)
    assert diff.missing_active.num_rows == 0
    assert (diff.unchanged, diff.changed.num_rows) == (2, 0)


def test_source_as_a_directory_of_parquet_files(
    engine: StorageEngine, uri: str, tmp_path: Path
) -> None:
    engine.append(uri, rows(ids(0, 4)))
    folder = tmp_path / "extract"
    folder.mkdir()
    write_source(folder / "part-0.parquet", extract(rows(ids(0, 2))))
    write_source(folder / "part-1.parquet", extract(rows(ids(2, 5), amount=9.0)))
    diff = engine.source_diff(uri, str(folder), SHAPE, compare_columns=COMPARE)
    assert diff.source_rows == 5
    assert diff.unchanged == 2
    assert flags(diff.changed) == {
        "acc-0002": (True, False, False),
        "acc-0003": (True, False, False),
        "acc-0004": (False, False, False),
    }


def test_representation_differences_are_not_changes(
    engine: StorageEngine, uri: str, tmp_path: Path
) -> None:
    engine.append(uri, rows(ids(0, 3)))
    source_table = extract(rows(ids(0, 3))).cast(
        pa.schema(
            [
                ("accountid", pa.large_string()),
                ("name", pa.large_string()),
                ("amount", pa.float64()),
            ]
        )
    )
    source = write_source(tmp_path / "extract.parquet", source_table)
    diff = engine.source_diff(uri, source, SHAPE, compare_columns=COMPARE)
    assert (diff.unchanged, diff.changed.num_rows) == (3, 0)


def test_values_compare_as_values_nan_and_nulls_included(
    engine: StorageEngine, uri: str, tmp_path: Path
) -> None:
    """A NaN equals a NaN and a null a null; a value replacing a null is a change."""
    stored = rows(ids(0, 4)).set_column(
        2, "amount", pa.array([float("nan"), None, None, -0.0], pa.float64())
    )
    engine.append(uri, stored)
    current = extract(stored).set_column(
        2, "amount", pa.array([float("nan"), None, 5.0, 0.0], pa.float64())
    )
    source = write_source(tmp_path / "extract.parquet", current)
    diff = engine.source_diff(uri, source, SHAPE, compare_columns=COMPARE)
    assert (diff.unchanged, diff.changed.column("accountid").to_pylist()) == (3, ["acc-0002"])
