"""Alert rows rendered into one message: subject, content a person acts on, escaping."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from recovery_platform.domain.alerting.delivery import dedup_key
from recovery_platform.domain.alerting.messages import MAX_ERROR_CHARS, render
from recovery_platform.domain.lakehouse.table_config import AlertingSettings
from recovery_platform.domain.lakehouse.vocabulary import AlertSeverity

SETTINGS = AlertingSettings(
    dagster_ui_url="https://dagster.example.com",
    recipients={"CRITICAL": ("oncall@example.com", "admins@example.com"),
                "LOW": ("digest@example.com",)},
)
CREATED = datetime(2026, 1, 6, 2, 15, 30, tzinfo=UTC)


def row(kind: str, message: str, *, table: str | None = "account", run: str | None = "run-1",
        severity: str = "CRITICAL", job: str | None = "daily_sync_job",
        details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"AlertId": str(uuid.uuid4()), "PipelineRunId": run, "CreatedAt": CREATED,
            "Severity": severity, "AlertType": kind, "TableName": table, "Message": message,
            "DetailsJson": json.dumps(details or {}), "DeliveryStatus": "Pending",
            "DedupKey": dedup_key(kind, table, message), "JobName": job}


class Tags(HTMLParser):
    """Every start tag and attribute of a document, by a real HTML parser."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs


def tags_of(document: str) -> Tags:
    parser = Tags()
    parser.feed(document)
    return parser


def test_five_failed_tables_of_one_run_make_one_subject_with_severity_count_and_job() -> None:
    alerts = [row("SyncFailed", f"sync of t{i} failed: OSError: disk", table=f"t{i}")
              for i in range(5)]

    message = render(alerts, SETTINGS, suppressed_counts={})

    assert message.subject == "[CRITICAL] 5 tables failed in daily_sync_job: SyncFailed"
    assert message.severity is AlertSeverity.CRITICAL
    assert message.recipients == ("oncall@example.com", "admins@example.com")
    assert message.alert_ids == tuple(a["AlertId"] for a in alerts)
    assert message.link == "https://dagster.example.com/runs/run-1"
    assert message.facts["Tables"] == "t0, t1, t2, t3, t4"
    assert message.facts["Job"] == "daily_sync_job"
    assert all(a["AlertId"] in message.text and a["AlertId"] in message.html for a in alerts)


def test_the_highest_severity_leads_and_a_row_without_job_or_table_falls_back() -> None:
    alerts = [row("MaintenanceFailed", "vacuum failed", severity="MEDIUM", job=None),
              row("MaintenanceFailures", "4 tables failed", table=None, job=None)]

    message = render(alerts, SETTINGS, suppressed_counts={})

    assert message.subject == (
        "[CRITICAL] 2 alerts in a run: MaintenanceFailed, MaintenanceFailures")
    assert message.text.index("MaintenanceFailures") < message.text.index("MaintenanceFailed (")


def test_a_sync_alert_says_what_failed_where_when_how_to_look_and_what_to_do() -> None:
    alert = row("SyncFailed", "sync of account failed: OSError: no space left",
                details={"sync_date": "2026-01-05"})

    text = render([alert], SETTINGS, suppressed_counts={}).text

    for expected in (
        "What failed: A table's daily sync failed; its bronze table was not updated.",
        "Severity: CRITICAL", "Table: account", "Error: sync of account failed: OSError: no space",
        "Time: 2026-01-06 02:15:30 UTC", "Run: run-1",
        "Run in Dagster: https://dagster.example.com/runs/run-1",
        "SELECT * FROM metadata.SyncAuditLog WHERE PipelineRunId = 'run-1' "
        "AND TableName = 'account'",
        "First steps: Read the error in SyncAuditLog",
        "Runbook: docs/runbook_alerts.md#syncfailed",
        "Re-run: re-run daily_sync_job for 2026-01-05",
    ):
        assert expected in text, expected


def test_a_maintenance_alert_has_no_sync_rerun_hint() -> None:
    text = render([row("VacuumSkipped", "files needed", severity="MEDIUM")], SETTINGS,
                  suppressed_counts={}).text

    assert "Runbook: docs/runbook_alerts.md#vacuumskipped" in text
    assert "Re-run:" not in text


def test_a_validation_failure_lists_its_reasons_and_the_recommended_action() -> None:
    alert = row("ValidationFailed", "account: validation failed: 3 null primary keys; "
                "active + deleted + purged != total")

    text = render([alert], SETTINGS, suppressed_counts={}).text

    assert "Failure reasons:\n     - 3 null primary keys\n     - active + deleted + purged" in text
    assert "Recommended action: Read DataValidation for the version" in text


def test_repeats_of_a_failure_are_counted_in_its_alert() -> None:
    alert = row("SyncFailed", "sync failed")

    message = render([alert], SETTINGS, suppressed_counts={alert["DedupKey"]: 3})

    assert "3 more occurrences of this failure were not sent separately" in message.text
    assert message.facts["Repeats not sent"] == "3"


def test_an_unknown_kind_still_renders_under_its_own_name() -> None:
    message = render([row("DiskAlmostFull", "92 % used", severity="LOW")], SETTINGS,
                     suppressed_counts={})

    assert message.subject == "[LOW] 1 table failed in daily_sync_job: DiskAlmostFull"
    assert "DiskAlmostFull (a kind this release does not declare)" in message.text
    assert message.recipients == ("digest@example.com",)


def test_a_long_stack_trace_keeps_its_head_and_tail() -> None:
    trace = "Traceback: first frame\n" + "x" * 10_000 + "\nValueError: the cause"

    text = render([row("SyncFailed", trace)], SETTINGS, suppressed_counts={}).text

    assert "Traceback: first frame" in text and "ValueError: the cause" in text
    assert "characters cut" in text
    assert len(text) < MAX_ERROR_CHARS + 3000


def test_markup_quotes_and_line_breaks_in_values_are_harmless() -> None:
    evil = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>"
    run = "run-1' OR '1'='1"
    alert = row("SyncFailed", f"boom {evil}\r\nBcc: victim@example.com", table=f"t{evil}\r\nX: y",
                run=run, job="daily\r\nBcc: a@b.c")

    message = render([alert], SETTINGS, suppressed_counts={})

    parsed = tags_of(message.html)
    assert not {"script", "img"} & set(parsed.tags)
    assert [v for k, v in parsed.attributes if k == "href"] == [
        "https://dagster.example.com/runs/run-1%27%20OR%20%271%27%3D%271"]
    assert "&lt;script&gt;" in message.html
    assert "\r" not in message.subject and "\n" not in message.subject
    assert all("\n" not in v and "\r" not in v for v in message.facts.values())
    assert "WHERE PipelineRunId = 'run-1'' OR ''1''=''1'" in message.text
