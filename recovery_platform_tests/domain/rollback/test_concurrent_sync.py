"""A sync started while a rollback holds the tables is refused and writes nothing to them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV, PAUSE_FILE_ENV
from recovery_platform_tests.domain.rollback.lab import BAD_DAY, TABLES, Lab

REPO = Path(__file__).resolve().parents[3]
ROLLBACK = """
import sys
from pathlib import Path
import dagster as dg
from recovery_platform_tests.domain.rollback.lab import Lab
lab = Lab(Path(sys.argv[1]))
lab.apply(lab.batch(-2), sys.argv[2], instance=dg.DagsterInstance.get())
"""
SYNC = """
import sys
from datetime import date
from pathlib import Path
import dagster as dg
from recovery_platform_tests.domain.rollback.lab import Lab
result = Lab(Path(sys.argv[1])).sync(date.fromisoformat(sys.argv[2]),
                                     instance=dg.DagsterInstance.get())
print(result.run_id)
"""


def _child(code: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_sync_during_a_rollback_is_refused_by_the_table_leases(
    bad_lab: Lab, tmp_path: Path
) -> None:
    lab = bad_lab
    home = tmp_path / "dagster_home"
    home.mkdir()
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    pause = tmp_path / "pause"
    pause.touch()
    rollback = subprocess.Popen(
        [sys.executable, "-c", ROLLBACK, str(lab.root), plan_id],
        env={**os.environ, "DAGSTER_HOME": str(home),
             CRASH_ENV: "rollback.after_restore_commit:pause", PAUSE_FILE_ENV: str(pause)},
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not pause.with_suffix(".reached").exists():
            assert rollback.poll() is None, rollback.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the rollback never reached its first restore"
            time.sleep(0.1)
        rollback_run = lab.plan_row(plan_id)["AppliedRunIds"]
        logs = {t: lab.log_files(t) for t in TABLES}

        sync = _child(SYNC, str(lab.root), BAD_DAY.isoformat(), env={"DAGSTER_HOME": str(home)})

        assert sync.returncode == 0, sync.stderr[-2000:]
        assert {t: lab.log_files(t) for t in TABLES} == logs
    finally:
        pause.unlink(missing_ok=True)
        _, stderr = rollback.communicate(timeout=300)
    assert rollback.returncode == 0, stderr[-2000:]
    sync_run = sync.stdout.strip().splitlines()[-1]
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    finished = instance.get_run_by_id(rollback_run)
    assert finished is not None and finished.job_name == "rollback_job"
    assert finished.status == dg.DagsterRunStatus.SUCCESS
    stored = instance.get_run_by_id(sync_run)
    assert stored is not None and stored.status == dg.DagsterRunStatus.FAILURE
    failures = [r for r in lab.audit(PipelineRunId=sync_run) if r["OperationType"] == "TableSync"]
    assert {r["TableName"]: r["Status"] for r in failures} == dict.fromkeys(TABLES, "Failed")
    for row in failures:
        assert row["ErrorMessage"] == (
            f"TableLeaseError: table {row['TableName']} is being written by run {rollback_run}; "
            "two writers of one table are not allowed. Retry when that run ends."
        )
    messages = [e.message for e in instance.all_logs(sync_run) if e.message]
    assert any(f"table account is being written by run {rollback_run}" in m for m in messages)
    assert {t: lab.fingerprint(t) for t in TABLES} == {
        t: target.pin(t).fingerprint for t in TABLES}
