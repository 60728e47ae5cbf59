"""Alert rows rendered as one message a person can act on without opening anything else first.

Every message says what failed, how bad it is, where (table, run, time), the query that shows the
details, what to do first and where the runbook section is. Every value may come from an error
text, a table name or a user-entered reason, so the HTML escapes all of it and one-line fields
(subject, facts) lose their line breaks: nothing in a row can add a header or markup.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from recovery_platform.domain.alerting.kinds import ALERT_KINDS, AlertKind
from recovery_platform.domain.alerting.message import AlertMessage
from recovery_platform.domain.lakehouse.table_config import AlertingSettings
from recovery_platform.domain.lakehouse.vocabulary import AlertSeverity

__all__ = ["MAX_ERROR_CHARS", "render", "row_severity", "run_link", "sql_literal"]

MAX_ERROR_CHARS = 1500
"""A stack trace beyond this keeps its head and its tail: the cause and the failing frame."""
RUNBOOK = "docs/runbook_alerts.md"
SEVERITY_ORDER = (AlertSeverity.CRITICAL, AlertSeverity.HIGH, AlertSeverity.MEDIUM,
                  AlertSeverity.LOW)
RERUN_KINDS = frozenset({"SyncFailed", "SyncHeld", "SyncRefused", "ValidationFailed"})
_ONE_LINE = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")

Field = tuple[str, str | Sequence[str]]
"""A label and its value; a sequence value is a list (validation reasons)."""


def render(
    alerts: Sequence[Mapping[str, Any]],
    settings: AlertingSettings,
    *,
    suppressed_counts: Mapping[str, int],
) -> AlertMessage:
    """One message for `alerts` (Alerts rows), loudest severity first in the subject.

    `suppressed_counts` maps a DedupKey to the repeats of that failure that were not sent on
    their own; each alert of that key says how many.
    """
    if not alerts:
        raise ValueError("a message needs at least one alert")
    severity = max((row_severity(a) for a in alerts), key=lambda s: -SEVERITY_ORDER.index(s))
    ordered = sorted(alerts, key=lambda a: (SEVERITY_ORDER.index(row_severity(a)),
                                            _created(a), str(a.get("TableName") or "")))
    subject = one_line(_subject(alerts, severity))
    blocks = [_fields(a, settings, suppressed_counts) for a in ordered]
    ids = tuple(str(a["AlertId"]) for a in alerts)
    runs = {a.get("PipelineRunId") for a in alerts}
    only_run = next(iter(runs)) if len(runs) == 1 else None
    return AlertMessage(
        severity=severity, subject=subject,
        text=_text(subject, ordered, blocks, ids), html=_html(subject, ordered, blocks, ids),
        alert_ids=ids, recipients=tuple(settings.recipients.get(severity.value, ())),
        link=run_link(settings, only_run) if only_run else None,
        facts=_facts(alerts, severity, suppressed_counts),
    )


def row_severity(alert: Mapping[str, Any]) -> AlertSeverity:
    """The row's severity; an unreadable one falls back to its kind's, else HIGH (be loud)."""
    try:
        return AlertSeverity(str(alert.get("Severity")))
    except ValueError:
        kind = ALERT_KINDS.get(str(alert.get("AlertType")))
        return kind.severity if kind else AlertSeverity.HIGH


def one_line(value: object) -> str:
    """`value` as a single line: control characters and line breaks become one space."""
    return _ONE_LINE.sub(" ", str(value)).strip()


def sql_literal(value: str) -> str:
    """`value` as a SQL string literal (quotes doubled), safe to paste into the query."""
    return "'" + one_line(value).replace("'", "''") + "'"


def run_link(settings: AlertingSettings, run_id: str) -> str:
    """The run's page in the Dagster UI; the run id is URL-quoted."""
    return f"{settings.dagster_ui_url.rstrip('/')}/runs/{quote(str(run_id), safe='')}"


def _subject(alerts: Sequence[Mapping[str, Any]], severity: AlertSeverity) -> str:
    jobs = sorted({str(a["JobName"]) for a in alerts if a.get("JobName")})
    runs = {a.get("PipelineRunId") for a in alerts}
    where = jobs[0] if len(jobs) == 1 and len(runs) == 1 else (
        f"{len(runs)} runs" if len(runs) > 1 else "a run")
    tables = {a.get("TableName") for a in alerts}
    if None in tables or "" in tables:
        head = f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''} in {where}"
    else:
        head = f"{len(tables)} table{'s' if len(tables) != 1 else ''} failed in {where}"
    kinds = sorted({str(a.get("AlertType")) for a in alerts})
    tail = f": {', '.join(kinds)}" if len(kinds) <= 2 else f": {len(kinds)} kinds"
    return f"[{severity.value}] {head}{tail}"


def _fields(
    alert: Mapping[str, Any], settings: AlertingSettings, suppressed: Mapping[str, int]
) -> list[Field]:
    """What one alert tells a person, in reading order."""
    name = str(alert.get("AlertType"))
    kind = ALERT_KINDS.get(name) or AlertKind(
        name, row_severity(alert), f"{name} (a kind this release does not declare).",
        "Read the message and the run's SyncAuditLog rows.")
    run, table = alert.get("PipelineRunId"), alert.get("TableName")
    fields: list[Field] = [("What failed", kind.meaning), ("Severity", row_severity(alert).value),
                           ("Table", str(table or "(none)")),
                           ("Error", truncate(str(alert.get("Message") or ""))),
                           ("Time", _created(alert).strftime("%Y-%m-%d %H:%M:%S UTC")),
                           ("Run", str(run or "(unknown)"))]
    if run:
        fields += [("Run in Dagster", run_link(settings, str(run))),
                   ("Details", _query(str(run), str(table) if table else None))]
    details = _details(alert)
    if name == "ValidationFailed":
        fields += [("Failure reasons", _reasons(alert, details)),
                   ("Recommended action",
                    str(details.get("recommended_action") or kind.first_steps))]
    else:
        fields.append(("First steps", kind.first_steps))
    fields.append(("Runbook", f"{RUNBOOK}#{kind.anchor}"))
    if name in RERUN_KINDS:
        day = details.get("sync_date") or "the run's sync date (its run config)"
        fields.append(("Re-run", f"re-run daily_sync_job for {day}"))
    repeats = suppressed.get(str(alert.get("DedupKey") or ""), 0)
    if repeats:
        fields.append(("Repeats", f"{repeats} more occurrence{'s' if repeats != 1 else ''} of "
                                  f"this failure were not sent separately (within "
                                  f"{settings.dedup_window_minutes} min)"))
    return fields


def truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """`text`, or its head and tail with the number of characters cut between them."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-(limit // 3):]
    return f"{head}\n… ({len(text) - len(head) - len(tail)} characters cut) …\n{tail}"


def _query(run: str, table: str | None) -> str:
    where = f"PipelineRunId = {sql_literal(run)}"
    if table:
        where += f" AND TableName = {sql_literal(table)}"
    return f"SELECT * FROM metadata.SyncAuditLog WHERE {where} ORDER BY StartTime"


def _details(alert: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded = json.loads(alert.get("DetailsJson") or "{}")
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _reasons(alert: Mapping[str, Any], details: Mapping[str, Any]) -> tuple[str, ...]:
    """The table's validation failures: from the details, else from the producer's message."""
    listed = details.get("failures") or details.get("reasons")
    if isinstance(listed, list) and listed:
        return tuple(truncate(str(r), 500) for r in listed)
    message = str(alert.get("Message") or "")
    _, found, rest = message.partition("validation failed: ")
    return tuple(r.strip() for r in (rest if found else message).split("; ") if r.strip())


def _created(alert: Mapping[str, Any]) -> datetime:
    created = alert.get("CreatedAt")
    if not isinstance(created, datetime):
        return datetime.fromtimestamp(0, UTC)
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _facts(
    alerts: Sequence[Mapping[str, Any]], severity: AlertSeverity, suppressed: Mapping[str, int]
) -> dict[str, str]:
    tables = sorted({str(a["TableName"]) for a in alerts if a.get("TableName")})
    runs = sorted({str(a["PipelineRunId"]) for a in alerts if a.get("PipelineRunId")})
    jobs = sorted({str(a["JobName"]) for a in alerts if a.get("JobName")})
    shown = ", ".join(tables[:10]) + (f" (+{len(tables) - 10} more)" if len(tables) > 10 else "")
    facts = {"Severity": severity.value, "Alerts": str(len(alerts)),
             "Job": ", ".join(jobs) or "(unknown)", "Run": ", ".join(runs[:3]) or "(unknown)",
             "Tables": shown or "(none)",
             "Time": min(_created(a) for a in alerts).strftime("%Y-%m-%d %H:%M UTC")}
    keys = {str(a.get("DedupKey")) for a in alerts}
    repeats = sum(n for k, n in suppressed.items() if k in keys)
    if repeats:
        facts["Repeats not sent"] = str(repeats)
    return {k: one_line(v) for k, v in facts.items()}


def _heading(alert: Mapping[str, Any]) -> str:
    table = alert.get("TableName")
    return one_line(f"{alert.get('AlertType')} ({row_severity(alert).value})"
                    + (f": {table}" if table else ""))


def _text(subject: str, alerts: Sequence[Mapping[str, Any]], blocks: Sequence[list[Field]],
          ids: Sequence[str]) -> str:
    lines = [subject, ""]
    for number, (alert, fields) in enumerate(zip(alerts, blocks, strict=True), start=1):
        lines.append(f"{number}. {_heading(alert)}")
        for label, value in fields:
            if isinstance(value, str):
                lines.append(f"   {label}: " + value.replace("\n", "\n      "))
            else:
                lines += [f"   {label}:"] + [f"     - {one_line(v)}" for v in value]
        lines.append("")
    lines.append("Alert ids: " + ", ".join(ids))
    return "\n".join(lines) + "\n"


def _html(subject: str, alerts: Sequence[Mapping[str, Any]], blocks: Sequence[list[Field]],
          ids: Sequence[str]) -> str:
    e = html.escape
    parts = [f"<html><body><h2>{e(subject)}</h2>"]
    for alert, fields in zip(alerts, blocks, strict=True):
        parts.append(f"<h3>{e(_heading(alert))}</h3><table>")
        for label, value in fields:
            parts.append(f"<tr><th align='left' valign='top'>{e(label)}</th>"
                         f"<td>{_html_value(label, value)}</td></tr>")
        parts.append("</table>")
    parts.append(f"<p><small>Alert ids: {e(', '.join(ids))}</small></p></body></html>")
    return "".join(parts)


def _html_value(label: str, value: str | Sequence[str]) -> str:
    e = html.escape
    if not isinstance(value, str):
        return "<ul>" + "".join(f"<li>{e(v)}</li>" for v in value) + "</ul>"
    if label == "Run in Dagster":
        return f"<a href=\"{e(value, quote=True)}\">{e(value)}</a>"
    if label in ("Error", "Details"):
        return f"<pre>{e(value)}</pre>"
    return e(value)
