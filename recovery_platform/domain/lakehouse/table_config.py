"""The declared bronze tables: the allowlist every table name is checked against.

The checked-in `tables.yaml` is the single source: Dagster definitions are built from it, and it is
mirrored into `metadata.PipelineConfig` for querying. Nothing here reads the lakehouse. The file's
fields are checked strictly by `table_config_model` (also the source of `tables.schema.json`);
the rules across fields and tables are checked here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.table_config_model import (
    DELETED_COLUMN,
    IDENTIFIER,
    LAST_SYNCED_COLUMN,
    MANUAL_LONG_TERM,
    MIN_VACUUM_RETENTION_HOURS,
    PURGED_COLUMN,
    TABLE_NAME,
    TRACKING_COLUMNS,
    AlertingModel,
    ConfigProblem,
    ScheduleModel,
    SchedulesModel,
    Settings,
    TableConfigError,
    TableModel,
    TablesFileModel,
    settings_of,
    validate_tables_file,
)
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, RelationSeverity
from recovery_platform.engine import TableShape
from recovery_platform.sources.declared_schema import ARROW_TYPES

__all__ = [
    "CONFIG_PATH_ENV",
    "DEFAULT_CONFIG_PATH",
    "DELETED_COLUMN",
    "IDENTIFIER",
    "LAST_SYNCED_COLUMN",
    "MANUAL_LONG_TERM",
    "MIN_VACUUM_RETENTION_HOURS",
    "PURGED_COLUMN",
    "TABLE_NAME",
    "TRACKING_COLUMNS",
    "ColumnSpec",
    "PlatformConfig",
    "Relation",
    "TableConfigError",
    "TableSpec",
    "load_platform_config",
    "parse_platform_config",
]

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "tables.yaml"
CONFIG_PATH_ENV = "RECOVERY_TABLES_CONFIG"


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
class Schedule:
    """When a scheduled job runs: a five-field cron expression read in an IANA time zone."""

    cron: str
    timezone: str = "UTC"


def _schedules(model: SchedulesModel) -> dict[str, Schedule]:
    """Each schedule by its job's short name (daily_sync, weekly_maintenance, ...)."""
    chosen: dict[str, ScheduleModel] = {n: getattr(model, n) for n in type(model).model_fields}
    return {name: Schedule(s.cron, s.timezone) for name, s in chosen.items()}


DEFAULT_SCHEDULES = _schedules(SchedulesModel())
"""The seed's times: daily sync 02:00, maintenance Sundays 02:00, integrity Sundays 06:00 UTC."""


@dataclass(frozen=True)
class MaintenanceSettings:
    """How the weekly maintenance and the integrity check behave."""

    lease_wait_minutes: int = 120
    metadata_vacuum_retention_hours: int = 720
    integrity_deep: bool = True


@dataclass(frozen=True)
class AlertingSettings:
    """Alert routing and delivery (`alerting:` in tables.yaml); secrets are never here."""

    dagster_ui_url: str = "http://localhost:3000"
    sender: str = "recovery-platform@localhost"
    recipients: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    webhook_hosts: tuple[str, ...] = ("hooks.slack.com", "*.logic.azure.com",
                                      "*.environment.api.powerplatform.com")
    dedup_window_minutes: int = 60
    max_attempts: int = 5
    low_digest_hours: int = 24
    freshness_grace_hours: int = 3

    @classmethod
    def of(cls, model: AlertingModel) -> AlertingSettings:
        """The settings of a checked `alerting:` section."""
        return cls(
            dagster_ui_url=model.dagster_ui_url.rstrip("/"), sender=model.sender,
            recipients={k: tuple(v) for k, v in model.recipients.items()},
            webhook_hosts=tuple(model.webhook_hosts),
            dedup_window_minutes=model.dedup_window_minutes, max_attempts=model.max_attempts,
            low_digest_hours=model.low_digest_hours,
            freshness_grace_hours=model.freshness_grace_hours,
        )


@dataclass(frozen=True)
class PlatformConfig:
    """All declared tables, in declaration order, and the platform's schedules."""

    tables: Mapping[str, TableSpec]
    source_path: str = field(default="")
    schedules: Mapping[str, Schedule] = field(default_factory=lambda: dict(DEFAULT_SCHEDULES))
    maintenance: MaintenanceSettings = field(default_factory=MaintenanceSettings)
    alerting: AlertingSettings = field(default_factory=AlertingSettings)

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
    """Build a `PlatformConfig` from parsed YAML, checking every field and cross-reference.

    Raises:
        TableConfigError: a `ValueError` naming the table and field of each problem.
    """
    model = validate_tables_file(raw)
    problems = _cross_field_problems(model)
    if problems:
        raise TableConfigError(problems)
    specs = {t.name: _table_spec(t, settings_of(t, model.defaults)) for t in model.tables}
    return PlatformConfig(tables=specs, source_path=source_path,
                          schedules=_schedules(model.schedules),
                          maintenance=MaintenanceSettings(**model.maintenance.model_dump()),
                          alerting=AlertingSettings.of(model.alerting))


def _cross_field_problems(model: TablesFileModel) -> list[ConfigProblem]:
    """Problems spanning fields or tables: names declared twice, references to undeclared ones."""
    problems: list[ConfigProblem] = []
    declared = tuple(dict.fromkeys(t.name for t in model.tables))
    first_at: dict[str, int] = {}
    for index, table in enumerate(model.tables):
        where = f"table {table.name!r}"
        if table.name in first_at:
            problems.append(ConfigProblem(
                where, "name", f"declared twice (tables[{first_at[table.name]}] and "
                f"tables[{index}])"))
        first_at.setdefault(table.name, index)
        problems += _column_problems(table, where)
        try:
            settings = settings_of(table, model.defaults)
        except TableConfigError as unset:
            problems += unset.problems
            continue
        problems += _reference_problems(table, where, settings, declared)
    return problems


def _column_problems(table: TableModel, where: str) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    for index, column in enumerate(table.columns):
        at = f"columns[{index}].name"
        if column.name in seen:
            problems.append(ConfigProblem(where, at, f"{column.name!r} is declared twice"))
        if column.name in TRACKING_COLUMNS:
            problems.append(ConfigProblem(
                where, at, f"{column.name!r} is a tracking column, added by the platform; "
                f"do not declare {', '.join(TRACKING_COLUMNS)}"))
        seen.add(column.name)
    return problems


def _reference_problems(
    table: TableModel, where: str, settings: Settings, declared: tuple[str, ...]
) -> list[ConfigProblem]:
    names = tuple(c.name for c in table.columns)
    problems: list[ConfigProblem] = []

    def check(at: str, value: str | None, allowed: tuple[str, ...] = names, note: str = "") -> None:
        if value is not None and value not in allowed:
            problem = f"{value!r} is not a declared column{note}"
            problems.append(ConfigProblem(where, at, problem, allowed))

    check("primary_key", table.primary_key)
    check("purge_cutoff_column", table.purge_cutoff_column)
    for index, relation in enumerate(table.relations):
        check(f"relations[{index}].column", relation.column)
        if relation.references not in declared:
            problems.append(ConfigProblem(where, f"relations[{index}].references",
                                          f"unknown table {relation.references!r}", declared))
    note = "" if table.optimize_zorder_columns is not None else " (inherited from defaults)"
    for index, name in enumerate(settings.optimize_zorder_columns):
        check(f"optimize_zorder_columns[{index}]", name, names + TRACKING_COLUMNS, note)
    return problems


def _table_spec(table: TableModel, settings: Settings) -> TableSpec:
    return TableSpec(
        name=table.name,
        primary_key=table.primary_key,
        columns=tuple(ColumnSpec(c.name, c.type, c.nullable) for c in table.columns),
        relations=tuple(
            Relation(r.column, r.references, r.on_violation) for r in table.relations
        ),
        retention_days=settings.retention_days,
        vacuum_retention_hours=settings.vacuum_retention_hours,
        enable_vacuum=settings.enable_vacuum,
        enable_optimize=settings.enable_optimize,
        optimize_zorder_columns=settings.optimize_zorder_columns,
        mass_deletion_threshold=settings.mass_deletion_threshold,
        purge_cutoff_column=table.purge_cutoff_column,
    )
