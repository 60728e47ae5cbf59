"""Reaching a Delta table and its versions through Spark, with Spark's errors in the seam's words.

Recovery asks for old versions that may be gone: log cleanup, a vacuum or the table's own
retention can each make one unreadable. A missing table is reported as `TableNotFoundError`
before any Spark job runs, and a version Spark cannot load, or whose files are gone, as
`VersionNotAvailableError` (`version_errors`), so callers never parse Spark's messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    "TableDetail",
    "check_features",
    "delta_table",
    "latest_version",
    "table_detail",
    "table_exists",
    "table_frame",
    "version_errors",
    "writable",
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


@dataclass(frozen=True)
class TableDetail:
    """What one DESCRIBE DETAIL tells about the latest version: read once per operation."""

    uri: str
    table_id: str
    properties: dict[str, str]
    protocol: TableProtocol


def table_detail(spark: SparkSession, uri: str) -> TableDetail:
    """The table's id, properties and protocol, from one DESCRIBE DETAIL.

    Raises:
        TableNotFoundError: no Delta table lives at `uri`.
    """
    from delta.tables import DeltaTable

    if not table_exists(spark, uri):
        raise TableNotFoundError(f"no Delta table at {uri}")
    with version_errors(uri, None):
        row = DeltaTable.forPath(spark, uri).detail().select(
            "id", "properties", "minReaderVersion", "minWriterVersion", "tableFeatures"
        ).collect()[0]
    # Spark lists every feature, legacy ones included, in one list
    protocol = TableProtocol.of_union(
        row["minReaderVersion"], row["minWriterVersion"], row["tableFeatures"] or ()
    )
    properties = {str(k): str(v) for k, v in (row["properties"] or {}).items()}
    return TableDetail(uri, str(row["id"]), properties, protocol)


def check_features(detail: TableDetail, *, writing: bool) -> None:
    """Refuse a table whose protocol needs a feature outside this engine's allowlist.

    Raises:
        UnsupportedTableFeatureError: naming the first such feature; nothing was read.
    """
    feature = detail.protocol.first_unsupported(READER_FEATURES, WRITER_FEATURES,
                                                writing=writing)
    if feature is not None:
        raise UnsupportedTableFeatureError(
            detail.uri, feature, ENGINE_NAME, operation="write to" if writing else "read"
        )


def writable(spark: SparkSession, uri: str) -> TableDetail:
    """The table's detail, once the engine is known to be able to write it.

    Raises:
        TableNotFoundError: no Delta table lives at `uri`.
        UnsupportedTableFeatureError: the table needs a feature this engine cannot write.
    """
    detail = table_detail(spark, uri)
    check_features(detail, writing=True)
    return detail


def table_exists(spark: SparkSession, uri: str) -> bool:
    """Whether a Delta table lives at `uri`."""
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, uri))


def delta_table(spark: SparkSession, uri: str, detail: TableDetail | None = None) -> DeltaTable:
    """The table at `uri` for the Delta Lake Python API, once its features are checked.

    Pass the operation's `detail` when it has one, so the table is described only once.

    Raises:
        TableNotFoundError: no Delta table lives at `uri`.
    """
    from delta.tables import DeltaTable

    check_features(detail or table_detail(spark, uri), writing=True)
    return DeltaTable.forPath(spark, uri)


def table_frame(
    spark: SparkSession, uri: str, version: int | None = None, detail: TableDetail | None = None
) -> DataFrame:
    """The table's rows at a version, as a lazy DataFrame (nothing is read yet)."""
    if version is not None:
        version = checked_int(version, "version")
    check_features(detail or table_detail(spark, uri), writing=False)
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    with version_errors(uri, version):
        frame = reader.load(uri)
        frame.schema  # noqa: B018 - resolving the schema loads the log at that version
    return frame


def latest_version(spark: SparkSession, uri: str, detail: TableDetail | None = None) -> int:
    """The table's latest version, from its last commit."""
    table = delta_table(spark, uri, detail)
    return int(table.history(1).select("version").collect()[0]["version"])
