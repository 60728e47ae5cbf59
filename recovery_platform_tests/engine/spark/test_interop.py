"""Interoperability of the two engines on the same tables: what one writes, the other reads.

The key test is that both engines give the same fingerprint for the same table version: the
fingerprint is how a restore is proven, so it must not depend on the engine that computes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from recovery_platform.domain.rollback.record import OPERATION_ID_KEY, operation_id, ours
from recovery_platform.engine import StorageEngine, UnsupportedTableFeatureError
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform.engine.spark import SparkEngine
from recovery_platform_tests.engine.bronze import SHAPE, bad_sync, ids, rows
from recovery_platform_tests.spark_support import shared_spark_session

pytestmark = pytest.mark.spark

WHY = {"recovery_platform.rollback_id": "rb-interop"}
PLAN_RESTORE = {OPERATION_ID_KEY: operation_id("plan-interop", "account"), **WHY}


@pytest.fixture(scope="module")
def spark_engine() -> SparkEngine:
    return SparkEngine(shared_spark_session())


@pytest.fixture(scope="module")
def deltars_engine() -> DeltaRsEngine:
    return DeltaRsEngine(storage_options={})


def log_snapshot(uri: str) -> dict[str, str]:
    """Every file of the Delta log with a digest of its bytes."""
    log = Path(uri) / "_delta_log"
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(log.rglob("*"))
        if p.is_file()
    }


def assert_same_view(a: StorageEngine, b: StorageEngine, uri: str) -> None:
    """Both engines see every version with the same fingerprint, counts and history."""
    latest = a.state(uri).version
    assert b.state(uri).version == latest
    assert a.state(uri).table_id == b.state(uri).table_id
    for version in range(latest + 1):
        assert a.fingerprint(uri, SHAPE, version) == b.fingerprint(uri, SHAPE, version), version
        counts_a, counts_b = a.row_counts(uri, SHAPE, version), b.row_counts(uri, SHAPE, version)
        assert replace(counts_a, method="scan") == replace(counts_b, method="scan"), version
    assert [c.operation for c in a.history(uri)] == [c.operation for c in b.history(uri)]
    assert [c.user_metadata for c in a.history(uri)] == [c.user_metadata for c in b.history(uri)]


def test_fingerprints_agree_on_every_version(
    spark_engine: SparkEngine, deltars_engine: DeltaRsEngine, tmp_path: Path
) -> None:
    uri = str(tmp_path / "account")
    spark_engine.append(uri, rows(ids(0, 40), deleted=ids(0, 4), purged=["acc-0009"]))
    deltars_engine.append(uri, rows(ids(40, 60), tag="-rs"))
    spark_engine.merge_upsert(uri, rows(ids(30, 45), tag="-2"), key="accountid")
    assert_same_view(spark_engine, deltars_engine, uri)
    assert spark_engine.fingerprint(uri, SHAPE) != spark_engine.fingerprint(uri, SHAPE, 0)


def test_written_and_restored_by_deltars_then_read_and_restored_by_spark(
    spark_engine: SparkEngine, deltars_engine: DeltaRsEngine, tmp_path: Path
) -> None:
    uri = str(tmp_path / "account")
    good = bad_sync(deltars_engine, uri, renamed_first=True)
    bad = deltars_engine.state(uri).version
    deltars_engine.restore(uri, good, commit_metadata=WHY)
    assert_same_view(spark_engine, deltars_engine, uri)
    result = spark_engine.restore(uri, bad, commit_metadata=WHY)
    assert not result.noop
    assert deltars_engine.fingerprint(uri, SHAPE) == deltars_engine.fingerprint(uri, SHAPE, bad)
    assert deltars_engine.row_counts(uri, SHAPE).deleted == 15
    assert deltars_engine.history(uri, limit=1)[0].user_metadata == WHY
    assert_same_view(spark_engine, deltars_engine, uri)


@pytest.mark.parametrize("restorer", ["deltars", "spark"])
def test_a_plans_restore_commit_is_recognised_by_either_engine(
    spark_engine: SparkEngine, deltars_engine: DeltaRsEngine, tmp_path: Path, restorer: str
) -> None:
    """A rollback re-run finds its own RESTORE by operation id, whichever engine restored."""
    engines: dict[str, StorageEngine] = {"deltars": deltars_engine, "spark": spark_engine}
    uri = str(tmp_path / "account")
    good = bad_sync(deltars_engine, uri, renamed_first=True)
    restore = engines[restorer].restore(uri, good, commit_metadata=PLAN_RESTORE)
    for reader in engines.values():
        latest = reader.history(uri, limit=1)[0]
        assert latest.version == restore.version_after
        assert latest.user_metadata == PLAN_RESTORE
        assert ours(latest, "plan-interop", "account")
        assert not ours(latest, "plan-other", "account")


def test_written_and_restored_by_spark_then_read_and_restored_by_deltars(
    spark_engine: SparkEngine, deltars_engine: DeltaRsEngine, tmp_path: Path
) -> None:
    uri = str(tmp_path / "account")
    good = bad_sync(spark_engine, uri, renamed_first=True)
    bad = spark_engine.state(uri).version
    spark_engine.restore(uri, good, commit_metadata=WHY)
    assert_same_view(spark_engine, deltars_engine, uri)
    assert deltars_engine.history(uri, limit=1)[0].user_metadata == WHY
    result = deltars_engine.restore(uri, bad, commit_metadata=WHY)
    assert not result.noop
    assert spark_engine.fingerprint(uri, SHAPE) == spark_engine.fingerprint(uri, SHAPE, bad)
    assert spark_engine.row_counts(uri, SHAPE).deleted == 15
    assert_same_view(spark_engine, deltars_engine, uri)


def test_deletion_vectors_restored_by_spark_and_refused_by_deltars(
    spark_engine: SparkEngine, deltars_engine: DeltaRsEngine, tmp_path: Path
) -> None:
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    uri = str(tmp_path / "account")
    spark_engine.overwrite(
        uri, rows(ids(0, 30)), properties={"delta.enableDeletionVectors": "true"}
    )
    good = spark_engine.state(uri).version
    good_fingerprint = spark_engine.fingerprint(uri, SHAPE)
    DeltaTable.forPath(shared_spark_session(), uri).delete(F.col("accountid") < "acc-0010")
    assert '"deletionVector":{' in (Path(uri) / "_delta_log" / f"{good + 1:020d}.json").read_text()
    assert spark_engine.row_counts(uri, SHAPE).total == 20

    log_before = log_snapshot(uri)
    for refused in (
        lambda: deltars_engine.restore(uri, good, commit_metadata=WHY),
        lambda: deltars_engine.fingerprint(uri, SHAPE),
        lambda: deltars_engine.read(uri),
    ):
        with pytest.raises(UnsupportedTableFeatureError, match="deletionVectors"):
            refused()
    assert log_snapshot(uri) == log_before

    result = spark_engine.restore(uri, good, commit_metadata=WHY)
    assert not result.noop
    assert spark_engine.fingerprint(uri, SHAPE) == good_fingerprint
    assert spark_engine.row_counts(uri, SHAPE).total == 30
    assert spark_engine.history(uri, limit=1)[0].user_metadata == WHY


def test_the_fingerprint_does_not_depend_on_how_spark_partitions_the_rows(
    spark_engine: SparkEngine, deltars_engine: DeltaRsEngine, tmp_path: Path
) -> None:
    """Partial fingerprints of any partitioning (empty partitions too) combine to one value."""
    uri = str(tmp_path / "account")
    for start in range(0, 60, 15):
        deltars_engine.append(uri, rows(ids(start, start + 15), deleted=ids(start, start + 2)))
    expected = deltars_engine.fingerprint(uri, SHAPE)
    frame = shared_spark_session().read.format("delta").load(uri)
    frame = frame.select(*(SHAPE.record_state_columns(frame.columns) or frame.columns))
    partitioned = [frame.coalesce(1), frame, frame.repartition(7), frame.repartition(3, "name")]
    assert spark_engine._fingerprints(partitioned) == [expected] * len(partitioned)
    assert spark_engine.fingerprint(uri, SHAPE) == expected
