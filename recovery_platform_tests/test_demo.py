"""The demo CLI (the README's first command) at a tiny scale: runs recorded, checkpoints made."""

import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from recovery_platform.demo import DemoFolder, checkpoint_rows, format_checkpoints, parse_args

TABLES = ("account", "contact", "donation", "activitypointer")
DAYS = 2


def _run_demo(root: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "recovery_platform.demo", "--root", str(root), "--days", str(DAYS),
         "--scale", "20", "--start", "2026-02-01"],
        cwd=root.parent, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _check(folder: DemoFolder) -> list[str]:
    rows = checkpoint_rows(folder.lakehouse)
    assert {r["ValidationStatus"] for r in rows} == {"Validated"}
    daily = Counter((r["CheckpointName"], r["TableName"]) for r in rows
                    if r["CheckpointType"] == "Daily")
    assert daily == Counter({(f"bronze_backup_2026-02-0{d}", t): 1
                             for d in range(1, DAYS + 1) for t in TABLES})
    batches = [r for r in rows if r["CheckpointType"] == "DailyBatch"]
    assert len(batches) == DAYS
    assert all(r["TablesIncluded"] == len(TABLES) for r in batches)
    assert {r["CheckpointType"] for r in rows} == {"Daily", "DailyBatch"}
    return [r["PipelineRunId"] for r in batches]


def test_demo_syncs_each_day_through_the_instance_and_reruns_from_clean(tmp_path: Path) -> None:
    folder = DemoFolder(tmp_path / "demo")
    first = _run_demo(folder.root)
    run_ids = _check(folder)
    assert "bronze_backup_2026-02-02" in first.stdout
    assert f"DAGSTER_HOME={folder.dagster_home}" in first.stdout
    assert f"RECOVERY_LAKEHOUSE_ROOT={folder.lakehouse}" in first.stdout

    instance = dg.DagsterInstance.from_config(str(folder.dagster_home))
    runs = instance.get_runs(dg.RunsFilter(job_name="daily_sync_job"))
    assert sorted(r.run_id for r in runs) == sorted(run_ids)
    assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}

    _run_demo(folder.root)
    assert not set(_check(folder)) & set(run_ids)


def test_bad_options_are_refused() -> None:
    for argv in (["--days", "0"], ["--scale", "-3"], ["--days", "x"], ["--start", "2026-13-01"]):
        with pytest.raises(SystemExit) as exit_info:
            parse_args(argv)
        assert exit_info.value.code == 2


def test_defaults() -> None:
    args = parse_args([])
    assert (args.days, args.scale, args.root, args.start) == (5, 1000, Path(".demo"), None)


def test_checkpoint_table_lists_name_type_tables_status_and_rows() -> None:
    created = datetime(2026, 2, 1, 3, 4, 5, tzinfo=UTC)
    text = format_checkpoints([
        {"CheckpointName": "bronze_backup_2026-02-01", "CheckpointType": "Daily",
         "TableName": "account", "TablesIncluded": 1, "ValidationStatus": "Validated",
         "TotalRows": 1234, "CreatedDate": created},
        {"CheckpointName": "bronze_batch_x", "CheckpointType": "DailyBatch", "TableName": None,
         "TablesIncluded": 4, "ValidationStatus": "Failed", "TotalRows": None,
         "CreatedDate": created},
    ])
    lines = text.splitlines()
    assert lines[0].split() == ["Name", "Type", "Table(s)", "Status", "Total", "rows",
                                "Created", "(UTC)"]
    assert lines[2].split() == ["bronze_backup_2026-02-01", "Daily", "account", "Validated",
                                "1,234", "2026-02-01", "03:04:05"]
    assert lines[3].split()[:5] == ["bronze_batch_x", "DailyBatch", "4", "tables", "Failed"]


def test_reset_removes_only_the_demo_folders(tmp_path: Path) -> None:
    folder = DemoFolder(tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    folder.landing.mkdir()
    (folder.landing / "old.parquet").write_text("x")
    folder.reset()
    assert (tmp_path / "keep.txt").exists() and not folder.landing.exists()
    assert (folder.dagster_home / "dagster.yaml").exists()
