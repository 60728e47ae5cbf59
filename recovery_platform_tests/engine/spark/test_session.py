"""The Spark session settings: Delta coordinates derived from the installed packages."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import delta
import pyspark
import pytest

from recovery_platform.engine.spark import SparkEngine
from recovery_platform.engine.spark.session import (
    DELTA_JAR_VERSION_ENV,
    delta_jar_version,
    delta_maven_coordinates,
    delta_spark_conf,
)
from recovery_platform_tests.spark_support import shared_spark_session


def test_coordinates_follow_the_installed_pyspark_and_delta_spark(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DELTA_JAR_VERSION_ENV, raising=False)
    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    group, artifact, version = delta_maven_coordinates().split(":")
    assert group == "io.delta"
    assert artifact == f"delta-spark_{spark_minor}_2.13"
    assert version == metadata.version("delta-spark")


def _release_of_the_delta_python_api() -> str:
    """The version of the installed distribution that provides the `delta` package we import.

    Read from its `.dist-info` folder on disk (the one whose RECORD lists `delta/__init__.py`),
    not through `importlib.metadata`, which the code under test uses.
    """
    site = Path(delta.__file__).resolve().parents[1]
    owners = [
        info for info in site.glob("*.dist-info")
        if (info / "RECORD").is_file()
        and any(line.startswith("delta/__init__.py,")
                for line in (info / "RECORD").read_text().splitlines())
    ]
    assert len(owners) == 1, owners
    lines = (owners[0] / "METADATA").read_text().splitlines()
    return next(line.removeprefix("Version: ") for line in lines if line.startswith("Version: "))


def test_the_jar_version_follows_the_installed_python_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an override, the jar is the release of the `delta` Python API in this venv."""
    monkeypatch.delenv(DELTA_JAR_VERSION_ENV, raising=False)
    installed = _release_of_the_delta_python_api()
    assert delta_jar_version() == installed
    assert delta_maven_coordinates().endswith(f":{installed}")
    monkeypatch.setenv(DELTA_JAR_VERSION_ENV, "")  # set but empty is no override
    assert delta_jar_version() == installed


def test_the_session_asks_for_the_jar_of_the_pinned_releases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyproject pins pyspark and delta-spark exactly; the jar follows both pins."""
    monkeypatch.delenv(DELTA_JAR_VERSION_ENV, raising=False)
    project = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    pins = dict(d.split("==") for d in project["project"]["dependencies"])
    assert metadata.version("delta-spark") == pins["delta-spark"]
    assert pyspark.__version__ == pins["pyspark"]
    spark_minor = ".".join(pins["pyspark"].split(".")[:2])
    assert delta_maven_coordinates() == (
        f"io.delta:delta-spark_{spark_minor}_2.13:{pins['delta-spark']}"
    )


def test_the_jar_version_can_be_pinned_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DELTA_JAR_VERSION_ENV, "4.3.1")
    assert delta_maven_coordinates().endswith(":4.3.1")


def test_conf_is_a_plain_dict_for_pyspark_resource() -> None:
    conf = delta_spark_conf(ivy_dir="/cache/ivy", extra_conf={"spark.executor.memory": "2g"})
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert (
        conf["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    )
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.jars.ivy"] == "/cache/ivy"
    assert conf["spark.executor.memory"] == "2g"
    assert conf["spark.jars.packages"] == delta_maven_coordinates()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in conf.items())
    assert "spark.jars.ivy" not in delta_spark_conf(ivy_dir=None)


@pytest.mark.spark
def test_the_shared_session_is_a_delta_session_in_utc() -> None:
    spark = shared_spark_session()
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.sparkContext.master == "local[2]"
    assert shared_spark_session() is spark


@pytest.mark.spark
def test_capabilities_declare_the_spark_differences() -> None:
    capabilities = SparkEngine(shared_spark_session()).capabilities
    assert capabilities.name == "spark"
    assert capabilities.reads_deletion_vectors
    assert not capabilities.vacuum_keep_versions
    assert not capabilities.restore_commit_metadata
    assert not capabilities.concurrent_restores
    assert capabilities.requires_in_process_executor
    assert not capabilities.parallel_tables
