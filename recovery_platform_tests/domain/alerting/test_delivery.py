"""Delivery of alert rows on a real lakehouse: batching, dedup, retries, digest, crashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recovery_platform.domain.alerting.delivery import (
    NO_NOTIFIER,
    DeliveryReport,
    dedup_key,
    deliver_pending,
)
from recovery_platform.domain.alerting.message import AlertMessage, NotifierError
from recovery_platform.domain.lakehouse.audit import AuditTrail, utc_now
from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import AlertingSettings

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)
SETTINGS = AlertingSettings(recipients={"CRITICAL": ("oncall@example.com",)}, max_attempts=3,
                            dedup_window_minutes=60, low_digest_hours=24)


class RecordingNotifier:
    """Accepts every message and keeps it, as a receiver would."""

    def __init__(self, name: str = "recording") -> None:
        self.name = name
        self.messages: list[AlertMessage] = []

    def send(self, message: AlertMessage) -> None:
        self.messages.append(message)


class FailingNotifier:
    """Refuses every message, like a server that is down."""

    def __init__(self, name: str = "down", error: Exception | None = None) -> None:
        self.name = name
        self.error = error or NotifierError("connection refused")
        self.calls = 0

    def send(self, message: AlertMessage) -> None:
        self.calls += 1
        raise self.error


def alert_row(kind: str, message: str, *, table: str | None = "account", run: str = "run-1",
              created: datetime = NOW, severity: str = "CRITICAL", status: str = "Pending",
              job: str | None = "daily_sync_job") -> dict[str, Any]:
    """A row as AuditTrail writes it, raised at `created` (AuditTrail always uses now)."""
    return {"AlertId": str(uuid.uuid4()), "PipelineRunId": run, "CreatedAt": created,
            "Severity": severity, "AlertType": kind, "TableName": table, "Message": message,
            "DetailsJson": "{}", "DeliveryStatus": status, "DeliveryAttempts": 0,
            "DedupKey": dedup_key(kind, table, message), "JobName": job}


def rows_by_id(store: MetadataStore) -> dict[str, dict[str, Any]]:
    return {r["AlertId"]: r for r in store.rows(MetadataTable.Alerts)}


def alerts_version(lakehouse: Lakehouse) -> int:
    return lakehouse.engine.state(lakehouse.metadata_uri(MetadataTable.Alerts)).version


def deliver(store: MetadataStore, *notifiers: Any, now: datetime = NOW,
            settings: AlertingSettings = SETTINGS) -> DeliveryReport:
    return deliver_pending(store, settings, list(notifiers), now=now)


@pytest.fixture
def ready(store: MetadataStore) -> MetadataStore:
    store.ensure_tables()
    return store


def test_fifty_failed_tables_of_one_run_are_one_message_recorded_in_one_commit(
    ready: MetadataStore, lakehouse: Lakehouse
) -> None:
    audit = AuditTrail(ready, "run-1", job_name="daily_sync_job")
    for i in range(50):
        audit.alert("SyncFailed", f"sync of table_{i} failed: OSError: disk", table=f"table_{i}")
    other = AuditTrail(ready, "run-2")
    other.alert("MaintenanceFailed", "vacuum failed", table="account")
    audit.flush()
    other.flush()
    before, receiver, now = alerts_version(lakehouse), RecordingNotifier(), utc_now()

    report = deliver(ready, receiver, now=now)

    assert [m.subject for m in receiver.messages] == [
        "[CRITICAL] 50 tables failed in daily_sync_job: SyncFailed",
        "[MEDIUM] 1 table failed in a run: MaintenanceFailed"]
    stored = rows_by_id(ready)
    assert set(receiver.messages[0].alert_ids) == {
        i for i, r in stored.items() if r["PipelineRunId"] == "run-1"}
    assert {r["DeliveryStatus"] for r in stored.values()} == {"Delivered"}
    assert {(r["DeliveryAttempts"], r["DeliveredAt"], r["LastAttemptAt"])
            for r in stored.values()} == {(1, now, now)}
    assert alerts_version(lakehouse) == before + 1
    assert (report.messages_sent, report.delivered, report.pending) == (2, 51, 0)
    assert deliver(ready, receiver, now=now).messages_sent == 0


def test_a_repeat_within_the_window_is_suppressed_and_counted_in_the_next_message(
    ready: MetadataStore,
) -> None:
    first = alert_row("SyncFailed", "sync failed: 120 rows refused in version 7")
    ready.append(MetadataTable.Alerts, [first])
    receiver = RecordingNotifier()
    deliver(ready, receiver)
    repeats = [alert_row("SyncFailed", f"sync failed: {n} rows refused in version {n + 1}",
                         run=f"run-{n}", created=NOW + timedelta(minutes=10 * n))
               for n in (2, 3)]
    other = alert_row("SyncFailed", "sync failed: 120 rows refused in version 7",
                      table="contact", run="run-3", created=NOW + timedelta(minutes=30))
    ready.append(MetadataTable.Alerts, [*repeats, other])

    report = deliver(ready, receiver, now=NOW + timedelta(minutes=31))

    assert (report.suppressed, report.delivered) == (2, 1)
    assert receiver.messages[-1].alert_ids == (other["AlertId"],)
    later = alert_row("SyncFailed", "sync failed: 9 rows refused in version 12", run="run-9",
                      created=NOW + timedelta(minutes=90))
    ready.append(MetadataTable.Alerts, [later])
    deliver(ready, receiver, now=NOW + timedelta(minutes=91))
    assert receiver.messages[-1].alert_ids == (later["AlertId"],)
    assert "2 more occurrences of this failure were not sent separately" in (
        receiver.messages[-1].text)
    stored = rows_by_id(ready)
    assert [stored[r["AlertId"]]["DeliveryStatus"] for r in repeats] == ["Suppressed"] * 2
    assert {stored[r["AlertId"]]["DeliveredAt"] for r in repeats} == {
        NOW + timedelta(minutes=91)}  # when they were mentioned


def test_duplicates_raised_together_fold_into_one_alert_and_share_its_fate(
    ready: MetadataStore,
) -> None:
    rows = [alert_row("CheckpointFailed", f"Daily checkpoint failed: lease {n} held",
                      severity="MEDIUM", created=NOW + timedelta(seconds=n)) for n in range(3)]
    ready.append(MetadataTable.Alerts, rows)
    down, receiver = FailingNotifier(), RecordingNotifier()

    assert deliver(ready, down).failed == 3
    deliver(ready, receiver, now=NOW + timedelta(minutes=1))

    (message,) = receiver.messages
    assert message.alert_ids == tuple(r["AlertId"] for r in rows)
    assert message.text.count("CheckpointFailed (MEDIUM)") == 1
    assert "2 more occurrences" in message.text
    stored = rows_by_id(ready)
    assert [stored[r["AlertId"]]["DeliveryStatus"] for r in rows] == [
        "Delivered", "Suppressed", "Suppressed"]
    assert [stored[r["AlertId"]]["DeliveryAttempts"] for r in rows] == [2, 2, 2]


def test_a_refused_message_is_retried_with_backoff_then_failed_for_good(
    ready: MetadataStore,
) -> None:
    row = alert_row("SyncFailed", "boom")
    ready.append(MetadataTable.Alerts, [row])
    down = FailingNotifier()
    minutes = [0, 0.5, 1, 2.9, 3, 60 * 24]  # backoff 1 then 2 minutes; 3 attempts allowed

    reports = [deliver(ready, down, now=NOW + timedelta(minutes=m)) for m in minutes]

    assert down.calls == 3
    assert [(r.failed, r.failed_for_good, r.pending) for r in reports] == [
        (1, 0, 1), (0, 0, 1), (1, 0, 1), (0, 0, 1), (1, 1, 0), (0, 0, 0)]
    stored = rows_by_id(ready)[row["AlertId"]]
    assert (stored["DeliveryStatus"], stored["DeliveryAttempts"]) == ("Failed", 3)
    assert stored["DeliveryError"] == "down: NotifierError: connection refused"
    assert stored["LastAttemptAt"] == NOW + timedelta(minutes=3)
    assert reports[0].errors == ("down: NotifierError: connection refused",)


def test_one_accepting_notifier_delivers_and_the_failing_ones_are_named(
    ready: MetadataStore,
) -> None:
    row = alert_row("SyncHeld", "held", severity="HIGH")
    ready.append(MetadataTable.Alerts, [row])
    buggy = FailingNotifier("teams", RuntimeError("bug in a transport"))

    report = deliver(ready, FailingNotifier("email"), buggy, RecordingNotifier("slack"))

    stored = rows_by_id(ready)[row["AlertId"]]
    assert (stored["DeliveryStatus"], stored["DeliveredAt"]) == ("Delivered", NOW)
    assert stored["DeliveryError"] == (
        "email: NotifierError: connection refused; teams: RuntimeError: bug in a transport")
    assert report.delivered == 1 and len(report.errors) == 2


def test_low_alerts_wait_for_a_digest_at_most_once_per_period(ready: MetadataStore) -> None:
    ready.append(MetadataTable.Alerts, [
        alert_row("DiskAlmostFull", "80 % used", severity="LOW"),
        alert_row("SyncFailed", "boom", table="contact")])
    receiver = RecordingNotifier()
    deliver(ready, receiver)
    assert sorted(m.severity.value for m in receiver.messages) == ["CRITICAL", "LOW"]
    waiting = [alert_row("DiskAlmostFull", "81 % used on a second disk", severity="LOW",
                         run="run-2", created=NOW + timedelta(hours=1)),
               alert_row("StorageSlow", "slow", severity="LOW", table=None, run="run-3",
                         created=NOW + timedelta(hours=2))]
    ready.append(MetadataTable.Alerts, waiting)

    early = deliver(ready, receiver, now=NOW + timedelta(hours=23, minutes=59))
    due = deliver(ready, receiver, now=NOW + timedelta(hours=24))

    assert (early.messages_sent, early.pending) == (0, 2)
    assert due.messages_sent == 1
    digest = receiver.messages[-1]
    assert digest.subject == "[LOW] 2 alerts in 2 runs: DiskAlmostFull, StorageSlow"
    assert set(digest.alert_ids) == {r["AlertId"] for r in waiting}


def test_without_a_notifier_alerts_stay_pending_and_nothing_is_written(
    ready: MetadataStore, lakehouse: Lakehouse
) -> None:
    ready.append(MetadataTable.Alerts, [alert_row("SyncFailed", "boom")])
    before = alerts_version(lakehouse)

    report = deliver(ready)

    assert (report.note, report.pending, report.messages_sent) == (NO_NOTIFIER, 1, 0)
    assert report.cursor == NOW.isoformat()
    assert alerts_version(lakehouse) == before
    assert {r["DeliveryStatus"] for r in ready.rows(MetadataTable.Alerts)} == {"Pending"}


def test_the_job_name_of_an_older_row_is_asked_for_once_per_run(ready: MetadataStore) -> None:
    ready.append(MetadataTable.Alerts, [alert_row("SyncFailed", f"t{i} broke", table=f"t{i}",
                                                  job=None) for i in range(3)])
    asked: list[str] = []
    receiver = RecordingNotifier()

    deliver_pending(ready, SETTINGS, [receiver], now=NOW,
                    job_of=lambda run: asked.append(run) or "daily_sync_job")

    assert asked == ["run-1"]
    assert receiver.messages[0].subject.endswith("in daily_sync_job: SyncFailed")
    assert {r["JobName"] for r in ready.rows(MetadataTable.Alerts)} == {"daily_sync_job"}


KILLED_AFTER_SEND = """
import json, sys
from datetime import datetime
from pathlib import Path
from recovery_platform.domain.alerting.delivery import deliver_pending
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import AlertingSettings
from recovery_platform_tests.domain.site import make_lakehouse

class FileNotifier:
    name = "file"
    def send(self, message):
        with open(sys.argv[2], "a") as out:
            out.write(json.dumps(list(message.alert_ids)) + "\\n")

store = MetadataStore(make_lakehouse(Path(sys.argv[1])))
deliver_pending(store, AlertingSettings(), [FileNotifier()],
                now=datetime.fromisoformat(sys.argv[3]))
raise SystemExit("the crash point did not fire")
"""


def test_a_process_killed_between_send_and_record_resends_the_same_alert_ids(
    ready: MetadataStore, tmp_path: Path
) -> None:
    rows = [alert_row("SyncFailed", f"t{i} broke", table=f"t{i}") for i in range(3)]
    ready.append(MetadataTable.Alerts, rows)
    received = tmp_path / "received.jsonl"

    child = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_SEND, str(tmp_path), str(received), NOW.isoformat()],
        env={**os.environ, CRASH_ENV: "alerts.after_send:kill"}, cwd=REPO,
        capture_output=True, text=True, timeout=120, check=False)

    assert child.returncode == -9, child.stderr[-3000:]
    (sent,) = [json.loads(line) for line in received.read_text().splitlines()]
    assert {r["DeliveryStatus"] for r in ready.rows(MetadataTable.Alerts)} == {"Pending"}
    receiver = RecordingNotifier()
    deliver(ready, receiver, now=NOW + timedelta(seconds=30))
    assert [list(m.alert_ids) for m in receiver.messages] == [sent]
    assert sorted(sent) == sorted(r["AlertId"] for r in rows)
    assert {r["DeliveryStatus"] for r in ready.rows(MetadataTable.Alerts)} == {"Delivered"}


def test_a_call_over_ten_thousand_alert_rows_stays_fast(ready: MetadataStore) -> None:
    history = [alert_row("SyncFailed", "boom", table=f"t{i}", run=f"old-{i // 50}",
                         created=NOW - timedelta(days=2, minutes=i), status="Delivered")
               for i in range(9_950)]
    fresh = [alert_row("SyncFailed", "boom", table=f"t{i}", run="run-new") for i in range(50)]
    ready.append(MetadataTable.Alerts, history)
    ready.append(MetadataTable.Alerts, fresh)
    receiver = RecordingNotifier()

    started = time.perf_counter()
    report = deliver(ready, receiver)
    with_work = time.perf_counter() - started
    started = time.perf_counter()
    deliver(ready, receiver, now=NOW + timedelta(seconds=30))
    idle = time.perf_counter() - started

    print(f"\n10,000 alert rows: a call delivering 50 took {with_work:.3f} s, "
          f"an idle call {idle:.3f} s")
    assert (report.messages_sent, report.delivered) == (1, 50)
