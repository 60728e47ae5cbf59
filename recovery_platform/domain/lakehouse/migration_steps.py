"""The ordered schema changes of the metadata tables, one small named step per change.

Lakehouses are upgraded in place and their audit history must survive, so the schemas in
`metadata_schema.py` are always the latest and every change to them since the first release is
also a step here. Version 1 is the first release's tables; step N brings a lakehouse from
version N-1 to N. Steps only add (a nullable column, a table), fill in or rename values: history
rows are never rewritten unless a step says so. Every step is safe to re-run after a crash.

The schemas of any version are derived by undoing the later steps from the latest ones
(`schema_at`); `BASELINE_DIGEST` freezes version 1, so a column added to `metadata_schema.py`
without a step here fails a test instead of breaking deployed lakehouses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from recovery_platform.domain.lakehouse.location import PLATFORM_TABLE_PROPERTIES, Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import COLUMNS, MetadataTable, schema_of
from recovery_platform.engine import Scalar

MIGRATION_KEY = "recovery_platform.migration"
"""Commit metadata key naming the step that made a commit."""


@dataclass(frozen=True)
class AddTable:
    """Create a metadata table (with its columns as of this step), if it is not there yet."""

    table: MetadataTable

    def describe(self) -> str:
        """The change in plain words."""
        return f"add table {self.table.value}"

    def apply(self, tables: Lakehouse, version: int, commit: Mapping[str, str]) -> None:
        """Create the table unless a crashed earlier attempt already did."""
        uri = tables.metadata_uri(self.table)
        schema = schema_at(self.table, version)
        if schema is not None and not tables.engine.table_exists(uri):
            tables.engine.create_table(uri, schema, properties=PLATFORM_TABLE_PROPERTIES)


@dataclass(frozen=True)
class AddColumn:
    """Add a nullable column (Delta schema evolution); existing rows read it as null."""

    table: MetadataTable
    column: str

    def describe(self) -> str:
        """The change in plain words."""
        return f"add column {self.table.value}.{self.column}"

    def apply(self, tables: Lakehouse, version: int, commit: Mapping[str, str]) -> None:
        """Add the column unless a crashed earlier attempt already did."""
        uri = tables.metadata_uri(self.table)
        if not tables.engine.table_exists(uri):
            return
        if self.column not in tables.engine.schema(uri).names:
            wanted = schema_of(self.table).field(self.column)
            tables.engine.add_columns(uri, [wanted], commit_metadata=commit)


@dataclass(frozen=True)
class Backfill:
    """Set a column to a value on every row matching `where` (all rows when empty)."""

    table: MetadataTable
    column: str
    value: Scalar
    where: Mapping[str, Scalar] = field(default_factory=dict)

    def describe(self) -> str:
        """The change in plain words."""
        scope = ", ".join(f"{k} = {v!r}" for k, v in self.where.items()) or "every row"
        return f"backfill {self.table.value}.{self.column} = {self.value!r} where {scope}"

    def apply(self, tables: Lakehouse, version: int, commit: Mapping[str, str]) -> None:
        """Setting the same value again is harmless, so a re-run repeats it."""
        uri = tables.metadata_uri(self.table)
        if tables.engine.table_exists(uri):
            tables.engine.update_where(uri, equals=dict(self.where),
                                       values={self.column: self.value}, commit_metadata=commit)


@dataclass(frozen=True)
class RenameValues:
    """Rename vocabulary values of a column (old -> new), leaving other values as they are."""

    table: MetadataTable
    column: str
    mapping: Mapping[str, str]

    def describe(self) -> str:
        """The change in plain words."""
        renames = ", ".join(f"{old} -> {new}" for old, new in self.mapping.items())
        return f"rename {self.table.value}.{self.column} values: {renames}"

    def apply(self, tables: Lakehouse, version: int, commit: Mapping[str, str]) -> None:
        """Rows already renamed no longer match, so a re-run changes nothing twice."""
        uri = tables.metadata_uri(self.table)
        if not tables.engine.table_exists(uri):
            return
        for old, new in self.mapping.items():
            tables.engine.update_where(uri, equals={self.column: old},
                                       values={self.column: new}, commit_metadata=commit)


Change = AddTable | AddColumn | Backfill | RenameValues


@dataclass(frozen=True)
class Migration:
    """One numbered, named step: what `metadata/SchemaVersions` records once it is applied."""

    version: int
    name: str
    changes: tuple[Change, ...]

    def describe(self) -> str:
        """All changes of the step in plain words."""
        return "; ".join(c.describe() for c in self.changes)


BASELINE_VERSION = 1
BASELINE_NAME = "first_release"
"""Version 1: the metadata tables of the first release, which recorded no schema version."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "add_schema_versions", (AddTable(MetadataTable.SchemaVersions),)),
    Migration(3, "add_checkpoint_lifecycle", (
        AddColumn(MetadataTable.CheckpointHistory, "IntegrityStatus"),
        AddColumn(MetadataTable.CheckpointHistory, "IntegrityCheckedAt"),
        AddColumn(MetadataTable.CheckpointHistory, "IntegrityNotes"),
        AddColumn(MetadataTable.CheckpointHistory, "DeactivatedAt"),
        AddColumn(MetadataTable.SyncAuditLog, "FilesAffected"),
        AddColumn(MetadataTable.SyncAuditLog, "BytesAffected"),
        AddTable(MetadataTable.CheckpointIntegrity),
    )),
    Migration(4, "alert_severities_and_delivery", (
        RenameValues(MetadataTable.Alerts, "Severity",
                     {"Critical": "CRITICAL", "Warning": "MEDIUM", "Info": "LOW"}),
        Backfill(MetadataTable.Alerts, "Severity", "HIGH", {"AlertType": "SyncHeld"}),
        Backfill(MetadataTable.Alerts, "Severity", "HIGH", {"AlertType": "SyncRefused"}),
        Backfill(MetadataTable.Alerts, "Severity", "HIGH",
                 {"AlertType": "RetentionBelowCheckpoints"}),
        AddColumn(MetadataTable.Alerts, "DeliveryAttempts"),
        AddColumn(MetadataTable.Alerts, "LastAttemptAt"),
        AddColumn(MetadataTable.Alerts, "DeliveredAt"),
        AddColumn(MetadataTable.Alerts, "DeliveryError"),
        AddColumn(MetadataTable.Alerts, "DedupKey"),
        AddColumn(MetadataTable.Alerts, "JobName"),
    )),
)
"""Every step since version 1, in order. Append only: a released step never changes."""

LATEST_VERSION = MIGRATIONS[-1].version if MIGRATIONS else BASELINE_VERSION

BASELINE_DIGEST = "13959392a92288c3"
"""Digest of the version-1 schemas (`schema_digest(BASELINE_VERSION)`), frozen."""


def schema_at(
    table: MetadataTable, version: int, migrations: Sequence[Migration] = MIGRATIONS
) -> pa.Schema | None:
    """A metadata table's schema at a version; None when the table did not exist yet."""
    schema = schema_of(table)
    for migration in migrations:
        if migration.version <= version:
            continue
        for change in migration.changes:
            if isinstance(change, AddTable) and change.table == table:
                return None
            if isinstance(change, AddColumn) and change.table == table:
                schema = schema.remove(schema.get_field_index(change.column))
    return schema


def schema_digest(version: int, migrations: Sequence[Migration] = MIGRATIONS) -> str:
    """A short digest of every metadata table's columns at a version (names, types, nullability)."""
    text = []
    for table in MetadataTable:
        schema = schema_at(table, version, migrations)
        if schema is not None:
            text.append(f"{table.value}(" + ",".join(
                f"{f.name}:{f.type}:{f.nullable}" for f in schema) + ")")
    return hashlib.sha256(";".join(text).encode()).hexdigest()[:16]


def check_steps(migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Problems with a list of steps: numbering, names, columns that Delta cannot add."""
    problems = []
    names = [m.name for m in migrations]
    if [m.version for m in migrations] != list(range(2, len(migrations) + 2)):
        problems.append("versions must be 2, 3, ... in order, one step each")
    if len(set(names)) != len(names) or BASELINE_NAME in names:
        problems.append("step names must be unique")
    added: dict[MetadataTable, list[str]] = {}
    for migration in migrations:
        for change in migration.changes:
            if isinstance(change, AddColumn):
                added.setdefault(change.table, []).append(change.column)
                known = {c.name: c for c in COLUMNS[change.table]}
                if change.column not in known:
                    problems.append(f"{change.describe()}: not in metadata_schema.py")
                elif not known[change.column].nullable:
                    problems.append(f"{change.describe()}: an added column must be nullable")
    for table, columns in added.items():
        if [c.name for c in COLUMNS[table][-len(columns):]] != columns:
            problems.append(f"{table.value}: added columns must be the last ones of "
                            "metadata_schema.py, in step order (Delta appends them at the end)")
    return problems
