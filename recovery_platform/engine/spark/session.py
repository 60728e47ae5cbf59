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
    "DEFAULT_APP_NAME",
    "DEFAULT_IVY_DIR",
    "DEFAULT_MASTER",
    "DELTA_JAR_VERSION_ENV",
    "build_spark_session",
    "delta_jar_version",
    "delta_maven_coordinates",
    "delta_spark_conf",
    "prepare_local_workers",
    "session_config",
]

DELTA_JAR_VERSION_ENV = "RECOVERY_PLATFORM_DELTA_JAR_VERSION"
"""Overrides the Delta jar version, e.g. for a site whose Maven mirror lags behind PyPI."""

DEFAULT_MASTER = "local[*]"
"""Spark in this process on every core: the platform's default when no cluster is named."""

DEFAULT_APP_NAME = "recovery_platform"

DEFAULT_IVY_DIR = Path.home() / ".cache" / "recovery_platform" / "ivy"
"""Where Spark's Ivy resolution caches the Delta jars between runs (and between CI jobs)."""

def delta_jar_version() -> str:
    """The Delta Spark jar version: the installed `delta-spark`'s, unless overridden.

    The Python API and the jar must come from the same Delta release, so the version is read
    from the installed package rather than written down twice. `delta-spark` is pinned to a
    release whose jar Maven Central holds (see the README's "Spark and Delta versions").
    """
    return os.environ.get(DELTA_JAR_VERSION_ENV) or metadata.version("delta-spark")


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


def session_config(
    *,
    master: str = DEFAULT_MASTER,
    remote: str | None = None,
    app_name: str = DEFAULT_APP_NAME,
    ivy_dir: str | Path | None = DEFAULT_IVY_DIR,
    extra_conf: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every setting of the platform's session, where it runs included, as one plain dict.

    This is what dagster-pyspark's `PySparkResource(spark_config=...)` takes, so a Dagster run,
    a script and the tests start their sessions from the same settings.

    Args:
        master: Spark master URL (`local[*]`, `spark://host:7077`, `yarn`, ...); ignored when
            `remote` is given.
        remote: a Spark Connect URL such as `sc://host:15002`. The server is configured on its
            side (Delta jars and extensions are static settings a client cannot change), so
            only runtime settings are sent.
        app_name: the application name shown in the Spark UI and logs.
        ivy_dir: Ivy cache for the Delta jars (see `delta_spark_conf`).
        extra_conf: site settings applied last.
    """
    if remote is not None:
        return {
            "spark.remote": remote,
            "spark.app.name": app_name,
            "spark.sql.session.timeZone": "UTC",
            **(extra_conf or {}),
        }
    python = sys.executable if master.startswith("local") else None
    return {
        "spark.master": master,
        "spark.app.name": app_name,
        **delta_spark_conf(ivy_dir=ivy_dir, pyspark_python=python, extra_conf=extra_conf),
    }


def prepare_local_workers(config: Mapping[str, str]) -> None:
    """Make a local master's Python workers run this interpreter (the venv, with pyarrow).

    A session started from Python takes its workers' interpreter from `PYSPARK_PYTHON` when the
    session starts (`spark.pyspark.python` is read by spark-submit only), and the default,
    `python3` on the PATH, lacks the platform's packages. An explicit `PYSPARK_PYTHON` wins;
    cluster masters and Spark Connect are left to the cluster's own setting.
    """
    if "spark.remote" in config:
        return
    if str(config.get("spark.master", "")).startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def build_spark_session(
    master: str = DEFAULT_MASTER,
    *,
    app_name: str = DEFAULT_APP_NAME,
    extra_conf: Mapping[str, str] | None = None,
    remote: str | None = None,
) -> SparkSession:
    """A Spark session with Delta Lake, outside Dagster (scripts, benchmarks).

    The arguments are those of `session_config`; the Dagster layer starts the same session
    through dagster-pyspark instead.

    Returns:
        The (possibly already running) session.
    """
    from pyspark.sql import SparkSession

    config = session_config(master=master, remote=remote, app_name=app_name,
                            extra_conf=extra_conf)
    prepare_local_workers(config)
    builder = SparkSession.builder
    for key, value in config.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
