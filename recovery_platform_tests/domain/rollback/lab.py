"""A real lakehouse synced from the demo CRM, and the rollback job run on it in-process."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
from deltalake import DeltaTable

from recovery_platform.definitions import defs
from recovery_platform.defs.resources import LakehouseResource, SourceResource
from recovery_platform.defs.rollback import rollback_job
from recovery_platform.domain.checkpoints.history import Checkpoint, load_checkpoint
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.sources import DemoScale, generate_demo_crm, write_bad_sync_extract

START = date(2026, 1, 5)
DAYS = 3
BAD_DAY = START + timedelta(days=DAYS)
SCALE = DemoScale(accounts=2400, contacts=600, donations=900, activities=300)
"""Enough accounts that a bad sync dropping half of them deletes more than a thousand rows."""
BAD_DROP = 0.5
TABLES = ("account", "contact", "donation", "activitypointer")


@dataclass
class RollbackRun:
    """One in-process run of `rollback_job`, reduced to what tests assert."""

    result: dg.ExecuteInProcessResult
    run_id: str
    success: bool
    error: str
    output: str | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def materializations(self) -> dict[str, dict[str, Any]]:
        """Restored table -> materialization metadata values."""
        return {
            e.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in self.result.get_asset_materialization_events()
        }

    @property
    def failure_metadata(self) -> dict[str, Any]:
        """Metadata of the step failure (dg.Failure), if any."""
        for event in self.result.all_events:
            if event.is_step_failure:
                data = event.event_specific_data
                meta = getattr(data, "user_failure_data", None)
                if meta is not None:
                    return {k: v.value for k, v in meta.metadata.items()}
        return {}


    @property
    def failure_description(self) -> str | None:
        """The description of the step's dg.Failure: the line the Runs page shows first."""
        for event in self.result.all_events:
            if event.is_step_failure:
                meta = getattr(event.event_specific_data, "user_failure_data", None)
                return meta.description if meta is not None else None
        return None


def _messages(error: Any) -> str:
    """An error's message followed by those of its causes (the domain error is the cause)."""
    found = []
    while error is not None:
        found.append(error.message)
        error = error.cause
    return "\n".join(found)


class Lab:
    """A lakehouse and its landing folder in a test's tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lake = root / "lake"
        self.landing = root / "landing"
        self.resource = LakehouseResource(root=str(self.lake))
        self.house: Lakehouse = self.resource.lakehouse()
        self.store = MetadataStore(self.house)
        self.engine = self.house.engine

    def uri(self, table: str) -> str:
        return self.house.bronze_uri(table)

    def fingerprint(self, table: str, version: int | None = None) -> int:
        """The table's record-state fingerprint now (or at `version`)."""
        shape = self.house.config.table(table).shape
        return self.engine.fingerprint(self.uri(table), shape, version)

    def sync(
        self,
        day: date,
        overrides: tuple[str, ...] = (),
        instance: dg.DagsterInstance | None = None,
    ) -> dg.ExecuteInProcessResult:
        """One `daily_sync_job` run; `overrides` release tables held by the guard."""
        config = {
            "sync_date": day.isoformat(),
            "overrides": [
                {"table": t, "reason": "test bad sync", "approved_by": "bob"} for t in overrides
            ],
        }
        return defs.resolve_job_def("daily_sync_job").execute_in_process(
            run_config={"ops": {"daily_sync": {"config": config}}},
            resources={
                "lakehouse": self.resource,
                "source": SourceResource(landing_root=str(self.landing)),
            },
            instance=instance,
            raise_on_error=False,
        )

    def rollback(self, instance: dg.DagsterInstance | None = None, **config: Any) -> RollbackRun:
        """One `rollback_job` run with the given launchpad config."""
        config.setdefault("requested_by", "alice")
        result = rollback_job.execute_in_process(
            run_config={"ops": {"rollback": {"config": config}}},
            resources={"lakehouse": self.resource},
            instance=instance,
            raise_on_error=False,
        )
        error = "\n".join(
            _messages(e.event_specific_data.error) for e in result.all_events if e.is_step_failure
        )
        output, metadata = None, {}
        if result.success:
            output = result.output_for_node("rollback")
            for event in result.all_events:
                if event.event_type_value == "STEP_OUTPUT":
                    metadata = {k: v.value for k, v in event.event_specific_data.metadata.items()}
        return RollbackRun(result, result.run_id, result.success, error, output, metadata)

    def plan(self, checkpoint: Checkpoint, **config: Any) -> RollbackRun:
        """A dry-run plan to `checkpoint`; fails the test if planning fails."""
        run = self.rollback(checkpoint_id=checkpoint.checkpoint_id, **config)
        assert run.success, run.error
        return run

    def apply(
        self,
        checkpoint: Checkpoint,
        plan_id: str,
        instance: dg.DagsterInstance | None = None,
        **config: Any,
    ) -> RollbackRun:
        """Apply a recorded plan, approved by bob."""
        config.setdefault("approved_by", "bob")
        config.setdefault("dry_run", False)
        return self.rollback(
            instance, checkpoint_id=checkpoint.checkpoint_id, approved_plan_id=plan_id, **config
        )

    def versions(self) -> dict[str, int]:
        return {t: DeltaTable(self.uri(t)).version() for t in TABLES}

    def log_files(self, table: str) -> list[str]:
        return sorted(p.name for p in (Path(self.uri(table)) / "_delta_log").iterdir())

    def checkpoints(self, kind: str) -> list[Checkpoint]:
        """Checkpoints of a type, oldest first."""
        rows = self.store.rows(MetadataTable.CheckpointHistory, equals={"CheckpointType": kind})
        rows.sort(key=lambda r: r["CreatedDate"])
        return [load_checkpoint(self.store, r["CheckpointId"]) for r in rows]

    def batch(self, index: int) -> Checkpoint:
        """The DailyBatch checkpoint of the index-th sync (0-based; -1 the newest)."""
        return self.checkpoints("DailyBatch")[index]

    def plan_row(self, plan_id: str) -> dict[str, Any]:
        return self.store.rows(MetadataTable.RollbackPlans, equals={"PlanId": plan_id})[0]

    def plan_json(self, plan_id: str) -> dict[str, Any]:
        return json.loads(self.plan_row(plan_id)["PlanJson"])

    def intents(self, plan_id: str) -> dict[str, dict[str, Any]]:
        rows = self.store.rows(MetadataTable.RollbackPlanTables, equals={"PlanId": plan_id})
        return {r["TableName"]: r for r in rows}

    def audit(self, **equals: Any) -> list[dict[str, Any]]:
        return self.store.rows(MetadataTable.SyncAuditLog, equals=equals)

    def assert_matches_checkpoint(self, checkpoint: Checkpoint, tables: Sequence[str]) -> None:
        """Each table's counts and fingerprint, read now, equal what the checkpoint pinned."""
        for table in tables:
            pin = checkpoint.pin(table)
            counts = self.engine.row_counts(self.uri(table), self.house.config.table(table).shape)
            assert (counts.total, counts.active, counts.deleted, counts.purged) == (
                pin.counts.total,
                pin.counts.active,
                pin.counts.deleted,
                pin.counts.purged,
            ), table
            assert self.fingerprint(table) == pin.fingerprint, table

    def restore_commits(self, table: str, plan_id: str) -> list[dict[str, Any]]:
        """RESTORE commits of `table` carrying this plan's operation id."""
        return [
            c
            for c in DeltaTable(self.uri(table)).history()
            if c["operation"] == "RESTORE"
            and c.get("recovery_platform.operation_id") == f"{plan_id}:{table}"
        ]


def build_base(root: Path) -> None:
    """Demo CRM extracts for DAYS days, each synced by `daily_sync_job`."""
    generate_demo_crm(root / "landing", start=START, days=DAYS, scale=SCALE)
    lab = Lab(root)
    for offset in range(DAYS):
        assert lab.sync(START + timedelta(days=offset)).success


def add_bad_sync(root: Path) -> None:
    """A bad sync on BAD_DAY: half the accounts vanish, released past the guard by override."""
    write_bad_sync_extract(root / "landing", "account", BAD_DAY, drop_fraction=BAD_DROP)
    for table in TABLES[1:]:
        write_bad_sync_extract(root / "landing", table, BAD_DAY, drop_fraction=0.0)
    assert Lab(root).sync(BAD_DAY, overrides=("account",)).success


def copy_lab(template: Path, target: Path) -> Lab:
    shutil.copytree(template, target)
    return Lab(target)
