"""Reaching a Delta table and its versions through Spark, with Spark's errors in the seam's words.

Recovery asks for old versions that may be gone: log cleanup, a vacuum or the table's own
retention can each make one unreadable. A missing table is reported as `TableNotFoundError`
before any Spark job runs, and a version Spark cannot load, or whose files are gone, as
`VersionNotAvailableError` (`version_errors`), so callers never parse Spark's messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from recovery_platform.engine.errors import TableNotFoundError, UnsupportedTableFeatureError
from recovery_platform.engine.guard import Call
from recovery_platform.engine.protocol import TableProtocol
from recovery_platform.engine.spark.errors import ENGINE_NAME, translate
from recovery_platform.engine.spark.sql import checked_int

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "READER_FEATURES",
    "WRITER_FEATURES",
    "check_features",
    "delta_table",
    "latest_version",
    "table_exists",
    "table_frame",
    "table_id_of",
    "table_properties",
    "version_errors",
]

READER_FEATURES = frozenset({
    "columnMapping", "deletionVectors", "timestampNtz", "v2Checkpoint", "typeWidening",
    "vacuumProtocolCheck",
})
"""Reader features of tables Spark + Delta Lake reads correctly, each built and tested here."""
WRITER_FEATURES = READER_FEATURES | {
    "appendOnly", "invariants", "checkConstraints", "changeDataFeed", "generatedColumns",
    "identityColumns", "domainMetadata", "rowTracking", "inCommitTimestamp",
}
"""Features of tables Spark + Delta Lake commits to correctly, each built and tested here."""


@contextmanager
def version_errors(uri: str, version: int | None) -> Iterator[None]:
    """Translate Spark's errors into the seam's errors where the version is known.

    The guard would translate them too, but without the version a read asked for.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JJavaError) as exc:
        raise translate(exc, Call("read", uri, version)) from exc


def check_features(spark: SparkSession, uri: str, *, writing: bool) -> None:
    """Refuse a table whose protocol needs a feature outside this engine's allowlist.

    Raises:
        UnsupportedTableFeatureError: naming the first such feature; nothing was read.
    """
    from delta.tables import DeltaTable

    with version_errors(uri, None):
        row = DeltaTable.forPath(spark, uri).detail().select(
            "minReaderVersion", "minWriterVersion", "tableFeatures"
        ).collect()[0]
    # Spark lists every feature, legacy ones included, in one list
    protocol = TableProtocol.of_union(
        row["minReaderVersion"], row["minWriterVersion"], row["tableFeatures"] or ()
    )
    feature = protocol.first_unsupported(READER_FEATURES, WRITER_FEATURES, writing=writing)
    if feature is not None:
        raise UnsupportedTableFeatureError(
            uri, feature, ENGINE_NAME, operation="write to" if writing else "read"
        )


def table_exists(spark: SparkSession, uri: str) -> bool:
    """Whether a Delta table lives at `uri`."""
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, uri))


def delta_table(spark: SparkSession, uri: str) -> DeltaTable:
    """The table at `uri` for the Delta Lake Python API.

    Raises:
        TableNotFoundError: no Delta table lives at `uri`.
    """
    from delta.tables import DeltaTable

    if not table_exists(spark, uri):
        raise TableNotFoundError(f"no Delta table at {uri}")
    check_features(spark, uri, writing=True)
    return DeltaTable.forPath(spark, uri)


def table_frame(spark: SparkSession, uri: str, version: int | None = None) -> DataFrame:
    """The table's rows at a version, as a lazy DataFrame (nothing is read yet)."""
    if version is not None:
        version = checked_int(version, "version")
    if not table_exists(spark, uri):
        raise TableNotFoundError(f"no Delta table at {uri}")
    check_features(spark, uri, writing=False)
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    with version_errors(uri, version):
        frame = reader.load(uri)
        frame.schema  # noqa: B018 - resolving the schema loads the log at that version
    return frame


def latest_version(spark: SparkSession, uri: str) -> int:
    """The table's latest version, from its last commit."""
    return int(delta_table(spark, uri).history(1).select("version").collect()[0]["version"])


def table_id_of(table: DeltaTable) -> str:
    """The table id Delta gave the table at creation (a recreated table gets a new one)."""
    return str(table.detail().select("id").collect()[0]["id"])


def table_properties(table: DeltaTable) -> dict[str, str]:
    """The table's properties (`delta.*` and others)."""
    rows = table.detail().select("properties").collect()
    return {str(k): str(v) for k, v in (rows[0]["properties"] or {}).items()}
