"""Maintenance phases of the standard scenario: dry run, the real weekly run, integrity proofs.

Run after the daily syncs and the rollback, through the same Dagster jobs the schedules launch.
The lake is first made to look as it would 40 days later with one fresh commit per table: every
bronze commit but the latest is backdated 40 days, and so is every checkpoint's creation and
retention date (so the short-lived ones have expired). The vacuum then has files to reclaim;
afterwards every version an active checkpoint pins is restored in a copy of the lake, to count
pinned versions lost (the target is 0).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.measure import PhaseResult, measure

AGE_SECONDS = 40 * 86_400.0
MAINTENANCE_OP = "reports__maintenance"
INTEGRITY_OP = "reports__checkpoint_integrity"

Run = Callable[..., Any]


def _age_lake(lakehouse: Any, lake: Path) -> int:
    """Backdate every bronze commit but the latest, and every checkpoint; commits aged."""
    from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
    from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
    from recovery_platform_tests.domain.maintenance.aging import age_commits

    aged = 0
    for table in sorted((lake / "bronze").iterdir()):
        versions = sorted(int(p.stem) for p in (table / "_delta_log").glob("*.json"))
        age_commits(str(table), versions[:-1], AGE_SECONDS)
        aged += len(versions) - 1
    store = MetadataStore(lakehouse.lakehouse())
    shift = timedelta(seconds=AGE_SECONDS)
    store.upsert(MetadataTable.CheckpointHistory, [
        {"CheckpointId": r["CheckpointId"], "CreatedDate": r["CreatedDate"] - shift,
         "RetentionDate": r["RetentionDate"] - shift}
        for r in store.rows(MetadataTable.CheckpointHistory)], key="CheckpointId")
    return aged


def _metadata(result: Any) -> dict[str, Any]:
    (event,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _step_seconds(lakehouse: Any, run_id: str) -> dict[str, float]:
    """Seconds the run's audited Vacuum and Optimize steps took, summed per operation."""
    from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
    from recovery_platform.domain.lakehouse.metadata_store import MetadataStore

    rows = MetadataStore(lakehouse.lakehouse()).rows(MetadataTable.SyncAuditLog,
                                                      equals={"PipelineRunId": run_id})
    totals: dict[str, float] = {}
    for row in rows:
        if row["OperationType"] in ("Vacuum", "Optimize"):
            key = row["OperationType"].lower() + "_seconds"
            totals[key] = round(totals.get(key, 0.0) + (row["DurationSeconds"] or 0.0), 3)
    return totals


def maintenance_phases(lakehouse: Any, defs: Any, run: Run, total_rows: int) -> list[PhaseResult]:
    """Dry run, real run, shallow and deep integrity, and the pinned-version count."""
    lake = Path(lakehouse.root)
    phases = []
    with measure("age the lake's commits by 40 days (setup, not a target)") as phase:
        phase.notes["commits_aged"] = _age_lake(lakehouse, lake)
    phases.append(phase)
    job = defs.resolve_job_def("maintenance_job")
    for label, dry_run in (("maintenance dry run (all operations, all tables)", True),
                           ("weekly maintenance (all operations, all tables)", False)):
        with measure(label, rows=total_rows) as phase:
            result = run(job, {"ops": {MAINTENANCE_OP: {"config": {
                "dry_run": dry_run, "requested_by": "benchmark"}}}})
        found = _metadata(result)
        phase.notes.update({k: found[k] for k in (
            "tables_processed", "tables_failed", "files_removed", "bytes_reclaimed",
            "size_before_bytes", "size_after_bytes", "checkpoints_deactivated")})
        phase.notes.update(_step_seconds(lakehouse, result.run_id))
        phases.append(phase)
    integrity = defs.resolve_job_def("checkpoint_integrity_job")
    for mode in ("shallow", "deep"):
        with measure(f"checkpoint integrity ({mode}, every active checkpoint)",
                     rows=total_rows) as phase:
            result = run(integrity, {"ops": {INTEGRITY_OP: {"config": {
                "deep": mode == "deep", "requested_by": "benchmark"}}}})
        found = _metadata(result)
        phase.notes.update({k: found[k] for k in (
            "checkpoints_checked", "tables_checked", "checkpoints_unrestorable")})
        phases.append(phase)
    phases.append(_pins_restored(lakehouse, lake))
    return phases


def _pins_restored(lakehouse: Any, lake: Path) -> PhaseResult:
    """Restore every version an active checkpoint pins, in a copy; count the ones that fail."""
    from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
    from recovery_platform.domain.lakehouse.metadata_store import MetadataStore

    house = lakehouse.lakehouse()
    store = MetadataStore(house)
    active = {r["CheckpointId"] for r in store.rows(MetadataTable.CheckpointHistory,
                                                      equals={"IsActive": True})}
    pins = sorted({(r["TableName"], r["DeltaVersion"], r["TotalRows"])
                   for r in store.rows(MetadataTable.CheckpointTables)
                   if r["CheckpointId"] in active})
    copy = lake.parent / "lake-restore-check"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(lake / "bronze", copy)
    engine = house.engine.without_memory()
    lost: list[str] = []
    with measure("restore every pinned version in a copy (pinned versions lost: target 0)",
                 rows=len(pins)) as phase:
        for table, version, total in pins:
            uri = str(copy / table)
            try:
                engine.restore(uri, version, commit_metadata={"benchmark": "pin check"})
                if engine.read(uri).num_rows != total:
                    lost.append(f"{table}@{version}: row count differs")
            except Exception as exc:  # counted, not raised: the figure is the point
                lost.append(f"{table}@{version}: {type(exc).__name__}")
    phase.notes.update({"pinned_versions": len(pins), "pinned_versions_lost": len(lost),
                        "lost": json.dumps(lost[:10])})
    shutil.rmtree(copy, ignore_errors=True)
    return phase
