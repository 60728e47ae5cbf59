from __future__ import annotations

import os

import pytest

from recovery_platform.engine import (
    StorageEngine,
    TableNotFoundError,
    VersionNotAvailableError,
)
from recovery_platform_tests.engine.bronze import SHAPE, bad_sync, files_added_in, ids, rows

WHY = {"recovery_platform.rollback_id": "rb-1", "recovery_platform.requested_by": "ops"}


def test_restore_brings_back_the_exact_content(engine: StorageEngine, uri: str) -> None:
    good = bad_sync(engine, uri)
    before = engine.state(uri).version
    result = engine.restore(uri, good, commit_metadata=WHY)
    assert not result.noop
    assert result.version_before == before
    assert result.version_after == before + 1
    assert engine.state(uri).version == result.version_after
    assert engine.fingerprint(uri, SHAPE) == engine.fingerprint(uri, SHAPE, good)
    assert engine.row_counts(uri, SHAPE) == engine.row_counts(uri, SHAPE, good)
    assert result.files_added >= 1
    assert result.files_removed >= 1


def test_restore_commit_carries_metadata(engine: StorageEngine, uri: str) -> None:
    good = bad_sync(engine, uri)
    engine.restore(uri, good, commit_metadata=WHY)
    commit = engine.history(uri, limit=1)[0]
    assert commit.operation == "RESTORE"
    assert commit.user_metadata == WHY
    assert commit.data_change


def test_restore_to_the_current_content_writes_nothing(engine: StorageEngine, uri: str) -> None:
    good = bad_sync(engine, uri)
    current = engine.state(uri).version
    same = engine.restore(uri, current, commit_metadata=WHY)
    assert same.noop
    assert (same.version_before, same.version_after) == (current, current)
    assert (same.files_added, same.files_removed) == (0, 0)
    engine.restore(uri, good, commit_metadata=WHY)
    after = engine.state(uri).version
    again = engine.restore(uri, good, commit_metadata=WHY)
    assert again.noop
    assert engine.state(uri).version == after


def test_restore_after_optimize_is_a_noop_on_equal_content(engine: StorageEngine, uri: str) -> None:
    for start in range(0, 30, 10):
        engine.append(uri, rows(ids(start, start + 10)))
    before_optimize = engine.state(uri).version
    engine.optimize(uri)
    result = engine.restore(uri, before_optimize, commit_metadata=WHY)
    assert result.noop
    assert engine.fingerprint(uri, SHAPE) == engine.fingerprint(uri, SHAPE, before_optimize)


def test_restore_forward_again(engine: StorageEngine, uri: str) -> None:
    good = bad_sync(engine, uri)
    bad = engine.state(uri).version
    engine.restore(uri, good, commit_metadata=WHY)
    engine.restore(uri, bad, commit_metadata=WHY)
    assert engine.fingerprint(uri, SHAPE) == engine.fingerprint(uri, SHAPE, bad)
    assert engine.row_counts(uri, SHAPE).deleted == 15


def test_restore_to_a_missing_version_is_refused(engine: StorageEngine, uri: str) -> None:
    bad_sync(engine, uri)
    with pytest.raises(VersionNotAvailableError):
        engine.restore(uri, 42, commit_metadata=WHY)


def test_restore_with_deleted_files_is_refused_in_plain_words(
    engine: StorageEngine, uri: str
) -> None:
    engine.append(uri, rows(ids(0, 5)))
    engine.overwrite(uri, rows(ids(5, 10)))
    before = engine.state(uri).version
    for path in files_added_in(uri, 0):
        os.remove(path)
    with pytest.raises(VersionNotAvailableError, match="gone"):
        engine.restore(uri, 0, commit_metadata=WHY)
    assert engine.state(uri).version == before


def test_restore_of_missing_table(engine: StorageEngine, uri: str) -> None:
    with pytest.raises(TableNotFoundError):
        engine.restore(uri, 0, commit_metadata=WHY)


def test_storage_delta_compares_file_sets(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 5)))
    engine.append(uri, rows(ids(5, 10)))
    forward = engine.storage_delta(uri, 0, 1)
    assert (forward.files_added, forward.files_removed, forward.bytes_removed) == (1, 0, 0)
    assert forward.bytes_added > 0
    backward = engine.storage_delta(uri, 1, 0)
    assert (backward.files_added, backward.files_removed) == (0, 1)
    assert backward.bytes_removed == forward.bytes_added
    same = engine.storage_delta(uri, 1, 1)
    assert (same.files_added, same.files_removed) == (0, 0)
