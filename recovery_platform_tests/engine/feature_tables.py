"""Tables with protocol features our own writes never produce, built by delta-spark.

Each is a small table of two commits (create, insert) written by Spark with one feature, as
Databricks or a Spark job would leave it; tests copy it before writing. `FUTURE_FEATURE` adds
a protocol no engine knows, by writing the protocol action itself.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from recovery_platform_tests.spark_support import shared_spark_session


@dataclass(frozen=True)
class FeatureTable:
    """How to build one table, and the feature that delta-rs must refuse, if any."""

    columns: str
    properties: dict[str, str]
    after_create: tuple[str, ...] = ()
    refused_by_deltars_to_read: str | None = None
    refused_by_deltars_to_write: str | None = None
    optimize_refused_by_deltars: str | None = None


FEATURE_TABLES: dict[str, FeatureTable] = {
    "v2 checkpoints": FeatureTable(
        "accountid STRING, amount INT",
        {"delta.checkpointPolicy": "v2", "delta.checkpointInterval": "1"},
        refused_by_deltars_to_read="v2Checkpoint",
    ),
    "identity column": FeatureTable(
        "rowid BIGINT GENERATED ALWAYS AS IDENTITY, accountid STRING, amount INT", {},
        refused_by_deltars_to_write="identityColumns",
    ),
    "check constraint": FeatureTable(
        "accountid STRING, amount INT", {},
        after_create=("ALTER TABLE {table} ADD CONSTRAINT positive CHECK (amount > 0)",),
    ),
    "generated column": FeatureTable(
        "accountid STRING, amount INT, doubled INT GENERATED ALWAYS AS (amount * 2)", {},
    ),
    "column mapping": FeatureTable(
        "accountid STRING, amount INT",
        {"delta.columnMapping.mode": "name", "delta.minReaderVersion": "2",
         "delta.minWriterVersion": "5"},
        optimize_refused_by_deltars="columnMapping",
    ),
    "legacy writer version 6": FeatureTable(
        "accountid STRING, amount INT",
        {"delta.minReaderVersion": "1", "delta.minWriterVersion": "6"},
        refused_by_deltars_to_write="identityColumns",
    ),
    "row tracking": FeatureTable(
        "accountid STRING, amount INT", {"delta.enableRowTracking": "true"},
        refused_by_deltars_to_write="domainMetadata",
    ),
}


def build_feature_tables(root: Path) -> dict[str, Path]:
    """Every table of `FEATURE_TABLES` under `root`, by name, each at version 2 or more."""
    spark = shared_spark_session()
    built = {}
    for index, (name, spec) in enumerate(FEATURE_TABLES.items()):
        path = root / f"feature_{index}"
        table = f"delta.`{path}`"
        properties = ", ".join(f"'{k}' = '{v}'" for k, v in spec.properties.items())
        spark.sql(
            f"CREATE TABLE {table} ({spec.columns}) USING delta"
            + (f" TBLPROPERTIES ({properties})" if properties else "")
        )
        for statement in spec.after_create:
            spark.sql(statement.format(table=table))
        spark.sql(f"INSERT INTO {table} (accountid, amount) VALUES ('a', 1), ('b', 2)")
        spark.sql(f"INSERT INTO {table} (accountid, amount) VALUES ('c', 3)")
        built[name] = path
    return built


def copy_table(source: Path, target: Path) -> str:
    """A private copy to write to; the built table stays as it was."""
    shutil.copytree(source, target)
    return str(target)


FUTURE_FEATURE = "futureFeaturePreview"


def add_future_feature(uri: str) -> None:
    """Commit a protocol that requires a reader and writer feature no engine knows."""
    log = Path(uri) / "_delta_log"
    latest = max(int(p.stem) for p in log.glob("*.json"))
    protocol = {"protocol": {
        "minReaderVersion": 3, "minWriterVersion": 7,
        "readerFeatures": [FUTURE_FEATURE], "writerFeatures": [FUTURE_FEATURE],
    }}
    commit = {"commitInfo": {"timestamp": 1_700_000_000_000, "operation": "SET TBLPROPERTIES",
                             "operationParameters": {}}}
    (log / f"{latest + 1:020d}.json").write_text(
        json.dumps(commit) + "\n" + json.dumps(protocol) + "\n"
    )
