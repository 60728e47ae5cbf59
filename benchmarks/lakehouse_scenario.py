"""The multi-table scenario: sync, checkpoint, bad sync, rollback plan and apply, via Dagster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from benchmarks.maintenance_phases import maintenance_phases
from benchmarks.measure import PhaseResult, measure
from recovery_platform.sources import DemoScale, generate_demo_crm, write_bad_sync_extract

DEMO_TABLES = ("account", "contact", "donation", "activitypointer")
START = date(2026, 1, 1)


@dataclass(frozen=True)
class Scenario:
    """A synthetic lakehouse: how many tables, rows per table, churn and bad-sync size."""

    name: str
    tables: int
    rows_per_table: int
    days: int = 3
    churn: float = 0.01
    bad_tables: int = 5
    bad_fraction: float = 0.20


SCENARIOS = {
    "smoke": Scenario("smoke", tables=8, rows_per_table=2_000, days=2, bad_tables=2),
    "standard": Scenario("standard", tables=50, rows_per_table=200_000),
    "large": Scenario("large", tables=50, rows_per_table=1_000_000),
    "compare": Scenario("compare", tables=8, rows_per_table=20_000, days=2, bad_tables=2),
}
"""`compare` is what both engines run for baseline (c): small enough for Spark on 2 cores."""


def metadata_commits(lake: Path) -> int:
    """Commits in all metadata tables so far: shows that writes are batched per operation."""
    return sum(1 for _ in (lake / "metadata").glob("*/_delta_log/*.json"))


@contextmanager
def measured(name: str, lake: Path, rows: int = 0) -> Iterator[PhaseResult]:
    """`measure`, noting how many metadata commits the phase made."""
    before = metadata_commits(lake)
    with measure(name, rows=rows) as phase:
        yield phase
    phase.notes["metadata_commits"] = metadata_commits(lake) - before


def table_names(count: int) -> list[tuple[str, str, int]]:
    """(bronze name, demo table it copies, copy index) for `count` tables."""
    names = []
    for i in range(count):
        base = DEMO_TABLES[i % len(DEMO_TABLES)]
        copy = i // len(DEMO_TABLES)
        names.append((f"{base}_{copy:02d}", base, copy))
    return names


def write_config(scenario: Scenario, path: Path, base_config: Path) -> Path:
    """A tables.yaml declaring copies of the demo tables, relations kept within each copy."""
    raw = yaml.safe_load(base_config.read_text())
    by_name = {t["name"]: t for t in raw["tables"]}
    present = {name for name, _, _ in table_names(scenario.tables)}
    tables = []
    for name, base, copy in table_names(scenario.tables):
        entry: dict[str, Any] = dict(by_name[base], name=name)
        entry["relations"] = [
            dict(r, references=f"{r['references']}_{copy:02d}")
            for r in by_name[base].get("relations", [])
            if f"{r['references']}_{copy:02d}" in present
        ]
        tables.append(entry)
    raw["tables"] = tables
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def build_landing(scenario: Scenario, landing: Path) -> int:
    """Generate the demo CRM once and hard-link its extracts for every table copy."""
    base = landing / "_demo"
    rows = scenario.rows_per_table
    generate_demo_crm(base, start=START, days=scenario.days + 1,
                      scale=DemoScale(accounts=rows, contacts=rows, donations=rows,
                                      activities=rows),
                      daily_churn=scenario.churn)
    for name, demo, _ in table_names(scenario.tables):
        target = landing / name
        target.mkdir(parents=True, exist_ok=True)
        for extract in (base / demo).glob("*.parquet"):
            link = target / extract.name
            if not link.exists():
                os.link(extract, link)
    return rows * scenario.tables


def sync_config(day: date, overrides: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Run config of daily_sync_job for one day."""
    return {"ops": {"daily_sync": {"config": {"sync_date": day.isoformat(),
                                              "requested_by": "benchmark",
                                              "overrides": overrides or []}}}}


def run_scenario(scenario: Scenario, work: Path, engine: str) -> list[PhaseResult]:
    """Run every phase through Dagster and return their measurements."""
    import dagster as dg

    from recovery_platform.definitions import build_definitions
    from recovery_platform.defs.manual_checkpoint import manual_checkpoint_job
    from recovery_platform.defs.resources import LakehouseResource, SourceResource, engine_name
    from recovery_platform.domain.lakehouse.table_config import DEFAULT_CONFIG_PATH

    work.mkdir(parents=True, exist_ok=True)
    config_path = write_config(scenario, work / "tables.yaml", DEFAULT_CONFIG_PATH)
    landing = work / "landing"
    phases: list[PhaseResult] = []
    with measure("generate extracts") as phase:
        phase.rows = build_landing(scenario, landing)
    phases.append(phase)
    lakehouse = LakehouseResource(root=str(work / "lake"), config_path=str(config_path),
                                  engine=engine_name(engine))
    resources = {"lakehouse": lakehouse, "source": SourceResource(landing_root=str(landing))}
    defs = build_definitions(str(config_path))
    sync_job = defs.resolve_job_def("daily_sync_job")
    names = [n for n, _, _ in table_names(scenario.tables)]
    total_rows = scenario.rows_per_table * scenario.tables

    def run(job: dg.JobDefinition, config: dict[str, Any],
            *, must_succeed: bool = True) -> dg.ExecuteInProcessResult:
        result = job.execute_in_process(run_config=config, resources=resources,
                                        raise_on_error=False)
        if must_succeed and not result.success:
            failure = next((e for e in result.all_events if e.is_step_failure), None)
            detail = failure.event_specific_data if failure else ""
            raise RuntimeError(f"{job.name} failed: {detail}")
        return result

    lake = work / "lake"
    with measured("first sync (all tables, day 0)", lake, rows=total_rows) as phase:
        run(sync_job, sync_config(START))
    phases.append(phase)
    for offset in range(1, scenario.days):
        with measured(f"daily sync with {scenario.churn:.0%} churn (day {offset})", lake,
                      rows=total_rows) as phase:
            run(sync_job, sync_config(START + timedelta(days=offset)))
        phases.append(phase)
    phases.extend(_checkpoint_phases(lakehouse, names, total_rows))
    with measured("manual_checkpoint_job (validate + pin all tables)", lake,
                  rows=total_rows) as phase:
        run(manual_checkpoint_job, {"ops": {"manual_checkpoint": {"config": {
            "checkpoint_name": "bench_manual", "requested_by": "benchmark"}}}})
    phases.append(phase)
    bad_day = START + timedelta(days=scenario.days)
    bad = names[: scenario.bad_tables]
    for name in bad:
        write_bad_sync_extract(landing, name, bad_day, drop_fraction=scenario.bad_fraction)
    overrides = [{"table": n, "reason": "benchmark bad sync", "approved_by": "benchmark"}
                 for n in bad]
    with measured(f"bad sync ({scenario.bad_fraction:.0%} of {len(bad)} tables deleted)", lake,
                  rows=total_rows) as phase:
        # lands (guard overridden), then fails validation: dropped parents orphan new children
        result = run(sync_job, sync_config(bad_day, overrides), must_succeed=False)
    phase.notes["run_succeeded"] = result.success
    phases.append(phase)
    # baseline (d) plans the same state first (a plan only records rows), so the two plans match
    direct = _direct_phases(lakehouse, total_rows)
    phases.extend(_rollback_phases(lakehouse, total_rows))
    phases.extend(direct)
    phases.extend(maintenance_phases(lakehouse, defs, run, total_rows))
    return phases


def _checkpoint_phases(
    lakehouse: Any, names: list[str], total_rows: int
) -> list[PhaseResult]:
    """Checkpoint creation alone (counts + fingerprints + metadata rows), one table then all.

    Each uses a lakehouse (so an engine) of its own: neither finds the other's answers
    remembered, as a checkpoint run in its own process would not.
    """
    from recovery_platform.domain.checkpoints.history import pin_tables, record_checkpoint
    from recovery_platform.domain.lakehouse.audit import AuditTrail
    from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
    from recovery_platform.domain.lakehouse.vocabulary import CheckpointType

    measured_phases = []
    for label, tables, rows in (
        ("per-table checkpoint (1 table: counts, fingerprint, rows)", names[:1],
         total_rows // len(names)),
        (f"checkpoint creation ({len(names)} tables: counts, fingerprints, rows)", names,
         total_rows),
    ):
        house = lakehouse.lakehouse()
        store = MetadataStore(house)
        audit = AuditTrail(store, "benchmark-checkpoint")
        with measured(label, Path(house.root), rows=rows) as phase:
            pins = pin_tables(house, tables)
            record_checkpoint(house, store, audit, checkpoint_type=CheckpointType.Manual,
                              name=f"bench_pins_{len(tables)}", pins=pins, validated=True)
            audit.flush()
        measured_phases.append(phase)
    return measured_phases


def _latest_validated_batch(lakehouse: Any, before_last: bool) -> str:
    from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
    from recovery_platform.domain.lakehouse.metadata_store import MetadataStore

    rows = MetadataStore(lakehouse.lakehouse()).rows(
        MetadataTable.CheckpointHistory, equals={"CheckpointType": "DailyBatch"})
    rows.sort(key=lambda r: r["CreatedDate"])
    return str(rows[-2 if before_last else -1]["CheckpointId"])


def _rollback_phases(lakehouse: Any, total_rows: int) -> list[PhaseResult]:
    """Plan, then apply, each as its own `rollback_job` run in its own process."""
    from benchmarks.rollback_process import run_rollback_job

    target = _latest_validated_batch(lakehouse, before_last=True)
    base = {"checkpoint_id": target, "requested_by": "alice", "reason": "benchmark"}
    lake = Path(lakehouse.root)
    before = metadata_commits(lake)
    plan_phase, plan_id = run_rollback_job(
        lakehouse, {"ops": {"rollback": {"config": base}}},
        "rollback plan via rollback_job (validation + impact + dependencies)", total_rows)
    plan_phase.notes["metadata_commits"] = metadata_commits(lake) - before
    before = metadata_commits(lake)
    apply_phase, _ = run_rollback_job(
        lakehouse, {"ops": {"rollback": {"config": {
            **base, "dry_run": False, "approved_plan_id": plan_id, "approved_by": "bob"}}}},
        "rollback apply via rollback_job (restore + proof + checkpoints)", total_rows)
    apply_phase.notes["metadata_commits"] = metadata_commits(lake) - before
    total = PhaseResult("whole rollback through rollback_job (plan + apply)",
                        seconds=plan_phase.seconds + apply_phase.seconds, rows=total_rows,
                        peak_rss_mb=max(plan_phase.peak_rss_mb, apply_phase.peak_rss_mb),
                        notes={"metadata_commits": _commits(plan_phase) + _commits(apply_phase),
                               "process": "each run in its own process, as deployed"})
    return [plan_phase, apply_phase, total]


def _direct_phases(lakehouse: Any, total_rows: int) -> list[PhaseResult]:
    """Baseline (d): the same rollback plan made by direct domain calls, without Dagster."""
    from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
    from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
    from recovery_platform.domain.rollback.request import validate_request
    from recovery_platform.domain.rollback.run import run_rollback

    house = lakehouse.lakehouse()
    store = MetadataStore(house)
    target = _latest_validated_batch(lakehouse, before_last=True)
    request = validate_request(house.config, checkpoint_id=target, requested_by="alice")
    audit = AuditTrail(store, "benchmark-direct", Actor(requested_by="alice", dry_run=True))
    with measured("baseline (d): same rollback plan, direct domain calls (no Dagster)",
                  Path(house.root), rows=total_rows) as phase:
        run_rollback(house, store, lakehouse.leases(house), audit, request, log=lambda _: None)
        audit.flush()
    return [phase]


def _commits(phase: PhaseResult) -> int:
    """The metadata commits a measured phase noted."""
    commits = phase.notes["metadata_commits"]
    assert isinstance(commits, int)
    return commits
