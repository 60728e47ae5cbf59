"""The demo: a CRM lakehouse synced for several simulated days through a real Dagster instance.

`python -m recovery_platform.demo` (the README's first command) generates a demo CRM's daily
extracts, runs `daily_sync_job` once per simulated day on a persistent Dagster instance, so the
runs show in the UI, then prints the checkpoints the runs created and how to open the UI on the
same lakehouse and instance. Re-running starts again from a clean demo folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from recovery_platform.definitions import build_definitions
from recovery_platform.defs.resources import LANDING_ROOT_ENV, LakehouseResource
from recovery_platform.domain.lakehouse.location import LAKEHOUSE_ROOT_ENV
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.sources import DemoManifest, generate_demo_crm

DAGSTER_HOME_ENV = "DAGSTER_HOME"
DAGSTER_YAML = "telemetry:\n  enabled: false\n"
"""The demo instance's settings: a persistent local instance, no telemetry prompt."""

CHECKPOINT_COLUMNS = ("Name", "Type", "Table(s)", "Status", "Total rows", "Created (UTC)")


@dataclass(frozen=True)
class DemoFolder:
    """The demo's folders under one root: extracts, lakehouse and Dagster instance."""

    root: Path

    @property
    def landing(self) -> Path:
        """Where the demo CRM lands its daily extracts."""
        return self.root / "landing"

    @property
    def lakehouse(self) -> Path:
        """The demo lakehouse (bronze and metadata tables)."""
        return self.root / "lakehouse"

    @property
    def dagster_home(self) -> Path:
        """The persistent Dagster instance the runs are recorded in."""
        return self.root / "dagster_home"

    def reset(self) -> None:
        """Remove what a previous demo left, so a re-run starts from the same state.

        Only the three folders the demo owns are removed, never anything else under the root.
        """
        for folder in (self.landing, self.lakehouse, self.dagster_home):
            shutil.rmtree(folder, ignore_errors=True)
        self.dagster_home.mkdir(parents=True)
        (self.dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)

    def environment(self) -> dict[str, str]:
        """The variables that point Dagster and the platform at this demo."""
        return {
            DAGSTER_HOME_ENV: str(self.dagster_home),
            LAKEHOUSE_ROOT_ENV: str(self.lakehouse),
            LANDING_ROOT_ENV: str(self.landing),
        }


@dataclass(frozen=True)
class DayRun:
    """One simulated day's `daily_sync_job` run, as recorded in the Dagster instance."""

    day: date
    run_id: str
    success: bool
    seconds: float


def run_day(job: dg.JobDefinition, instance: dg.DagsterInstance, day: date) -> DayRun:
    """Run the daily sync for one extract date; a failed run is reported, not raised."""
    started = time.perf_counter()
    result = job.execute_in_process(
        run_config={
            "ops": {"daily_sync": {"config": {"sync_date": day.isoformat(),
                                              "requested_by": "demo"}}},
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        },
        instance=instance,
        tags={"sync_date": day.isoformat(), "launched_by": "recovery_platform.demo"},
        raise_on_error=False,
    )
    return DayRun(day, result.run_id, result.success, time.perf_counter() - started)


def checkpoint_rows(lakehouse_root: Path) -> list[dict[str, Any]]:
    """CheckpointHistory rows of the lakehouse, oldest first, per-table before batch."""
    resource = LakehouseResource(root=str(lakehouse_root))
    rows = resource.metadata(resource.lakehouse()).rows(MetadataTable.CheckpointHistory)
    return sorted(rows, key=lambda r: (r["CreatedDate"], r["CheckpointType"] == "DailyBatch",
                                       r["TableName"] or ""))


def format_checkpoints(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of checkpoints: name, type, tables, status, total rows, time."""
    cells = [CHECKPOINT_COLUMNS] + [
        (
            str(r["CheckpointName"]),
            str(r["CheckpointType"]),
            str(r["TableName"] or f"{r['TablesIncluded']} tables"),
            str(r["ValidationStatus"]),
            f"{r['TotalRows'] or 0:,}",
            f"{r['CreatedDate']:%Y-%m-%d %H:%M:%S}",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(CHECKPOINT_COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def ui_command(folder: DemoFolder) -> str:
    """The shell command that opens the Dagster UI on the demo's lakehouse and instance."""
    variables = " ".join(f"{name}={value}" for name, value in folder.environment().items())
    return f"{variables} .venv/bin/dagster dev"


def run_demo(folder: DemoFolder, *, days: int, scale: int, start: date) -> list[DayRun]:
    """Generate the demo CRM, then sync each simulated day through the Dagster instance."""
    folder.reset()
    os.environ.update(folder.environment())
    manifest = generate_demo_crm(folder.landing, start=start, days=days, scale=scale)
    _print_manifest(manifest)
    job = build_definitions().resolve_job_def("daily_sync_job")  # reads the roots just set
    instance = dg.DagsterInstance.get()
    runs = []
    for day in manifest.days:
        run = run_day(job, instance, day)
        print(f"  {day}  daily_sync_job run {run.run_id}  "
              f"{'succeeded' if run.success else 'FAILED'}  ({run.seconds:.1f} s)", flush=True)
        runs.append(run)
    return runs


def _print_manifest(manifest: DemoManifest) -> None:
    """Say what was generated, so the checkpoint counts below can be read against it."""
    print(f"Demo CRM landed in {manifest.landing_root}: {len(manifest.days)} daily extracts of "
          f"{', '.join(manifest.tables)}")
    for table in manifest.tables:
        sizes = [str(entry.rows) for entry in manifest.for_table(table)]
        print(f"  {table:<16} rows per day: {' -> '.join(sizes)}")
    print("Running daily_sync_job for each simulated day:", flush=True)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options: days, scale, root and first extract date."""
    parser = argparse.ArgumentParser(
        prog="python -m recovery_platform.demo",
        description="Sync a demo CRM into a demo lakehouse for several days, through Dagster.",
    )
    parser.add_argument("--days", type=_positive, default=5, help="simulated days (default 5)")
    parser.add_argument("--scale", type=_positive, default=1000,
                        help="accounts on day 0; 3x contacts, 5x donations, 4x activities")
    parser.add_argument("--root", type=Path, default=Path(".demo"),
                        help="demo folder: landing/, lakehouse/, dagster_home/ (default .demo)")
    parser.add_argument("--start", type=date.fromisoformat, default=None,
                        help="first extract date, YYYY-MM-DD (default: so the last day is today)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; exit status 1 if any day's run failed."""
    args = parse_args(argv)
    folder = DemoFolder(args.root.resolve())
    start = args.start or datetime.now(UTC).date() - timedelta(days=args.days - 1)
    runs = run_demo(folder, days=args.days, scale=args.scale, start=start)
    rows = checkpoint_rows(folder.lakehouse)
    print(f"\nCheckpoints created ({len(rows)}), from {folder.lakehouse}/metadata/"
          "CheckpointHistory:\n")
    print(format_checkpoints(rows))
    print("\nOpen the Dagster UI on this lakehouse and instance (runs, lineage, checks):\n")
    print(f"  {ui_command(folder)}\n")
    failed = [run for run in runs if not run.success]
    if failed:
        print(f"{len(failed)} run(s) failed: " + ", ".join(r.run_id for r in failed),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
