from __future__ import annotations

import os
import shutil

from recovery_platform.engine import StorageEngine
from recovery_platform_tests.engine.bronze import SCHEMA, files_added_in, ids, rows


def test_a_normal_version_is_restorable(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 5)))
    engine.append(uri, rows(ids(5, 10)))
    table_id = engine.state(uri).table_id
    for version in (0, 1):
        result = engine.is_restorable(uri, version, table_id)
        assert result.restorable, result.reason
        assert result.reason is None
        assert result.missing_files == 0


def test_missing_data_files_make_a_version_unrestorable(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 5)))
    engine.overwrite(uri, rows(ids(5, 10)))
    table_id = engine.state(uri).table_id
    for path in files_added_in(uri, 0):
        os.remove(path)
    result = engine.is_restorable(uri, 0, table_id)
    assert not result.restorable
    assert result.missing_files == 1
    assert "gone" in (result.reason or "")
    assert engine.is_restorable(uri, 1, table_id).restorable


def test_a_wrong_table_id_is_refused(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 5)))
    result = engine.is_restorable(uri, 0, "00000000-0000-0000-0000-000000000000")
    assert not result.restorable
    assert "id" in (result.reason or "")


def test_a_recreated_table_is_refused(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 5)))
    old_id = engine.state(uri).table_id
    shutil.rmtree(uri)
    engine.create_table(uri, SCHEMA, properties={})
    engine.append(uri, rows(ids(0, 5)))
    result = engine.is_restorable(uri, 0, old_id)
    assert not result.restorable
    assert "recreated" in (result.reason or "")


def test_a_version_that_does_not_exist_is_refused(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 5)))
    table_id = engine.state(uri).table_id
    result = engine.is_restorable(uri, 7, table_id)
    assert not result.restorable
    assert "version 7" in (result.reason or "")


def test_a_missing_table_is_not_restorable(engine: StorageEngine, uri: str) -> None:
    result = engine.is_restorable(uri, 0, "anything")
    assert not result.restorable
    assert result.reason
