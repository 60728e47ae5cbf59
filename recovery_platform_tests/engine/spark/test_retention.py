"""Spark refuses time travel beyond `delta.deletedFileRetentionDuration`; delta-rs does not.

Finding (Spark 4.2 with the Delta 4.4 jar): reading or restoring any version other than the
latest whose commit is older than now minus the table's `delta.deletedFileRetentionDuration`
fails with DELTA_UNSUPPORTED_TIME_TRAVEL_BEYOND_DELETED_FILE_RETENTION_DURATION, although its
log and files are intact. The check reads the property at the time of the query (raising it
makes the version readable again) and is governed by the session setting
`spark.databricks.delta.vacuum.enforceTimeTravelWithinDeletedFileRetentionDuration` (default
true). The platform's retention rule (both retention properties >= the checkpoint's retention)
is what keeps both engines' decisions the same.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.retention import (
    FILE_RETENTION,
    LOG_RETENTION,
    covers,
    required_changes,
)
from recovery_platform.engine import VersionNotAvailableError
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform.engine.spark import SparkEngine
from recovery_platform_tests.engine.bronze import SCHEMA, ids, rows
from recovery_platform_tests.spark_support import shared_spark_session

pytestmark = pytest.mark.spark

SHORT = {"delta.deletedFileRetentionDuration": "interval 2 seconds"}


def test_spark_refuses_versions_older_than_the_deleted_file_retention(tmp_path: Path) -> None:
    spark_engine = SparkEngine(shared_spark_session())
    uri = str(tmp_path / "account")
    spark_engine.create_table(uri, SCHEMA, properties=SHORT)
    spark_engine.append(uri, rows(ids(0, 5)))
    spark_engine.append(uri, rows(ids(5, 10)))
    table_id = spark_engine.state(uri).table_id
    time.sleep(3)

    assert not covers(spark_engine.get_properties(uri), days=1)
    with pytest.raises(VersionNotAvailableError, match="deletedFileRetentionDuration"):
        spark_engine.read(uri, version=1)
    with pytest.raises(VersionNotAvailableError, match="deletedFileRetentionDuration"):
        spark_engine.restore(uri, 1, commit_metadata={"recovery_platform.reason": "test"})
    assert spark_engine.state(uri).version == 2
    verdict = spark_engine.is_restorable(uri, 1, table_id)
    assert not verdict.restorable
    assert "deletedFileRetentionDuration" in (verdict.reason or "")
    assert spark_engine.read(uri, version=2).num_rows == 10

    assert DeltaRsEngine().read(uri, version=1).num_rows == 5

    spark_engine.set_properties(uri, {"delta.deletedFileRetentionDuration": "interval 7 days"})
    assert covers(spark_engine.get_properties(uri), days=7)
    assert spark_engine.is_restorable(uri, 1, table_id).restorable
    assert spark_engine.read(uri, version=1).num_rows == 5


@pytest.mark.parametrize("writer", ["deltars", "spark"])
def test_the_retention_rule_decides_the_same_on_both_engines(tmp_path: Path, writer: str) -> None:
    engines = {"deltars": DeltaRsEngine(), "spark": SparkEngine(shared_spark_session())}
    uri = str(tmp_path / "account")
    engines[writer].create_table(
        uri,
        SCHEMA,
        properties={LOG_RETENTION: "interval 14 days", FILE_RETENTION: "interval 2 weeks"},
    )
    engines[writer].append(uri, rows(ids(0, 5)))
    for days, accepted in ((7, True), (14, True), (15, False), (30, False)):
        decisions = {name: covers(e.get_properties(uri), days) for name, e in engines.items()}
        assert decisions == {"deltars": accepted, "spark": accepted}, days

    other = engines["spark" if writer == "deltars" else "deltars"]
    other.set_properties(uri, required_changes(other.get_properties(uri), 30))
    for engine in engines.values():
        assert covers(engine.get_properties(uri), 30)
        assert not covers(engine.get_properties(uri), 31)
        assert engine.read(uri, version=1).num_rows == 5
