"""Delivery of alert rows: which are due, grouped into which messages, and what became of them.

The Alerts table is the only state: a call reads every row not yet final, sends, and only then
records the outcome of all of them in one commit. A crash between sending and recording leaves
the rows as they were, so the next call sends them again (at least once, never lost), and every
message carries its alert ids so a receiver can tell a resend. A notifier that fails never stops
the others or the call: the alert is retried with exponential backoff up to `max_attempts`, then
stays Failed for good, visible in the table.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recovery_platform.domain.alerting.message import AlertMessage, Notifier
from recovery_platform.domain.alerting.messages import render, row_severity, truncate
from recovery_platform.domain.lakehouse.fault_injection import crash_point
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import AlertingSettings
from recovery_platform.domain.lakehouse.vocabulary import AlertSeverity

__all__ = ["NO_NOTIFIER", "DeliveryReport", "backoff", "dedup_key", "deliver_pending"]

PENDING, DELIVERED, SUPPRESSED, FAILED = "Pending", "Delivered", "Suppressed", "Failed"
NO_NOTIFIER = "no notifier configured"
MAX_BACKOFF = timedelta(hours=1)
RECORDED = ("AlertId", "DeliveryStatus", "DeliveryAttempts", "LastAttemptAt", "DeliveredAt",
            "DeliveryError", "DedupKey", "JobName")
"""The columns delivery writes; every recorded row names all of them (one cheap merge)."""
_VOLATILE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b[0-9a-f]{12,}\b|\d+")


@dataclass(frozen=True)
class DeliveryReport:
    """What one call did, for the sensor's log and cursor display."""

    messages_sent: int = 0
    delivered: int = 0
    suppressed: int = 0
    failed: int = 0
    """Alerts whose attempt failed in this call (retried later unless failed for good)."""
    failed_for_good: int = 0
    pending: int = 0
    """Alerts still waiting: no notifier, backoff, the LOW digest, or beyond `limit`."""
    errors: tuple[str, ...] = ()
    cursor: str | None = None
    note: str = ""


def dedup_key(kind: str, table: str | None, message: str) -> str:
    """Kind, table and a fingerprint of the cause with numbers and ids normalised.

    Two failures differing only by a row count, a version or a run id are the same failure.
    """
    cause = " ".join(_VOLATILE.sub("#", message.lower()).split())
    digest = hashlib.sha256(cause.encode()).hexdigest()[:12]
    return f"{kind}|{table or '-'}|{digest}"


def backoff(attempts: int) -> timedelta:
    """The wait after `attempts` failed attempts: 1, 2, 4, 8... minutes, at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass
class _History:
    """What earlier calls decided, as far as this call needs it."""

    last_sent: dict[str, datetime]
    """Per DedupKey, when the latest delivered alert of that key was raised."""
    last_digest: datetime | None
    unmentioned: dict[str, list[dict[str, Any]]]
    """Suppressed rows no message has mentioned yet, by DedupKey."""


@dataclass
class _Batch:
    """One message: alerts shown, duplicates folded into it, earlier repeats it mentions."""

    shown: list[dict[str, Any]] = field(default_factory=list)
    folded: list[dict[str, Any]] = field(default_factory=list)
    mentioned: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Plan:
    batches: dict[str, _Batch] = field(default_factory=dict)
    suppressed: list[dict[str, Any]] = field(default_factory=list)


def deliver_pending(
    store: MetadataStore,
    settings: AlertingSettings,
    notifiers: Sequence[Notifier],
    *,
    now: datetime,
    cursor: str | None = None,
    limit: int = 500,
    job_of: Callable[[str], str | None] | None = None,
) -> DeliveryReport:
    """Send every due alert through every notifier and record the outcome in one commit.

    `cursor` is only reported back (the latest CreatedAt seen): correctness never depends on it,
    every non-final row is read each call. `job_of` names the job of a run id for rows written
    without a JobName (the sensor asks the Dagster instance). Notifier errors are recorded,
    never raised; a failing metadata write raises, and the next call resends.
    """
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    table = store.read(MetadataTable.Alerts)
    open_rows = _open_rows(table, settings.max_attempts)
    new_cursor = _cursor(table, cursor)
    if not notifiers:
        return DeliveryReport(pending=len(open_rows), cursor=new_cursor, note=NO_NOTIFIER)
    history = _history(table)
    due = sorted((r for r in open_rows if _is_due(r, settings, history, now)),
                 key=lambda r: r["CreatedAt"])[:limit]
    _complete(due, job_of)
    plan = _plan(due, history, timedelta(minutes=settings.dedup_window_minutes))
    records = {r["AlertId"]: _record(r, SUPPRESSED, now=now) for r in plan.suppressed}
    errors: list[str] = []
    sent = 0
    for batch in plan.batches.values():
        accepted, failures = _send_batch(batch, settings, notifiers)
        sent += int(accepted)
        errors += failures
        records.update(_outcome(batch, accepted, failures, now))
    crash_point("alerts.after_send")
    store.upsert(MetadataTable.Alerts, list(records.values()), key="AlertId")
    return _report(records, {r["AlertId"] for r in due}, len(open_rows), settings,
                   sent=sent, errors=errors, cursor=new_cursor)


def _open_rows(table: pa.Table, max_attempts: int) -> list[dict[str, Any]]:
    """Rows not final: Pending, or Failed with attempts left (filtered in Arrow: 10k rows)."""
    status = table["DeliveryStatus"]
    attempts = pc.fill_null(table["DeliveryAttempts"], 0)
    retryable = pc.and_(pc.equal(status, FAILED), pc.less(attempts, max_attempts))
    return table.filter(pc.or_(pc.equal(status, PENDING), retryable)).to_pylist()


def _cursor(table: pa.Table, cursor: str | None) -> str | None:
    latest = pc.max(table["CreatedAt"]).as_py() if table.num_rows else None
    return latest.isoformat() if latest is not None else cursor


def _history(table: pa.Table) -> _History:
    status = table["DeliveryStatus"]
    delivered = table.filter(pc.equal(status, DELIVERED))
    keyed = delivered.filter(pc.is_valid(delivered["DedupKey"]))
    latest = keyed.group_by("DedupKey").aggregate([("CreatedAt", "max")])
    low = delivered.filter(pc.equal(delivered["Severity"], AlertSeverity.LOW.value))
    unmentioned: dict[str, list[dict[str, Any]]] = {}
    waiting = table.filter(pc.and_(pc.equal(status, SUPPRESSED),
                                   pc.is_null(table["DeliveredAt"])))
    for row in waiting.to_pylist():
        unmentioned.setdefault(str(row["DedupKey"]), []).append(row)
    return _History(
        last_sent=dict(zip(latest["DedupKey"].to_pylist(), latest["CreatedAt_max"].to_pylist(),
                           strict=True)),
        last_digest=pc.max(low["DeliveredAt"]).as_py() if low.num_rows else None,
        unmentioned=unmentioned,
    )


def _is_due(row: dict[str, Any], settings: AlertingSettings, history: _History,
            now: datetime) -> bool:
    """Backoff passed, and for LOW alerts: no digest went out within `low_digest_hours`."""
    last = row["LastAttemptAt"]
    if row["DeliveryStatus"] == FAILED and last is not None:
        if now < last + backoff(row["DeliveryAttempts"] or 0):
            return False
    if row_severity(row) is AlertSeverity.LOW and history.last_digest is not None:
        return now - history.last_digest >= timedelta(hours=settings.low_digest_hours)
    return True


def _complete(rows: list[dict[str, Any]], job_of: Callable[[str], str | None] | None) -> None:
    """Fill DedupKey and JobName where the producer left them out (older rows)."""
    jobs: dict[str, str | None] = {}
    for row in rows:
        if not row["DedupKey"]:
            row["DedupKey"] = dedup_key(row["AlertType"], row["TableName"], row["Message"])
        run = row["PipelineRunId"]
        if not row["JobName"] and run and job_of is not None:
            if run not in jobs:
                jobs[run] = _job_name(job_of, run)
            row["JobName"] = jobs[run]


def _job_name(job_of: Callable[[str], str | None], run: str) -> str | None:
    try:
        return job_of(run)
    except Exception:  # a missing job name must never hold up an alert
        return None


def _plan(due: list[dict[str, Any]], history: _History, window: timedelta) -> _Plan:
    """Suppress repeats of delivered failures, fold repeats in this call, group by run.

    LOW alerts go into one digest; every other alert goes into its run's message.
    """
    plan = _Plan()
    shown: dict[str, tuple[datetime, str]] = {}
    for row in due:
        key, created = row["DedupKey"], row["CreatedAt"]
        last = history.last_sent.get(key)
        if last is not None and abs(created - last) <= window:
            plan.suppressed.append(row)
            history.unmentioned.setdefault(key, []).append(row)
            continue
        if key in shown and abs(created - shown[key][0]) <= window:
            plan.batches[shown[key][1]].folded.append(row)
            continue
        group = _group(row)
        batch = plan.batches.setdefault(group, _Batch())
        batch.shown.append(row)
        batch.mentioned += history.unmentioned.pop(key, [])
        shown[key] = (created, group)
    return plan


def _group(row: dict[str, Any]) -> str:
    if row_severity(row) is AlertSeverity.LOW:
        return "digest"
    run = row["PipelineRunId"]
    return f"run:{run}" if run else f"alert:{row['AlertId']}"


def _message(batch: _Batch, settings: AlertingSettings) -> AlertMessage:
    """The batch rendered; its alert ids include the folded duplicates that share its fate."""
    counts = Counter(str(r["DedupKey"]) for r in batch.folded + batch.mentioned)
    message = render(batch.shown, settings, suppressed_counts=counts)
    ids = message.alert_ids + tuple(str(r["AlertId"]) for r in batch.folded)
    return replace(message, alert_ids=ids)


def _send_batch(batch: _Batch, settings: AlertingSettings,
                notifiers: Sequence[Notifier]) -> tuple[bool, list[str]]:
    """Render and send one batch; delivered when at least one notifier accepted it.

    A row that cannot be rendered fails its own batch (retried, then Failed for good) instead
    of the whole call, which would resend every other batch on each tick.
    """
    try:
        message = _message(batch, settings)
    except Exception as exc:
        return False, [truncate(f"rendering: {type(exc).__name__}: {exc}", 500)]
    accepted, failures = False, []
    for notifier in notifiers:
        try:
            notifier.send(message)
            accepted = True
        except Exception as exc:  # any notifier failure is recorded and retried, never raised
            name = getattr(notifier, "name", type(notifier).__name__)
            failures.append(truncate(f"{name}: {type(exc).__name__}: {exc}", 500))
    return accepted, failures


def _outcome(batch: _Batch, accepted: bool, failures: Sequence[str],
             now: datetime) -> dict[str, dict[str, Any]]:
    """The records of one batch: delivered (failed notifiers named) or failed, per alert."""
    error = "; ".join(failures) or None

    def attempted(row: dict[str, Any], status: str) -> dict[str, Any]:
        return _record(row, status, now=now, delivered_at=now if accepted else None,
                       error=error, attempted=True)

    records = {r["AlertId"]: attempted(r, DELIVERED if accepted else FAILED)
               for r in batch.shown}
    records |= {r["AlertId"]: attempted(r, SUPPRESSED if accepted else FAILED)
                for r in batch.folded}
    if accepted:
        records |= {r["AlertId"]: _record(r, SUPPRESSED, now=r["LastAttemptAt"] or now,
                                          delivered_at=now, error=r["DeliveryError"])
                    for r in batch.mentioned}
    return records


def _record(row: dict[str, Any], status: str, *, now: datetime | None,
            delivered_at: datetime | None = None, error: str | None = None,
            attempted: bool = False) -> dict[str, Any]:
    """The delivery columns of one row. A Suppressed row's DeliveredAt: when it was mentioned."""
    attempts = (row["DeliveryAttempts"] or 0) + (1 if attempted else 0)
    return {"AlertId": row["AlertId"], "DeliveryStatus": status, "DeliveryAttempts": attempts,
            "LastAttemptAt": now, "DeliveredAt": delivered_at, "DeliveryError": error,
            "DedupKey": row["DedupKey"], "JobName": row["JobName"]}


def _report(records: dict[str, dict[str, Any]], due: set[str], open_count: int,
            settings: AlertingSettings, *, sent: int, errors: Sequence[str],
            cursor: str | None) -> DeliveryReport:
    mine = [r for i, r in records.items() if i in due]
    count = Counter(r["DeliveryStatus"] for r in mine)
    final = sum(1 for r in mine if r["DeliveryStatus"] == FAILED
                and r["DeliveryAttempts"] >= settings.max_attempts)
    return DeliveryReport(
        messages_sent=sent, delivered=count[DELIVERED], suppressed=count[SUPPRESSED],
        failed=count[FAILED], failed_for_good=final,
        pending=open_count - count[DELIVERED] - count[SUPPRESSED] - final,
        errors=tuple(errors), cursor=cursor,
    )
