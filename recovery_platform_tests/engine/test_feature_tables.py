"""Tables written by Spark with protocol features: handled correctly, or refused up front.

An engine declares the features it supports (`EngineCapabilities`); a table needing any other
must be refused by every operation, `is_restorable` included, before anything is read or
written, naming the feature, and its `_delta_log` must stay as it was.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from recovery_platform.engine import (
    Restorability,
    RestoreResult,
    StorageEngine,
    TableShape,
    UnsupportedTableFeatureError,
)
from recovery_platform.engine.protocol import TableProtocol
from recovery_platform_tests.engine.broken import log_fingerprint
from recovery_platform_tests.engine.feature_tables import (
    FEATURE_TABLES,
    FUTURE_FEATURE,
    add_future_feature,
    build_feature_tables,
    copy_table,
)
from recovery_platform_tests.engines import make_engine

SHAPE = TableShape(key="accountid")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_feature_tables(tmp_path_factory.mktemp("feature_tables"))


def _restore_to_first_insert(engine: StorageEngine, uri: str) -> RestoreResult:
    first_insert = engine.state(uri).version - 1
    return engine.restore(uri, first_insert, commit_metadata={"why": "test"})


@pytest.mark.parametrize("name", list(FEATURE_TABLES))
def test_deltars_handles_or_refuses_each_feature_table(
    built: dict[str, Path], tmp_path: Path, name: str
) -> None:
    spec = FEATURE_TABLES[name]
    uri = copy_table(built[name], tmp_path / "table")
    engine = make_engine("deltars")
    table_id_version = 2
    before = log_fingerprint(uri)
    if spec.refused_by_deltars_to_read:
        feature = spec.refused_by_deltars_to_read
        for call in (lambda: engine.read(uri), lambda: engine.fingerprint(uri, SHAPE),
                     lambda: engine.state(uri), lambda: _restore_to_first_insert(engine, uri)):
            with pytest.raises(UnsupportedTableFeatureError, match=feature):
                call()
        answer = engine.is_restorable(uri, 1, "any")
        assert not answer.restorable and feature in (answer.reason or "")
        assert log_fingerprint(uri) == before
        return
    assert sorted(engine.read(uri, columns=["accountid"]).column("accountid").to_pylist()) == [
        "a", "b", "c"]
    assert engine.row_counts(uri, SHAPE).total == 3
    table_id = engine.state(uri).table_id
    if spec.refused_by_deltars_to_write:
        feature = spec.refused_by_deltars_to_write
        answer = engine.is_restorable(uri, table_id_version, table_id)
        assert isinstance(answer, Restorability) and not answer.restorable
        assert feature in (answer.reason or "")
        for call in (lambda: _restore_to_first_insert(engine, uri),
                     lambda: engine.set_properties(uri, {"owner": "x"}),
                     lambda: engine.update_where(uri, equals={"accountid": "a"},
                                                 values={"amount": 5}),
                     lambda: engine.vacuum(uri, retention_hours=168, dry_run=True),
                     lambda: engine.optimize(uri)):
            with pytest.raises(UnsupportedTableFeatureError, match=feature):
                call()
        assert log_fingerprint(uri) == before
        return
    assert engine.is_restorable(uri, table_id_version, table_id).restorable
    result = _restore_to_first_insert(engine, uri)
    assert sorted(engine.read(uri, columns=["accountid"]).column("accountid").to_pylist()) == [
        "a", "b"]
    assert not result.noop
    if spec.optimize_refused_by_deltars:
        before = log_fingerprint(uri)
        with pytest.raises(UnsupportedTableFeatureError, match=spec.optimize_refused_by_deltars):
            engine.optimize(uri)
        assert log_fingerprint(uri) == before


SPARK_ONLY = ("v2 checkpoints", "identity column", "row tracking")
"""Tables delta-rs refuses; the others are handled by both engines, and tested on delta-rs."""


def test_spark_restores_the_tables_deltars_refuses(built: dict[str, Path], tmp_path: Path) -> None:
    engine = make_engine("spark")
    for index, name in enumerate(SPARK_ONLY):
        uri = copy_table(built[name], tmp_path / f"table_{index}")
        table_id = engine.state(uri).table_id
        assert engine.is_restorable(uri, 2, table_id).restorable, name
        _restore_to_first_insert(engine, uri)
        rows = engine.read(uri, columns=["accountid"]).column("accountid").to_pylist()
        assert sorted(rows) == ["a", "b"], name


@pytest.mark.parametrize("engine_name", ["deltars", "spark"])
def test_a_feature_no_engine_knows_is_refused_by_every_operation(
    built: dict[str, Path], tmp_path: Path, engine_name: str
) -> None:
    uri = copy_table(built["check constraint"], tmp_path / "table")
    engine = make_engine(engine_name)
    table_id = engine.state(uri).table_id
    add_future_feature(uri)
    engine = make_engine(engine_name) if engine_name == "deltars" else engine
    before = log_fingerprint(uri)
    answer = engine.is_restorable(uri, 2, table_id)
    assert not answer.restorable and FUTURE_FEATURE in (answer.reason or "")
    for call in (lambda: engine.read(uri), lambda: engine.row_counts(uri, SHAPE),
                 lambda: engine.restore(uri, 1, commit_metadata={"why": "test"}),
                 lambda: engine.append(uri, _one_row()),
                 lambda: engine.vacuum(uri, retention_hours=168, dry_run=True)):
        with pytest.raises(UnsupportedTableFeatureError, match=FUTURE_FEATURE):
            call()
    assert log_fingerprint(uri) == before


def _one_row() -> pa.Table:
    return pa.table({"accountid": ["z"], "amount": pa.array([9], pa.int32())})


@pytest.mark.parametrize(
    ("reader", "writer", "to_read", "to_write"),
    [
        (1, 2, set(), {"appendOnly", "invariants"}),
        (1, 3, set(), {"appendOnly", "invariants", "checkConstraints"}),
        (1, 4, set(), {"appendOnly", "invariants", "checkConstraints", "changeDataFeed",
                       "generatedColumns"}),
        (2, 5, {"columnMapping"}, {"appendOnly", "invariants", "checkConstraints",
                                   "changeDataFeed", "generatedColumns", "columnMapping"}),
        (1, 6, set(), {"appendOnly", "invariants", "checkConstraints", "changeDataFeed",
                       "generatedColumns", "columnMapping", "identityColumns"}),
        (4, 8, {"readerVersion4"}, {"readerVersion4", "writerVersion8"}),
    ],
)
def test_legacy_protocol_versions_imply_their_features(
    reader: int, writer: int, to_read: set[str], to_write: set[str]
) -> None:
    protocol = TableProtocol.of(reader, writer)
    assert protocol.features_to_read() == to_read
    assert protocol.features_to_write() == to_write | to_read
