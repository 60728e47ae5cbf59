"""The audit trail: every operation writes `SyncAuditLog` rows, batched per operation."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recovery_platform.domain.alerting.delivery import dedup_key
from recovery_platform.domain.alerting.kinds import alert_kind
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus, OperationType


def utc_now() -> datetime:
    """The current time, always timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class AuditStep:
    """One step being audited; fields are filled in while it runs.

    `approved_by` and `reason` override the run's actor for this step (e.g. a sync override).
    """

    operation: OperationType
    table: str | None = None
    status: AuditStatus = AuditStatus.Succeeded
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    checkpoint_id: str | None = None
    delta_version: int | None = None
    error: str | None = None
    approved_by: str | None = None
    reason: str | None = None


@dataclass
class Actor:
    """Who asked for an operation, who approved it, and why."""

    requested_by: str | None = None
    approved_by: str | None = None
    reason: str | None = None
    dry_run: bool = False


COUNT_COLUMNS = {
    "read": "RowsRead",
    "inserted": "RowsInserted",
    "updated": "RowsUpdated",
    "deleted": "RowsDeleted",
    "purged": "RowsPurged",
    "reactivated": "RowsReactivated",
    "files": "FilesAffected",
    "bytes": "BytesAffected",
}


class AuditTrail:
    """Collects audit and alert rows of one run and writes each kind in one commit."""

    def __init__(
        self, store: MetadataStore, run_id: str, actor: Actor | None = None,
        *, job_name: str | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.actor = actor or Actor()
        self.job_name = job_name
        """The Dagster job of the run, named in alert subjects ("... failed in daily_sync_job")."""
        self._rows: list[dict[str, Any]] = []
        self._alerts: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # tables may be worked on from several threads

    @contextmanager
    def step(self, operation: OperationType, table: str | None = None) -> Iterator[AuditStep]:
        """Time a step and record it; an exception marks it Failed and is re-raised."""
        step = AuditStep(operation=operation, table=table)
        started, clock = utc_now(), time.perf_counter()
        try:
            yield step
        except Exception as exc:
            step.status = AuditStatus.Failed
            step.error = step.error or f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.record(step, started=started, seconds=time.perf_counter() - clock)

    def record(
        self, step: AuditStep, *, started: datetime | None = None, seconds: float = 0.0
    ) -> None:
        """Queue one audit row for the next flush."""
        start = started or utc_now()
        row: dict[str, Any] = {
            "AuditId": str(uuid.uuid4()),
            "PipelineRunId": self.run_id,
            "OperationType": OperationType(step.operation).value,
            "TableName": step.table,
            "Status": AuditStatus(step.status).value,
            "StartTime": start,
            "EndTime": utc_now(),
            "DurationSeconds": round(seconds, 6),
            "RequestedBy": self.actor.requested_by,
            "ApprovedBy": step.approved_by or self.actor.approved_by,
            "Reason": step.reason or self.actor.reason,
            "CheckpointId": step.checkpoint_id,
            "DryRun": self.actor.dry_run,
            "DeltaVersion": step.delta_version,
            "DetailsJson": json.dumps(step.details, default=str, sort_keys=True),
            "ErrorMessage": step.error,
        }
        for name, column in COUNT_COLUMNS.items():
            row[column] = step.counts.get(name)
        with self._lock:
            self._rows.append(row)

    def alert(
        self,
        alert_type: str,
        message: str,
        *,
        table: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue an alert row of a declared kind (its severity is the kind's); notifiers deliver.

        The row carries its dedup key (kind, table, cause fingerprint) so repeats of the same
        failure are recognised by delivery, and the job name for the message subject.
        """
        kind = alert_kind(alert_type)
        row = {
            "AlertId": str(uuid.uuid4()),
            "PipelineRunId": self.run_id,
            "CreatedAt": utc_now(),
            "Severity": kind.severity.value,
            "AlertType": kind.name,
            "TableName": table,
            "Message": message,
            "DetailsJson": json.dumps(dict(details or {}), default=str, sort_keys=True),
            "DeliveryStatus": "Pending",
            "DeliveryAttempts": 0,
            "DedupKey": dedup_key(kind.name, table, message),
            "JobName": self.job_name,
        }
        with self._lock:
            self._alerts.append(row)

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Audit rows not yet written."""
        with self._lock:
            return list(self._rows)

    def flush(self) -> None:
        """Write queued audit rows and alerts: at most one commit per metadata table."""
        with self._lock:
            rows, alerts = self._rows, self._alerts
            self._rows, self._alerts = [], []
        self.store.append(MetadataTable.SyncAuditLog, rows)
        self.store.append(MetadataTable.Alerts, alerts)
