"""Runs killed (SIGKILL) at their most delicate moment re-run to a consistent state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deltalake import DeltaTable

from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV
from recovery_platform.sources import write_bad_sync_extract
from recovery_platform_tests.domain.rollback.lab import BAD_DAY, TABLES, Lab, copy_lab

REPO = Path(__file__).resolve().parents[3]
APPLY = """
import sys
from pathlib import Path
from recovery_platform_tests.domain.rollback.lab import Lab
lab = Lab(Path(sys.argv[1]))
lab.apply(lab.batch(-2), sys.argv[2])
raise SystemExit("the crash point did not fire")
"""
SYNC = """
import sys
from datetime import date
from pathlib import Path
from recovery_platform_tests.domain.rollback.lab import Lab
Lab(Path(sys.argv[1])).sync(date.fromisoformat(sys.argv[2]))
raise SystemExit("the crash point did not fire")
"""


def killed_at(point: str, script: str, *args: str) -> None:
    """Run `script` in a child process that SIGKILLs itself at the named crash point."""
    child = subprocess.run(
        [sys.executable, "-c", script, *args], env={**os.environ, CRASH_ENV: f"{point}:kill"},
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    assert child.returncode == -9, child.stderr[-3000:]


def restores(lab: Lab, table: str) -> int:
    return sum(c["operation"] == "RESTORE" for c in DeltaTable(lab.uri(table)).history())


def test_a_rollback_killed_after_its_prerollback_checkpoint_resumes_with_it(
    bad_lab: Lab,
) -> None:
    target = bad_lab.batch(-2)
    plan_id = bad_lab.plan(target).output

    killed_at("rollback.after_pre_rollback_checkpoint", APPLY, str(bad_lab.root), plan_id)

    assert [restores(bad_lab, t) for t in TABLES] == [0] * len(TABLES)
    pre = bad_lab.checkpoints("PreRollback")
    assert len(pre) == 1 and bad_lab.plan_row(plan_id)["Status"] == "Applying"
    rerun = bad_lab.apply(target, plan_id)
    assert rerun.success, rerun.error
    assert [c.checkpoint_id for c in bad_lab.checkpoints("PreRollback")] == [
        pre[0].checkpoint_id]
    assert len(bad_lab.checkpoints("PostRollback")) == 1
    assert restores(bad_lab, "account") == 1
    bad_lab.assert_matches_checkpoint(target, TABLES)


def test_a_sync_killed_right_after_a_merge_commit_reruns_to_the_state_of_an_unbroken_sync(
    base_template: Path, tmp_path: Path
) -> None:
    day = BAD_DAY
    labs = [copy_lab(base_template, tmp_path / name) for name in ("killed", "control")]
    for lab in labs:
        for table in TABLES:
            write_bad_sync_extract(lab.landing, table, day, drop_fraction=0.02)
    killed, control = labs

    killed_at("sync.after_merge_commit", SYNC, str(killed.root), day.isoformat())
    merged = [t for t in TABLES if DeltaTable(killed.uri(t)).history(1)[0]["operation"] == "MERGE"]
    assert len(merged) >= 1
    rerun, unbroken = killed.sync(day), control.sync(day)

    assert rerun.success and unbroken.success
    for table in TABLES:
        shape = killed.house.config.table(table).shape
        assert killed.engine.row_counts(killed.uri(table), shape) == control.engine.row_counts(
            control.uri(table), shape), table
    assert killed.batch(-1).status.value == "Validated"
    of_the_day = [c for c in killed.checkpoints("Daily")
                  if c.name.startswith(f"bronze_backup_{day.isoformat()}")]
    assert sorted(p.table for c in of_the_day for p in c.tables) == sorted(TABLES)
