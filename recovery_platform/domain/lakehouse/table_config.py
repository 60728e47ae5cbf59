"""The declared bronze tables: the allowlist every table name is checked against.

The checked-in `tables.yaml` is the single source: Dagster definitions are built from it, and it is
mirrored into `metadata.PipelineConfig` for querying. Nothing here reads the lakehouse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, RelationSeverity
from recovery_platform.engine import TableShape
from recovery_platform.sources.declared_schema import ARROW_TYPES

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "tables.yaml"
CONFIG_PATH_ENV = "RECOVERY_TABLES_CONFIG"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MANUAL_LONG_TERM = "ManualLongTerm"
MIN_VACUUM_RETENTION_HOURS = 168

DELETED_COLUMN = "IsDeleted"
PURGED_COLUMN = "IsPurged"
LAST_SYNCED_COLUMN = "LastSynced"
TRACKING_COLUMNS = (DELETED_COLUMN, PURGED_COLUMN, LAST_SYNCED_COLUMN)


@dataclass(frozen=True)
class ColumnSpec:
    """One declared column of a bronze table."""

    name: str
    type: str
    nullable: bool = True

    @property
    def arrow_type(self) -> pa.DataType:
        """The Arrow type every engine writes and reads for this column."""
        return ARROW_TYPES[self.type]


@dataclass(frozen=True)
class Relation:
    """A declared foreign key from this table's `column` to another table's primary key."""

    column: str
    references: str
    on_violation: RelationSeverity


@dataclass(frozen=True)
class TableSpec:
    """Everything the platform knows about one bronze table."""

    name: str
    primary_key: str
    columns: tuple[ColumnSpec, ...]
    relations: tuple[Relation, ...]
    retention_days: Mapping[str, int]
    vacuum_retention_hours: int
    enable_vacuum: bool
    enable_optimize: bool
    optimize_zorder_columns: tuple[str, ...]
    mass_deletion_threshold: float
    purge_cutoff_column: str | None = None

    @property
    def shape(self) -> TableShape:
        """Key and tracking columns, as the engine needs them."""
        return TableShape(key=self.primary_key, deleted=DELETED_COLUMN, purged=PURGED_COLUMN,
                          synced=LAST_SYNCED_COLUMN)

    @property
    def data_columns(self) -> tuple[str, ...]:
        """Columns that come from the source, compared by the sync."""
        return tuple(c.name for c in self.columns)

    def extract_schema(self) -> pa.Schema:
        """Schema of a source extract: the declared columns only."""
        return pa.schema([pa.field(c.name, c.arrow_type, c.nullable) for c in self.columns])

    def bronze_schema(self) -> pa.Schema:
        """Schema of the bronze table: declared columns plus tracking columns."""
        tracking = [
            pa.field(DELETED_COLUMN, pa.bool_(), False),
            pa.field(PURGED_COLUMN, pa.bool_(), False),
            pa.field(LAST_SYNCED_COLUMN, pa.timestamp("us", tz="UTC"), False),
        ]
        return pa.schema(list(self.extract_schema()) + tracking)

    def retention_for(self, checkpoint_type: CheckpointType, *, long_term: bool = False) -> int:
        """Days a checkpoint of this type is kept for this table."""
        if checkpoint_type is CheckpointType.Manual and long_term:
            return self.retention_days[MANUAL_LONG_TERM]
        return self.retention_days[checkpoint_type.value]


@dataclass(frozen=True)
class PlatformConfig:
    """All declared tables, in declaration order."""

    tables: Mapping[str, TableSpec]
    source_path: str = field(default="")

    @property
    def table_names(self) -> tuple[str, ...]:
        """The allowlist, in declaration order."""
        return tuple(self.tables)

    def table(self, name: object, *, field_name: str = "table") -> TableSpec:
        """The spec of a declared table, or an error naming the field and the allowed values."""
        return self.tables[self.validate_table_name(name, field_name=field_name)]

    def validate_table_name(self, name: object, *, field_name: str = "table") -> str:
        """Return `name` if it is a declared table; refuse anything else, naming the field."""
        if not isinstance(name, str) or name not in self.tables:
            raise InvalidInputError(
                field_name, f"unknown table {name!r}", allowed=self.table_names
            )
        return name

    def validate_table_names(
        self, names: Iterable[object] | None, *, field_name: str = "tables"
    ) -> tuple[str, ...]:
        """Validate a list of table names; None or empty means every declared table."""
        if names is None:
            return self.table_names
        if isinstance(names, str):
            raise InvalidInputError(field_name, "expected a list of table names", self.table_names)
        checked = tuple(self.validate_table_name(n, field_name=field_name) for n in names)
        if len(set(checked)) != len(checked):
            raise InvalidInputError(field_name, "a table is listed twice", self.table_names)
        return checked or self.table_names

    def parents_of(self, table: str) -> tuple[Relation, ...]:
        """Relations from `table` to the tables it references."""
        return self.tables[table].relations

    def children_of(self, table: str) -> tuple[tuple[str, Relation], ...]:
        """(child table, relation) pairs that reference `table`."""
        return tuple(
            (spec.name, rel)
            for spec in self.tables.values()
            for rel in spec.relations
            if rel.references == table
        )


def load_platform_config(path: str | Path | None = None) -> PlatformConfig:
    """Read and check the table configuration; errors name the table and field at fault.

    The file is `path`, else `RECOVERY_TABLES_CONFIG`, else the checked-in `tables.yaml`.
    """
    chosen = path if path is not None else os.environ.get(CONFIG_PATH_ENV)
    config_path = Path(chosen) if chosen else DEFAULT_CONFIG_PATH
    raw = yaml.safe_load(config_path.read_text())
    return parse_platform_config(raw, source_path=str(config_path))


def parse_platform_config(raw: Mapping[str, Any], *, source_path: str = "") -> PlatformConfig:
    """Build a `PlatformConfig` from parsed YAML, checking every cross-reference."""
    defaults = dict(raw.get("defaults") or {})
    specs: dict[str, TableSpec] = {}
    for entry in raw.get("tables") or []:
        spec = _parse_table(entry, defaults)
        if spec.name in specs:
            raise ValueError(f"tables.yaml: table {spec.name!r} is declared twice")
        specs[spec.name] = spec
    if not specs:
        raise ValueError("tables.yaml: no tables declared")
    for spec in specs.values():
        for rel in spec.relations:
            if rel.references not in specs:
                raise ValueError(
                    f"tables.yaml: {spec.name}.{rel.column} references unknown table "
                    f"{rel.references!r}; declared: {', '.join(specs)}"
                )
    return PlatformConfig(tables=specs, source_path=source_path)


def _parse_table(entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> TableSpec:
    name = str(entry.get("name", ""))
    where = f"tables.yaml: table {name!r}"
    if not TABLE_NAME.match(name):
        raise ValueError(f"{where}: name must match {TABLE_NAME.pattern}")
    columns = tuple(_parse_column(c, where) for c in entry.get("columns") or [])
    names = {c.name for c in columns}
    if len(names) != len(columns):
        raise ValueError(f"{where}: a column is declared twice")
    if names & set(TRACKING_COLUMNS):
        raise ValueError(f"{where}: tracking columns {TRACKING_COLUMNS} are added by the platform")
    key = str(entry.get("primary_key", ""))
    if key not in names:
        raise ValueError(f"{where}: primary_key {key!r} is not a declared column")
    relations = tuple(
        Relation(str(r["column"]), str(r["references"]), RelationSeverity(r["on_violation"]))
        for r in entry.get("relations") or []
    )
    for rel in relations:
        if rel.column not in names:
            raise ValueError(f"{where}: relation column {rel.column!r} is not declared")
    retention = {**defaults.get("retention_days", {}), **(entry.get("retention_days") or {})}
    for kind in [*(t.value for t in CheckpointType), MANUAL_LONG_TERM]:
        if int(retention.get(kind, 0)) <= 0:
            raise ValueError(f"{where}: retention_days.{kind} must be a positive number of days")
    setting = {**defaults, **entry}
    vacuum_hours = int(setting["vacuum_retention_hours"])
    if vacuum_hours < MIN_VACUUM_RETENTION_HOURS:
        raise ValueError(
            f"{where}: vacuum_retention_hours must be at least {MIN_VACUUM_RETENTION_HOURS}"
        )
    threshold = float(setting["mass_deletion_threshold"])
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"{where}: mass_deletion_threshold must be in (0, 1]")
    zorder = tuple(str(c) for c in setting.get("optimize_zorder_columns") or [])
    for col in zorder:
        if col not in names and col not in TRACKING_COLUMNS:
            raise ValueError(f"{where}: optimize_zorder_columns has unknown column {col!r}")
    cutoff = entry.get("purge_cutoff_column")
    if cutoff is not None and cutoff not in names:
        raise ValueError(f"{where}: purge_cutoff_column {cutoff!r} is not a declared column")
    return TableSpec(
        name=name,
        primary_key=key,
        columns=columns,
        relations=relations,
        retention_days={k: int(v) for k, v in retention.items()},
        vacuum_retention_hours=vacuum_hours,
        enable_vacuum=bool(setting["enable_vacuum"]),
        enable_optimize=bool(setting["enable_optimize"]),
        optimize_zorder_columns=zorder,
        mass_deletion_threshold=threshold,
        purge_cutoff_column=cutoff,
    )


def _parse_column(raw: Mapping[str, Any], where: str) -> ColumnSpec:
    name = str(raw.get("name", ""))
    if not IDENTIFIER.match(name):
        raise ValueError(f"{where}: column name {name!r} must match {IDENTIFIER.pattern}")
    kind = str(raw.get("type", ""))
    if kind not in ARROW_TYPES:
        allowed = ", ".join(ARROW_TYPES)
        raise ValueError(f"{where}: column {name!r} has type {kind!r}; allowed: {allowed}")
    return ColumnSpec(name=name, type=kind, nullable=bool(raw.get("nullable", True)))
