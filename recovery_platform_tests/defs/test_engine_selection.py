"""Choosing the engine and its Spark session by configuration: environment and resource config.

The Spark session comes from dagster-pyspark's resource nested in `LakehouseResource`; storage
credentials given as `dg.EnvVar` reach the Spark session's Hadoop configuration inside a run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_deltalake import S3Config

from recovery_platform.definitions import build_definitions
from recovery_platform.defs.resources import (
    ENGINE_ENV,
    ENGINES,
    SPARK_CONF_ENV,
    SPARK_MASTER_ENV,
    SPARK_REMOTE_ENV,
    LakehouseResource,
    engine_capabilities,
    run_executor,
    spark_config_from_env,
)
from recovery_platform.engine.spark import SparkEngine
from recovery_platform.engine.spark.session import (
    DEFAULT_MASTER,
    delta_maven_coordinates,
    prepare_local_workers,
)
from recovery_platform_tests.spark_support import shared_spark_session, spark_resource


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (ENGINE_ENV, SPARK_MASTER_ENV, SPARK_REMOTE_ENV, SPARK_CONF_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_job_runs_in_process_because_an_engine_requires_it() -> None:
    required = [n for n in ENGINES if engine_capabilities(n).requires_in_process_executor]
    assert required == ["spark"]
    assert run_executor() is dg.in_process_executor
    assert run_executor(("deltars",)) is dg.multiprocess_executor
    defs = build_definitions()
    for job in ("daily_sync_job", "manual_checkpoint_job", "purge_metadata_job", "rollback_job"):
        assert defs.resolve_job_def(job).executor_def is dg.in_process_executor, job


def test_spark_settings_default_to_a_local_delta_session(clean_env: pytest.MonkeyPatch) -> None:
    config = spark_config_from_env()
    assert config["spark.master"] == DEFAULT_MASTER
    assert config["spark.jars.packages"] == delta_maven_coordinates()
    assert config["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert config["spark.pyspark.python"] == sys.executable
    assert "spark.remote" not in config


def test_spark_master_and_extra_settings_come_from_the_environment(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv(SPARK_MASTER_ENV, "spark://spark-master:7077")
    clean_env.setenv(SPARK_CONF_ENV, json.dumps({"spark.executor.memory": "4g"}))
    config = spark_config_from_env()
    assert config["spark.master"] == "spark://spark-master:7077"
    assert config["spark.executor.memory"] == "4g"
    assert "spark.pyspark.python" not in config
    clean_env.setenv(SPARK_CONF_ENV, '["spark.executor.memory"]')
    with pytest.raises(ValueError, match=SPARK_CONF_ENV):
        spark_config_from_env()


def test_a_spark_connect_remote_sends_runtime_settings_only(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv(SPARK_MASTER_ENV, "spark://ignored:7077")
    clean_env.setenv(SPARK_REMOTE_ENV, "sc://connect-host:15002")
    config = spark_config_from_env()
    assert config["spark.remote"] == "sc://connect-host:15002"
    assert config["spark.sql.session.timeZone"] == "UTC"
    assert "spark.master" not in config
    assert "spark.jars.packages" not in config


def test_local_workers_run_this_interpreter_unless_told_otherwise(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.delenv("PYSPARK_PYTHON", raising=False)
    prepare_local_workers({"spark.master": "spark://cluster:7077"})
    assert "PYSPARK_PYTHON" not in os.environ
    prepare_local_workers({"spark.remote": "sc://host", "spark.master": "local[2]"})
    assert "PYSPARK_PYTHON" not in os.environ
    prepare_local_workers({"spark.master": "local[2]"})
    assert os.environ["PYSPARK_PYTHON"] == sys.executable
    clean_env.setenv("PYSPARK_PYTHON", "/opt/python/bin/python3")
    prepare_local_workers({"spark.master": "local[2]"})
    assert os.environ["PYSPARK_PYTHON"] == "/opt/python/bin/python3"


def test_the_engine_is_chosen_by_environment_and_spark_is_not_started_by_loading(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv(ENGINE_ENV, "spark")
    clean_env.setenv(SPARK_MASTER_ENV, "local[2]")
    resource = build_definitions().resources["lakehouse"]
    assert resource.engine == "spark"
    assert resource.spark.spark_config["spark.master"] == "local[2]"
    assert resource.spark._spark_session is None
    clean_env.delenv(ENGINE_ENV)
    assert build_definitions().resources["lakehouse"].engine == "deltars"


@pytest.mark.spark
def test_a_run_gets_the_spark_engine_with_envvar_credentials_on_its_session(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("TEST_S3_KEY_ID", "AKIA-test")
    clean_env.setenv("TEST_S3_SECRET", "secret-from-env")
    spark = shared_spark_session()
    seen: dict[str, object] = {}

    @dg.op
    def open_lakehouse(lakehouse: LakehouseResource) -> None:
        engine = lakehouse.lakehouse().engine
        seen["engine"] = engine
        seen["session"] = engine._spark if isinstance(engine, SparkEngine) else None

    @dg.job
    def probe() -> None:
        open_lakehouse()

    resource = LakehouseResource(
        root="s3a://bucket/lakehouse",
        engine="spark",
        storage=S3Config(
            access_key_id=dg.EnvVar("TEST_S3_KEY_ID"),
            secret_access_key=dg.EnvVar("TEST_S3_SECRET"),
            region="eu-west-1",
        ),
        spark=spark_resource(),
    )
    try:
        assert probe.execute_in_process(resources={"lakehouse": resource}).success
        assert isinstance(seen["engine"], SparkEngine)
        assert seen["session"] is spark
        hadoop = spark._jsparkSession.sessionState().newHadoopConf()
        assert hadoop.get("fs.s3a.access.key") == "AKIA-test"
        assert hadoop.get("fs.s3a.secret.key") == "secret-from-env"
        assert hadoop.get("fs.s3a.endpoint.region") == "eu-west-1"
    finally:
        for key in ("fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.endpoint.region"):
            spark.conf.unset(key)


def test_an_unknown_engine_is_refused_naming_the_field_and_the_engines(
    clean_env: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match=r"field 'engine': unknown engine 'sparc'; "
                       r"allowed: deltars, spark"):
        LakehouseResource(engine="sparc")
    clean_env.setenv(ENGINE_ENV, "sparc")
    with pytest.raises(ValueError, match=rf"unknown engine 'sparc'.*{ENGINE_ENV}"):
        LakehouseResource()


def test_sensors_read_metadata_on_the_embedded_engine_whatever_the_jobs_use(
    tmp_path: Path,
) -> None:
    """A sensor tick in the daemon never starts a Spark session."""
    from recovery_platform.engine.deltars import DeltaRsEngine

    resource = LakehouseResource(root=str(tmp_path / "lake"), engine="spark")
    house = resource.metadata_lakehouse()
    assert isinstance(house.engine, DeltaRsEngine)
    assert house.root == resource.root and resource.spark is None
