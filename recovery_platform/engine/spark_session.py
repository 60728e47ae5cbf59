"""The Spark settings the Spark engine needs, and a session built from them.

The settings are exposed as a plain dict (`delta_spark_conf`) so that the Dagster layer can build a
`PySparkResource(spark_config=...)` from the very same values that tests and scripts use through
`build_spark_session`. Nothing here imports dagster.

The Delta jars are resolved by Spark itself (Ivy, from Maven Central) on the first session start
and cached in the Ivy directory, so a fresh machine needs no manual step.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "DEFAULT_IVY_DIR",
    "DELTA_JAR_VERSION_ENV",
    "build_spark_session",
    "delta_jar_version",
    "delta_maven_coordinates",
    "delta_spark_conf",
]

DELTA_JAR_VERSION_ENV = "RECOVERY_PLATFORM_DELTA_JAR_VERSION"
"""Overrides the Delta jar version, e.g. for a site whose Maven mirror lags behind PyPI."""

DEFAULT_IVY_DIR = Path.home() / ".cache" / "recovery_platform" / "ivy"
"""Where Spark's Ivy resolution caches the Delta jars between runs (and between CI jobs)."""

_UNPUBLISHED_JARS = {"4.4.1": "4.4.0"}
"""Python releases of delta-spark whose Spark jar is not on Maven Central, and the jar to use.

delta-spark 4.4.1 on PyPI is byte-for-byte the 4.4.0 Python package (only `version.py`
differs), while Maven Central holds no `io.delta:delta-spark_4.2_2.13:4.4.1`; the 4.4.0 jar is
the one the Python API was released against.
"""


def delta_jar_version() -> str:
    """The Delta Spark jar version matching the installed `delta-spark` Python package."""
    override = os.environ.get(DELTA_JAR_VERSION_ENV)
    if override:
        return override
    installed = metadata.version("delta-spark")
    return _UNPUBLISHED_JARS.get(installed, installed)


def _scala_binary_version() -> str:
    """The Scala binary version pyspark was built with, read from its bundled scala-library."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    for jar in sorted(jars.glob("scala-library-*.jar")):
        match = re.match(r"scala-library-(\d+\.\d+)\.", jar.name)
        if match:
            return match.group(1)
    return "2.13"


def delta_maven_coordinates() -> str:
    """`io.delta:delta-spark_<spark major.minor>_<scala>:<version>` for the installed packages.

    The artifact naming follows `delta.pip_utils.configure_spark_with_delta_pip`: since Delta
    4.1 the artifact carries the Spark major.minor version.
    """
    import pyspark

    spark_major_minor = ".".join(pyspark.__version__.split(".")[:2])
    artifact = f"delta-spark_{spark_major_minor}_{_scala_binary_version()}"
    return f"io.delta:{artifact}:{delta_jar_version()}"


def delta_spark_conf(
    *,
    ivy_dir: str | Path | None = DEFAULT_IVY_DIR,
    pyspark_python: str | None = None,
    extra_conf: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The Spark configuration that makes a session a Delta Lake session for this platform.

    Args:
        ivy_dir: Ivy cache for the Delta jars; None leaves Spark's default (`~/.ivy2`).
        pyspark_python: the interpreter for Python workers (`spark.pyspark.python`, read by
            spark-submit and cluster managers). A session started from Python reads the
            `PYSPARK_PYTHON` environment variable instead; `build_spark_session` sets both for a
            local master so that workers see the driver's packages (numpy, pyarrow).
        extra_conf: site settings (storage credentials, memory, ...) applied last.

    Returns:
        A dict suitable for `SparkSession.builder.config(map=...)` or
        `PySparkResource(spark_config=...)`.
    """
    conf = {
        "spark.jars.packages": delta_maven_coordinates(),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
    }
    if ivy_dir is not None:
        conf["spark.jars.ivy"] = str(ivy_dir)
    if pyspark_python is not None:
        conf["spark.pyspark.python"] = pyspark_python
    conf.update(extra_conf or {})
    return conf


def build_spark_session(
    master: str = "local[2]",
    *,
    app_name: str,
    extra_conf: Mapping[str, str] | None = None,
    remote: str | None = None,
) -> SparkSession:
    """A Spark session with Delta Lake, local/cluster (`master`) or Spark Connect (`remote`).

    A Spark Connect server is configured on its side (Delta jars and extensions are static
    settings the client cannot change), so with `remote` only the runtime settings apply.

    Args:
        master: Spark master URL, ignored when `remote` is given. With a `local` master the
            Python workers use this interpreter.
        app_name: the application name shown in the Spark UI and logs.
        extra_conf: site settings applied on top of `delta_spark_conf`.
        remote: a Spark Connect URL such as `sc://host:15002`.

    Returns:
        The (possibly already running) session.
    """
    from pyspark.sql import SparkSession

    if remote is not None:
        runtime = {"spark.sql.session.timeZone": "UTC", **(extra_conf or {})}
        session = SparkSession.builder.remote(remote).appName(app_name).getOrCreate()
        for key, value in runtime.items():
            session.conf.set(key, value)
        return session
    builder = SparkSession.builder.master(master).appName(app_name)
    python = None
    if master.startswith("local"):
        python = os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in delta_spark_conf(pyspark_python=python, extra_conf=extra_conf).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
