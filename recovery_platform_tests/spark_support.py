"""One Spark session for the whole test run: small, quiet and quick on two cores.

Created on first use (`shared_spark_session`) and stopped when the interpreter exits. The first
creation on a fresh machine lets Spark's Ivy resolve the Delta jars from Maven Central into
`~/.cache/recovery_platform/ivy` (override with RECOVERY_PLATFORM_IVY_DIR); later runs, and CI
jobs that cache that folder, start from the cache.
"""

from __future__ import annotations

import atexit
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from dagster_pyspark import LazyPySparkResource

from recovery_platform.engine.spark.session import (
    DEFAULT_IVY_DIR,
    prepare_local_workers,
    session_config,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

IVY_DIR_ENV = "RECOVERY_PLATFORM_IVY_DIR"

TEST_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "1536m",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.databricks.delta.snapshotPartitions": "1",
    "spark.sql.files.minPartitionNum": "1",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
    "spark.python.worker.reuse": "true",
}
"""Settings for tiny test tables: few partitions, no UI, no adaptive planning or codegen
(whose per-query planning and compile cost dominates when tables have a few rows), and a
file-listing parallelism of 2 instead of 10,000 tasks (VACUUM lists the table with it)."""


def ivy_dir() -> Path:
    """Where the Delta jars are cached between test runs."""
    return Path(os.environ.get(IVY_DIR_ENV, str(DEFAULT_IVY_DIR)))


def spark_test_config() -> dict[str, str]:
    """The tests' session settings, in the form dagster-pyspark's resources take."""
    return session_config(
        master="local[2]",
        app_name="recovery_platform_tests",
        ivy_dir=ivy_dir(),
        extra_conf=TEST_CONF,
    )


def spark_resource() -> LazyPySparkResource:
    """dagster-pyspark's session resource with the tests' settings (the shared session)."""
    return LazyPySparkResource(spark_config=spark_test_config())


@functools.cache
def shared_spark_session() -> SparkSession:
    """The test run's Spark session with Delta Lake (`local[2]`), created once.

    Started through the same resource and settings a Dagster run uses, so a run inside a test
    (`spark_resource()`) gets this very session back instead of a second one.
    """
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    resource = spark_resource()
    prepare_local_workers(resource.spark_config)
    session: SparkSession = resource.spark_session
    session.sparkContext.setLogLevel("ERROR")
    atexit.register(session.stop)
    return session
