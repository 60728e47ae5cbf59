"""Validating bronze tables as they are now, without syncing anything.

An operator who runs a table's checks from the Dagster UI asks "do the invariants hold now?":
the answer reads each table's current version (and its parents' current versions) and writes
nothing, never reads an extract, never commits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.parallelism import map_tables
from recovery_platform.domain.lakehouse.vocabulary import ValidationStatus
from recovery_platform.domain.sync.validation import TableValidation, validate_table


def current_versions(lakehouse: Lakehouse) -> dict[str, int]:
    """The latest version of every declared bronze table that exists."""
    engine = lakehouse.engine
    return {
        table: engine.state(lakehouse.bronze_uri(table)).version
        for table in lakehouse.config.table_names
        if engine.table_exists(lakehouse.bronze_uri(table))
    }


def validate_current(
    lakehouse: Lakehouse, tables: Sequence[str]
) -> tuple[list[TableValidation], list[str]]:
    """Every invariant of each table at its current version; also the tables never synced.

    Relations are checked against the parents' versions read at the same moment, so a child and
    its parent are judged as one state.
    """
    if not tables:
        return [], []
    names = lakehouse.config.validate_table_names(list(tables), field_name="tables")
    versions = current_versions(lakehouse)
    existing = [t for t in names if t in versions]
    validations = list(map_tables(lakehouse.engine, existing, lambda t: validate_table(
        lakehouse, t, version=versions[t], parent_versions=versions)))
    return validations, [t for t in names if t not in versions]


def pinned_versions(store: MetadataStore, tables: Collection[str]) -> dict[tuple[str, int], str]:
    """(table, version) -> a checkpoint id that pins it as validated, from one metadata read."""
    found: dict[tuple[str, int], str] = {}
    for row in store.rows(MetadataTable.CheckpointTables):
        if row["TableName"] in tables and row["ValidationStatus"] == ValidationStatus.Validated:
            found[(row["TableName"], row["DeltaVersion"])] = row["CheckpointId"]
    return found
