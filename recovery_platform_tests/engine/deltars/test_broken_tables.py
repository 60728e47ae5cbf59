"""Every public delta-rs operation on damaged tables: only the seam's errors, nothing written.

A library exception (`DeltaError`, `ArrowInvalid`, `FileNotFoundError`, ...) reaching the domain
ends as a traceback in the Dagster UI; these tests hold every operation to an `EngineError` that
names the table, with the original chained, and an unchanged `_delta_log`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recovery_platform.engine import (
    EngineError,
    Restorability,
    StorageEngine,
    VersionNotAvailableError,
)
from recovery_platform.engine.errors import CorruptTableError
from recovery_platform.engine.guard import GUARDED, public_operations
from recovery_platform_tests.engine.broken import (
    DAMAGES,
    LATEST,
    LOG_DAMAGES,
    OPERATIONS,
    READS_DATA,
    build,
    log_fingerprint,
    source_file,
)
from recovery_platform_tests.engine.bronze import SHAPE
from recovery_platform_tests.engines import ENGINE_NAMES, make_engine


@pytest.fixture
def deltars() -> StorageEngine:
    return make_engine("deltars")


def test_every_public_operation_is_listed_here() -> None:
    storage_free = {"table_exists", "without_memory"}
    assert set(OPERATIONS) - {"read at version"} == set(public_operations()) - storage_free


@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_every_public_operation_is_guarded(name: str) -> None:
    engine_class = type(make_engine(name)) if name == "deltars" else _spark_class()
    for operation in public_operations():
        assert getattr(getattr(engine_class, operation), GUARDED, None) == operation, operation


def _spark_class() -> type[StorageEngine]:
    from recovery_platform.engine.spark import SparkEngine

    return SparkEngine


@pytest.mark.parametrize("damage", list(DAMAGES))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_damaged_tables_raise_only_engine_errors(
    deltars: StorageEngine, tmp_path: Path, damage: str, operation: str
) -> None:
    uri = str(tmp_path / "bronze_account")
    table_id = build(deltars, uri)
    extract = source_file(tmp_path)
    DAMAGES[damage](uri)
    before = log_fingerprint(uri)
    engine = make_engine("deltars")  # nothing loaded before the damage
    must_fail = damage in LOG_DAMAGES or operation in READS_DATA
    try:
        result = OPERATIONS[operation](engine, uri, table_id, extract)
    except EngineError as exc:
        assert uri in str(exc), str(exc)
        assert exc.__cause__ is not None or isinstance(exc, VersionNotAvailableError)
        assert log_fingerprint(uri) == before
        if damage in LOG_DAMAGES:
            assert isinstance(exc, CorruptTableError), repr(exc)
        return
    if isinstance(result, Restorability):
        if damage != "unreadable Parquet":
            assert not result.restorable
            assert result.reason
        assert log_fingerprint(uri) == before
        return
    assert not must_fail, f"{operation} on a table with '{damage}' returned {result!r}"


def test_a_cleaned_up_version_is_named_as_log_retention(
    deltars: StorageEngine, tmp_path: Path
) -> None:
    uri = str(tmp_path / "bronze_account")
    table_id = build(deltars, uri)
    from deltalake import DeltaTable

    DeltaTable(uri).create_checkpoint()
    for version in range(LATEST):
        (Path(uri) / "_delta_log" / f"{version:020d}.json").unlink()
    before = log_fingerprint(uri)
    engine = make_engine("deltars")
    expected = f"version 0 of {uri} is no longer in the table's log (log retention)"
    for call in (
        lambda: engine.state(uri, 0),
        lambda: engine.read(uri, version=0),
        lambda: engine.fingerprint(uri, SHAPE, 0),
        lambda: engine.restore(uri, 0, commit_metadata={"why": "test"}),
    ):
        with pytest.raises(VersionNotAvailableError) as raised:
            call()
        assert expected in str(raised.value)
    answer = engine.is_restorable(uri, 0, table_id)
    assert not answer.restorable
    assert expected in (answer.reason or "")
    assert engine.is_restorable(uri, LATEST, table_id).restorable
    assert engine.state(uri).version == LATEST
    assert log_fingerprint(uri) == before


def test_a_version_not_written_yet_is_named_so(deltars: StorageEngine, tmp_path: Path) -> None:
    uri = str(tmp_path / "bronze_account")
    table_id = build(deltars, uri)
    answer = deltars.is_restorable(uri, 9, table_id)
    assert not answer.restorable
    assert f"version 9 of {uri} does not exist: the latest version is {LATEST}" in (
        answer.reason or ""
    )
