"""Rollback plans and results as a person reads them: a Terraform-plan-like Markdown summary."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from recovery_platform.domain.rollback.impact import RollbackPlan, TableImpact


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | set):
        return list(value)
    return str(value)


def plan_json(value: Any) -> str:
    """Stable JSON for plans and their parts (dataclasses, datetimes, enums)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, default=_default, sort_keys=True)


def _n(value: int) -> str:
    return f"{value:,}"


def _delta(before: int, after: int) -> str:
    if before == after:
        return _n(after)
    return f"{_n(before)} → {_n(after)} ({after - before:+,})"


def _bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{value} B"


def _span(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} hours" if days else f"{hours} hours"


def _table_row(t: TableImpact) -> str:
    states = ", ".join(f"{k}: {_n(v)}" for k, v in sorted(t.diff.state_changes.items()) if v)
    return (f"| {t.table} | {t.current_version} → {t.target_version} | "
            f"{_delta(t.current.total, t.target.total)} | "
            f"{_delta(t.current.active, t.target.active)} | "
            f"{_delta(t.current.deleted, t.target.deleted)} | "
            f"{_delta(t.current.purged, t.target.purged)} | +{_n(t.diff.added)} | "
            f"-{_n(t.diff.removed)} | ~{_n(t.diff.changed)} | {states or '-'} | {t.risk} |")


def _samples(t: TableImpact) -> list[str]:
    lines = []
    for label, keys in (("added", t.diff.sample_added), ("removed", t.diff.sample_removed),
                        ("changed", t.diff.sample_changed)):
        if keys:
            lines.append(f"  - {t.table} {label}: {', '.join(keys)}")
    return lines


def render_plan(plan: RollbackPlan) -> str:
    """The plan in Markdown: what will change, what could go wrong, how to apply it."""
    cp = plan.checkpoint
    request = plan.request
    lines = [
        f"## Rollback plan `{plan.plan_id}`",
        "",
        f"Target: checkpoint **{cp.name}** ({cp.checkpoint_type.value}, id `{cp.checkpoint_id}`)"
        f", created {cp.created:%Y-%m-%d %H:%M:%S} UTC, "
        f"{_span(plan.created_at - cp.created)} ago.",
        f"Selected by: {plan.selection}.",
        f"Requested by **{request.requested_by}**: {request.reason or '(no reason given)'}. "
        f"Dry run: {'yes' if request.dry_run else 'no'}; approval required: "
        f"{'yes' if request.require_approval else 'no'}.",
        "",
    ]
    if not plan.ok:
        lines += ["### Refused: the checkpoint cannot be restored", ""]
        lines += [f"- {r}" for r in plan.refusals]
        lines += ["", f"Recommended action: {plan.recommendation}", ""]
        return "\n".join(lines)
    lines += [
        "| table | version | total | active | deleted | purged | added | removed | changed "
        "| state changes | risk |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(_table_row(t) for t in plan.tables),
        "",
    ]
    scanned = [t for t in plan.tables if t.diff.method != "change_data_feed"]
    if scanned:
        lines += [f"Impact of {', '.join(t.table for t in scanned)} measured by "
                  f"{scanned[0].measured_by}.", ""]
    samples = [line for t in plan.tables for line in _samples(t)]
    if samples:
        lines += ["Sample keys:", *samples, ""]
    added = sum(t.storage.bytes_added for t in plan.tables)
    removed = sum(t.storage.bytes_removed for t in plan.tables)
    files = sum(t.storage.files_added for t in plan.tables)
    lines.append(f"Storage: the restores re-add {_n(files)} files ({_bytes(added)}) and stop "
                 f"referencing {_n(sum(t.storage.files_removed for t in plan.tables))} files "
                 f"({_bytes(removed)}); no data is copied.")
    if plan.warnings:
        lines += ["", "### Dependency warnings", *(f"- ⚠ {w.message}" for w in plan.warnings)]
    changing = [t for t in plan.tables if not t.unchanged]
    lines += [
        "",
        f"**Plan: {len(changing)} to restore, {len(plan.tables) - len(changing)} unchanged; "
        f"{_n(sum(t.rows_changed for t in plan.tables))} rows change; estimated duration "
        f"~{plan.estimated_seconds:g} s.**",
        "",
        apply_instructions(plan),
    ]
    return "\n".join(lines)


def apply_instructions(plan: RollbackPlan) -> str:
    """Exactly how to apply this plan: launchpad config that pastes into `rollback_job` as is."""
    requester = plan.request.requested_by
    return (
        f"To apply before {plan.expires_at:%Y-%m-%d %H:%M} UTC, launch `rollback_job` with this "
        f"config; an admin other than {requester} writes their name in `approved_by` (left "
        "empty, the run is refused):\n\n```yaml\n" + apply_config_yaml(plan) + "\n```"
    )


def apply_config_yaml(plan: RollbackPlan) -> str:
    """The apply's launchpad config as YAML; strings are JSON-quoted, which YAML reads as is."""
    requester = plan.request.requested_by
    return "\n".join([
        "ops:",
        "  rollback:",
        "    config:",
        f"      requested_by: {json.dumps(requester)}",
        f"      checkpoint_id: {json.dumps(plan.checkpoint.checkpoint_id)}",
        f"      tables_scope: [{', '.join(json.dumps(t) for t in plan.scope)}]",
        "      dry_run: false",
        f"      approved_plan_id: {json.dumps(plan.plan_id)}",
        f'      approved_by: ""  # an admin other than {requester}',
    ])
