"""One plan, one apply: refused while its applying run is alive, resumed once that run is dead."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.history import resolve_checkpoint
from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV, PAUSE_FILE_ENV
from recovery_platform.domain.lakehouse.lease import LeaseStore
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType
from recovery_platform_tests.domain.rollback.lab import TABLES, Lab

REPO = Path(__file__).resolve().parents[3]
WINDOW = "rollback.before_outcome_recorded"
"""Restores proven, outcome (PostRollback checkpoint, plan status) not yet recorded."""
APPLY = """
import sys
from pathlib import Path
from recovery_platform_tests.domain.rollback.lab import Lab
lab = Lab(Path(sys.argv[1]))
run = lab.apply(lab.batch(-2), sys.argv[2])
assert run.success, run.error
"""


def _restored_once(lab: Lab, plan_id: str) -> None:
    """The bad sync hit account only: it is restored exactly once, the others never."""
    assert {t: len(lab.restore_commits(t, plan_id)) for t in TABLES} == {
        "account": 1, "contact": 0, "donation": 0, "activitypointer": 0}


def _wait_for(pause: Path, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 240
    while not pause.with_suffix(".reached").exists():
        assert child.poll() is None, child.communicate()[1][-2000:]
        assert time.monotonic() < deadline, f"the apply never reached {WINDOW}"
        time.sleep(0.1)


def test_a_second_apply_while_the_first_records_its_outcome_is_refused_naming_it(
    bad_lab: Lab, tmp_path: Path
) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    assert plan_id is not None
    pause = tmp_path / "pause"
    pause.touch()
    first = subprocess.Popen(
        [sys.executable, "-c", APPLY, str(lab.root), plan_id],
        env={**os.environ, CRASH_ENV: f"{WINDOW}:pause", PAUSE_FILE_ENV: str(pause)},
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for(pause, first)
        first_run = lab.plan_row(plan_id)["AppliedRunIds"]
        logs = {t: lab.log_files(t) for t in TABLES}

        second = lab.apply(target, plan_id)

        assert not second.success
        assert (f"plan {plan_id} is being applied by run {first_run}, which is still running"
                in second.error), second.error
        assert second.materializations == {}
        assert {t: lab.log_files(t) for t in TABLES} == logs
        row = lab.plan_row(plan_id)
        assert (row["Status"], row["AppliedRunIds"]) == ("Applying", first_run)
        (refusal,) = lab.audit(PipelineRunId=second.run_id, Status="Failed")
        assert refusal["OperationType"] == "RollbackValidation"
        assert f"being applied by run {first_run}" in refusal["ErrorMessage"]
    finally:
        pause.unlink(missing_ok=True)
        _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr[-3000:]

    row = lab.plan_row(plan_id)
    assert (row["Status"], row["AppliedRunIds"]) == ("Applied", first_run)
    (post,) = lab.checkpoints("PostRollback")
    assert row["PostRollbackCheckpointId"] == post.checkpoint_id
    assert len(lab.checkpoints("PreRollback")) == 1
    by_name = resolve_checkpoint(lab.store, name=post.name,
                                 checkpoint_type=CheckpointType.PostRollback)
    assert by_name.checkpoint_id == post.checkpoint_id
    _restored_once(lab, plan_id)
    lab.assert_matches_checkpoint(target, TABLES)


def test_an_apply_that_died_before_recording_its_outcome_is_resumed_once(
    bad_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    plan_id = lab.plan(target).output
    assert plan_id is not None
    monkeypatch.setenv(CRASH_ENV, WINDOW)

    died = lab.apply(target, plan_id)

    assert not died.success and f"injected crash at {WINDOW}" in died.error
    assert lab.plan_row(plan_id)["Status"] == "Applying"
    assert lab.checkpoints("PostRollback") == []
    assert not list((lab.lake / "_leases").glob("*.lease"))  # released as the run ended
    monkeypatch.delenv(CRASH_ENV)

    resumed = lab.apply(target, plan_id)

    assert resumed.success, resumed.error
    row = lab.plan_row(plan_id)
    assert row["Status"] == "Applied"
    assert row["AppliedRunIds"].split(",") == [died.run_id, resumed.run_id]
    assert len(lab.checkpoints("PreRollback")) == len(lab.checkpoints("PostRollback")) == 1
    _restored_once(lab, plan_id)
    assert resumed.materializations["account"]["restore_status"] == "committed"
    lab.assert_matches_checkpoint(target, TABLES)


def _lease(root: Path, table: str, **body: object) -> None:
    root.mkdir(parents=True, exist_ok=True)
    full = {"table": table, "run_id": "r1", "nonce": "n", "expires_at": time.time() + 3600,
            "host": socket.gethostname(), "pid": os.getpid(), **body}
    (root / f"{table}.lease").write_text(json.dumps(full))


def test_a_lease_is_live_until_its_holder_is_known_dead(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _lease(tmp_path, "account")
    _lease(tmp_path, "contact", host="another-host", pid=gone.pid)
    _lease(tmp_path, "donation", pid=gone.pid)
    _lease(tmp_path, "activitypointer", expires_at=time.time() - 1)
    leases = LeaseStore(str(tmp_path))

    assert {t: leases.live_holder(t) for t in TABLES} == {
        "account": "r1", "contact": "r1", "donation": None, "activitypointer": None}
    assert {leases.holder(t) for t in TABLES} == {"r1"}
