"""The shape of `tables.yaml`, checked strictly field by field; every error names table and field.

Unknown keys, quoted booleans or numbers, and values outside a vocabulary are refused. The pydantic
models here are also the source of `tables.schema.json` (for editors); `table_config` checks the
rules across fields and tables and turns a checked file into the platform's dataclasses.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from recovery_platform.domain.lakehouse.vocabulary import CheckpointType, RelationSeverity
from recovery_platform.sources.declared_schema import ARROW_TYPES

FILE_NAME = "tables.yaml"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MANUAL_LONG_TERM = "ManualLongTerm"
MIN_VACUUM_RETENTION_HOURS = 168
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+$")
Severity4 = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"]
CRON = re.compile(r"^\s*\S+(\s+\S+){4}\s*$")
DELETED_COLUMN = "IsDeleted"
PURGED_COLUMN = "IsPurged"
LAST_SYNCED_COLUMN = "LastSynced"
TRACKING_COLUMNS = (DELETED_COLUMN, PURGED_COLUMN, LAST_SYNCED_COLUMN)
RETENTION_KINDS = (*(t.value for t in CheckpointType), MANUAL_LONG_TERM)
"""Keys of `retention_days`: every checkpoint type, and long-term manual checkpoints."""


class TableConfigError(ValueError):
    """`tables.yaml` holds something the platform refuses; each line names the table and field."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = tuple(problems)
        self.field = problems[0].field if problems else ""


@dataclass(frozen=True)
class ConfigProblem:
    """One refused value: where (a table, `defaults` or the file), which field, why."""

    where: str
    field: str
    problem: str
    allowed: tuple[str, ...] | None = None

    def __str__(self) -> str:
        place = ", ".join(p for p in (self.where, self.field and f"field '{self.field}'") if p)
        allowed = f"; allowed: {', '.join(self.allowed)}" if self.allowed is not None else ""
        return f"{FILE_NAME}: {place or 'the file'}: {self.problem}{allowed}"


def _one_of(allowed: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError("not_allowed", "not allowed", {"allowed": allowed})
        return value

    return AfterValidator(check)


ColumnType = Annotated[str, _one_of(tuple(ARROW_TYPES)), Field(json_schema_extra={
    "enum": list(ARROW_TYPES)})]
RetentionKind = Annotated[str, _one_of(RETENTION_KINDS), Field(json_schema_extra={
    "enum": list(RETENTION_KINDS)})]
Days = Annotated[int, Field(gt=0)]
Severity = Annotated[RelationSeverity, Field(strict=False)]
"""Enums are matched by value (strict mode would only take enum instances)."""


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True
    )


class ColumnModel(_Strict):
    """One declared data column; tracking columns are added by the platform."""

    name: Annotated[str, Field(pattern=IDENTIFIER.pattern)]
    """Column name, as in the source extract."""
    type: ColumnType
    """Column type: string, int64, float64, bool, date, timestamp (microseconds, UTC)."""
    nullable: bool = True
    """Whether the column may be null."""


class RelationModel(_Strict):
    """A foreign key from one of this table's columns to another table's primary key."""

    column: str
    """The referencing column of this table."""
    references: str
    """The referenced (declared) table."""
    on_violation: Severity
    """`error`: zero tolerance (blocking check); `warn`: reported only."""


def _not_null(schema: dict[str, Any]) -> None:
    """An inherited setting is absent or set, never null: show editors the value's own type."""
    options = [option for option in schema.pop("anyOf") if option.get("type") != "null"]
    schema.update(options[0])
    schema.pop("default", None)


_INHERIT: Any = Field(default=None, json_schema_extra=_not_null)
"""Unset (None): the table takes the value of `defaults`."""
_INHERITED = ("vacuum_retention_hours", "enable_vacuum", "enable_optimize",
              "optimize_zorder_columns", "mass_deletion_threshold")


class SettingsModel(_Strict):
    """Settings a table inherits from `defaults` unless it sets them itself."""

    retention_days: dict[RetentionKind, Days] = Field(default_factory=dict)
    """Days a checkpoint of each type is kept; a table's entries override the defaults'."""
    vacuum_retention_hours: Annotated[int, Field(ge=MIN_VACUUM_RETENTION_HOURS)] | None = _INHERIT
    """Hours of history VACUUM keeps (at least 168)."""
    enable_vacuum: bool | None = _INHERIT
    """Whether maintenance vacuums the table."""
    enable_optimize: bool | None = _INHERIT
    """Whether maintenance optimizes (compacts) the table."""
    optimize_zorder_columns: list[str] | None = _INHERIT
    """Columns to Z-order by when optimizing (declared or tracking columns)."""
    mass_deletion_threshold: Annotated[float, Field(gt=0, le=1)] | None = _INHERIT
    """Share of rows a sync may delete before it is held, in (0, 1]."""

    @field_validator("retention_days", *_INHERITED, mode="before")
    @classmethod
    def _not_empty(cls, value: object) -> object:
        if value is None:
            raise PydanticCustomError("empty", "no value; give one or remove the key")
        return value


class DefaultsModel(SettingsModel):
    """Settings of every table that does not set them itself."""


class TableModel(SettingsModel):
    """One bronze table."""

    name: Annotated[str, Field(pattern=TABLE_NAME.pattern)]
    """Table name: lowercase letters, digits and underscores."""
    primary_key: str
    """The key column (one of `columns`)."""
    columns: list[ColumnModel]
    """The data columns, in extract order."""
    relations: list[RelationModel] = Field(default_factory=list)
    """Declared foreign keys, checked after every sync."""
    purge_cutoff_column: str | None = None
    """The timestamp column purges cut on (one of `columns`)."""


def _valid_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as unknown:
        raise PydanticCustomError("timezone", "not an IANA time zone such as UTC or "
                                  "Europe/Berlin") from unknown
    return name


class ScheduleModel(_Strict):
    """When a scheduled job runs."""

    cron: Annotated[str, Field(pattern=CRON.pattern)]
    """Five-field cron expression (minute hour day-of-month month day-of-week)."""
    timezone: Annotated[str, AfterValidator(_valid_timezone)] = "UTC"
    """IANA time zone the cron expression is read in."""


class SchedulesModel(_Strict):
    """The platform's schedules (the seed's times by default)."""

    daily_sync: ScheduleModel = ScheduleModel(cron="0 2 * * *")
    """The daily sync, after the CRM export lands."""
    weekly_maintenance: ScheduleModel = ScheduleModel(cron="0 2 * * 0")
    """VACUUM, OPTIMIZE, checkpoint expiry: Sundays."""
    checkpoint_integrity: ScheduleModel = ScheduleModel(cron="0 6 * * 0")
    """Weekly proof that every active checkpoint is still restorable."""


class MaintenanceModel(_Strict):
    """How the weekly maintenance behaves."""

    lease_wait_minutes: Annotated[int, Field(ge=0, le=720)] = 120
    """How long maintenance waits for a table another run (the daily sync) is writing."""
    metadata_vacuum_retention_hours: Annotated[int, Field(ge=720)] = 720
    """VACUUM retention of the metadata tables (at least 720 hours)."""
    integrity_deep: bool = True
    """Whether the scheduled integrity check also recomputes fingerprints."""


class AlertingModel(_Strict):
    """Who is told what, and how; secrets (SMTP login, webhook URLs) come from env vars only."""

    dagster_ui_url: Annotated[str, Field(pattern=r"^https?://[^\s'\"<>]+$")] = (
        "http://localhost:3000")
    """Base URL of the Dagster UI: every message links to its run there."""
    sender: Annotated[str, Field(pattern=EMAIL.pattern)] = "recovery-platform@localhost"
    """From address of alert e-mails."""
    recipients: dict[Severity4, list[Annotated[str, Field(pattern=EMAIL.pattern)]]] = Field(
        default_factory=dict)
    """E-mail recipients per severity (CRITICAL, HIGH, MEDIUM, LOW); a severity without
    recipients is sent to the chat webhooks only."""
    webhook_hosts: list[Annotated[str, Field(pattern=r"^(\*\.)?[a-z0-9.-]+$")]] = Field(
        default_factory=lambda: ["hooks.slack.com", "*.logic.azure.com",
                                 "*.environment.api.powerplatform.com"])
    """Hosts a webhook URL may point to (`*.` allows subdomains); any other URL is refused."""
    dedup_window_minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    """The same failure (kind, table, cause) is sent once per window; repeats are counted."""
    max_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    """Sending is retried with backoff this many times, then the alert is Failed for good."""
    low_digest_hours: Annotated[int, Field(ge=1, le=168)] = 24
    """LOW alerts wait and go out together, at most once per this many hours."""
    freshness_grace_hours: Annotated[int, Field(ge=0, le=48)] = 3
    """A bronze table not synced this long after the daily schedule is stale (an alert)."""


class TablesFileModel(_Strict):
    """`tables.yaml`: the declared bronze tables, the allowlist of every table name."""

    defaults: DefaultsModel = Field(default_factory=DefaultsModel)
    """Settings every table inherits."""
    schedules: SchedulesModel = Field(default_factory=SchedulesModel)
    """When the scheduled jobs run."""
    maintenance: MaintenanceModel = Field(default_factory=MaintenanceModel)
    """Weekly maintenance and integrity settings."""
    alerting: AlertingModel = Field(default_factory=AlertingModel)
    """Alert routing and delivery settings."""
    tables: Annotated[list[TableModel], Field(min_length=1)]
    """The tables, in declaration order."""


@dataclass(frozen=True)
class Settings:
    """A table's settings once its `defaults` are applied."""

    retention_days: dict[str, int]
    vacuum_retention_hours: int
    enable_vacuum: bool
    enable_optimize: bool
    optimize_zorder_columns: tuple[str, ...]
    mass_deletion_threshold: float


def validate_tables_file(raw: object) -> TablesFileModel:
    """The parsed file, validated field by field (rules across tables are `table_config`'s).

    Raises:
        TableConfigError: naming the table and field of every problem found.
    """
    try:
        return TablesFileModel.model_validate(raw)
    except ValidationError as error:
        raise TableConfigError([_problem(e, raw) for e in error.errors()]) from None


def settings_of(table: TableModel, defaults: DefaultsModel) -> Settings:
    """The table's own settings, else those of `defaults`; refused if neither sets one."""
    def pick(name: str) -> Any:
        own = getattr(table, name)
        return own if own is not None else getattr(defaults, name)

    retention = {**defaults.retention_days, **table.retention_days}
    missing = [n for n in _INHERITED if pick(n) is None]
    missing += [f"retention_days.{kind}" for kind in RETENTION_KINDS if kind not in retention]
    if missing:
        where = f"table {table.name!r}"
        raise TableConfigError([ConfigProblem(where, n, "not set here nor in defaults")
                                for n in missing])
    return Settings(
        retention_days=retention,
        vacuum_retention_hours=pick("vacuum_retention_hours"),
        enable_vacuum=pick("enable_vacuum"),
        enable_optimize=pick("enable_optimize"),
        optimize_zorder_columns=tuple(pick("optimize_zorder_columns")),
        mass_deletion_threshold=pick("mass_deletion_threshold"),
    )


def _problem(error: ErrorDetails, raw: object) -> ConfigProblem:
    loc = tuple(error["loc"])
    where, rest = "", loc
    if loc[:1] == ("defaults",):
        where, rest = "defaults", loc[1:]
    elif loc[:1] == ("tables",) and len(loc) > 2 and isinstance(loc[1], int):
        where, rest = _table_label(raw, loc[1]), loc[2:]
    field = _path(rest)
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        keys = tuple(_model_at(loc[:-1]).model_fields)
        hint = difflib.get_close_matches(str(loc[-1]), keys, n=1)
        guess = f" (did you mean '{hint[0]}'?)" if hint else ""
        return ConfigProblem(where, field, f"unknown key{guess}", keys)
    if kind in ("enum", "literal_error"):
        allowed = tuple(re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", ""))))
        return ConfigProblem(where, field, f"{value!r} is not allowed", allowed)
    if kind == "not_allowed":
        return ConfigProblem(where, field, f"{value!r} is not allowed", error["ctx"]["allowed"])
    return ConfigProblem(where, field, _wording(kind, error["msg"], value))


_HINTS = {
    "model_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "bool_type": "must be true or false, unquoted",
    "int_type": "must be a whole number, unquoted",
    "float_type": "must be a number, unquoted",
    "string_type": "must be text",
}


def _wording(kind: str, message: str, value: object) -> str:
    if kind == "missing":
        return "required"
    return f"{_HINTS.get(kind, message.replace('Input should be', 'must be'))} (got {value!r})"


def _table_label(raw: object, index: int) -> str:
    tables = raw.get("tables") if isinstance(raw, Mapping) else None
    entry = tables[index] if isinstance(tables, list) and index < len(tables) else None
    name = entry.get("name") if isinstance(entry, Mapping) else None
    return f"table {name!r}" if isinstance(name, str) else f"tables[{index}]"


def _path(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}" if text else part
    return text


def _model_at(loc: Sequence[int | str]) -> type[BaseModel]:
    """The model whose keys are validated at `loc` (for the allowed keys of an unknown one)."""
    current: Any = TablesFileModel
    for part in loc:
        if isinstance(part, int) and get_origin(current) is list:
            current = get_args(current)[0]
        elif isinstance(part, str) and part in getattr(current, "model_fields", {}):
            current = _unwrap(current.model_fields[part].annotation)
        else:
            return _Strict
    return current if isinstance(current, type) and issubclass(current, BaseModel) else _Strict


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation
