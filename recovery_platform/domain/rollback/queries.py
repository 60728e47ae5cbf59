"""Audit questions about rollbacks, answered with SQL over the metadata tables.

The SQL is fixed text over the documented metadata tables, registered under lower-case aliases
(`rollback_plans`, `rollback_plan_tables`, `sync_audit_log`). Nothing a user types is spliced
into it: a day count is validated as a whole number and turned into a timestamp here, and a
table name is checked against the declared tables and filtered after the query. Any SQL engine
that reads Delta tables runs it (DataFusion through delta-rs's `QueryBuilder`, or Spark SQL);
the caller supplies that runner.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from recovery_platform.domain.lakehouse.audit import utc_now
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable

SqlRunner = Callable[[str, Mapping[str, str]], pa.Table]
"""Runs SQL with each alias (e.g. `rollback_plans`) registered as the Delta table at its
location, returning Arrow."""

ROLLBACK_OPERATIONS = (
    "RollbackValidation", "RollbackImpactAnalysis", "PreRollbackCheckpoint", "TableRestore",
    "PostRollbackValidation", "PostRollbackCheckpoint",
)


@dataclass(frozen=True)
class AuditQuery:
    """A documented question, the metadata tables it reads and its SQL."""

    question: str
    tables: Mapping[str, MetadataTable]
    sql: str


RECENT_ROLLBACKS = AuditQuery(
    question="All rollbacks (plans, dry runs included) made since a point in time",
    tables={"rollback_plans": MetadataTable.RollbackPlans},
    sql="""
SELECT "PlanId", "CreatedAt", "CheckpointName", "CheckpointId", "RequestedBy", "ApprovedBy",
       "Reason", "DryRun", "Status", "AppliedRunIds", "TablesJson"
FROM rollback_plans
WHERE "CreatedAt" >= {since}
ORDER BY "CreatedAt" DESC
""",
)

ROLLBACKS_BY_TABLE = AuditQuery(
    question="All rollbacks touching a table, with each table's versions and outcome",
    tables={"rollback_plans": MetadataTable.RollbackPlans,
            "rollback_plan_tables": MetadataTable.RollbackPlanTables},
    sql="""
SELECT p."PlanId", p."CreatedAt", p."CheckpointName", p."RequestedBy", p."ApprovedBy",
       p."Reason", p."Status", t."TableName", t."CurrentVersion", t."TargetVersion",
       t."IntentStatus", t."RestoreVersion", t."ErrorMessage"
FROM rollback_plans p
JOIN rollback_plan_tables t ON p."PlanId" = t."PlanId"
ORDER BY p."CreatedAt" DESC
""",
)

FAILED_ROLLBACKS = AuditQuery(
    question="Failed rollback steps and why: refusals, failed restores, failed proofs",
    tables={"sync_audit_log": MetadataTable.SyncAuditLog},
    sql="""
SELECT "PipelineRunId", "StartTime", "OperationType", "TableName", "ErrorMessage",
       "RequestedBy", "ApprovedBy", "Reason", "CheckpointId", "DryRun", "DetailsJson"
FROM sync_audit_log
WHERE "Status" = 'Failed'
  AND "OperationType" IN ({operations})
ORDER BY "StartTime" DESC
""".replace("{operations}", ", ".join(f"'{o}'" for o in ROLLBACK_OPERATIONS)),
)


def _run(lakehouse: Lakehouse, run_sql: SqlRunner, query: AuditQuery, sql: str) -> pa.Table:
    locations = {alias: lakehouse.metadata_uri(t) for alias, t in query.tables.items()}
    result = pa.table(run_sql(sql, locations))
    # DataFusion answers with string_view columns, which pyarrow cannot filter or take from
    schema = pa.schema([pa.field(f.name, pa.string()) if f.type == pa.string_view() else f
                        for f in result.schema])
    return result.cast(schema)


def _timestamp_literal(moment: datetime) -> str:
    """A SQL timestamp literal built from a datetime, never from user text."""
    return f"TIMESTAMP '{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z'"


def recent_rollbacks(
    lakehouse: Lakehouse, run_sql: SqlRunner, *, days: int = 30, now: datetime | None = None
) -> pa.Table:
    """All rollback plans created in the last `days` days, newest first."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise InvalidInputError("days", f"{days!r} is not a whole number of days >= 0")
    since = (now or utc_now()) - timedelta(days=days)
    sql = RECENT_ROLLBACKS.sql.replace("{since}", _timestamp_literal(since))
    return _run(lakehouse, run_sql, RECENT_ROLLBACKS, sql)


def rollbacks_touching(lakehouse: Lakehouse, run_sql: SqlRunner, table: str) -> pa.Table:
    """Every rollback plan that includes `table` (a declared table), newest first."""
    name = lakehouse.config.validate_table_name(table, field_name="table")
    rows = _run(lakehouse, run_sql, ROLLBACKS_BY_TABLE, ROLLBACKS_BY_TABLE.sql)
    return rows.filter(pc.equal(rows.column("TableName"), name))


def failed_rollbacks(lakehouse: Lakehouse, run_sql: SqlRunner) -> pa.Table:
    """Every failed rollback step with its error in plain words, newest first."""
    return _run(lakehouse, run_sql, FAILED_ROLLBACKS, FAILED_ROLLBACKS.sql)
