"""A rollback killed right after a restore commit converges when the same plan is re-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from deltalake import DeltaTable

from recovery_platform.domain.lakehouse.fault_injection import CRASH_ENV
from recovery_platform_tests.domain.rollback.lab import TABLES, Lab

CHILD = """
import sys
from pathlib import Path
from recovery_platform_tests.domain.rollback.lab import Lab
lab = Lab(Path(sys.argv[1]))
lab.apply(lab.batch(-2), sys.argv[2])
raise SystemExit("the crash point did not fire")
"""
REPO = Path(__file__).resolve().parents[3]


def _restores(lab: Lab, table: str) -> list[dict[str, object]]:
    return [c for c in DeltaTable(lab.uri(table)).history() if c["operation"] == "RESTORE"]


def test_sigkill_after_a_restore_commit_then_rerun_restores_each_table_once(
    bad_lab: Lab,
) -> None:
    lab = bad_lab
    target = lab.batch(-2)
    contact = DeltaTable(lab.uri("contact")).to_pyarrow_table(columns=["contactid"])
    lab.engine.update_where(
        lab.uri("contact"),
        equals={"contactid": contact.column("contactid")[0].as_py()},
        values={"fullname": "Typo"},
    )
    plan_id = lab.plan(target).output

    env = {**os.environ, CRASH_ENV: "rollback.after_restore_commit:kill"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(lab.root), plan_id],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == -9, child.stderr[-3000:]
    killed_run = lab.plan_row(plan_id)["AppliedRunIds"]
    # tables restore in parallel: the kill after the first restore commit may find another
    # table's restore committed too, but never a table restored twice, and never nothing
    killed = [len(_restores(lab, t)) for t in TABLES]
    assert max(killed) == 1 and 1 <= sum(killed) <= 2, killed
    committed = [t for t, n in zip(TABLES, killed, strict=True) if n]  # a race: either may be first
    assert set(committed) <= {"account", "contact"}
    assert {lab.intents(plan_id)[t]["IntentStatus"] for t in committed} == {"pending"}

    # the killed run's lease files remain, but its process is gone: the re-run reclaims them
    left = sorted(p.name for p in (lab.lake / "_leases").glob("*.lease"))
    assert left == sorted(f"{t}.lease" for t in TABLES)
    assert {json.loads(p.read_text())["run_id"] for p in (lab.lake / "_leases").glob("*.lease")
            } == {killed_run}

    rerun = lab.apply(target, plan_id)

    assert rerun.success, rerun.error
    for table in TABLES:
        assert lab.fingerprint(table) == target.pin(table).fingerprint
        expected = 1 if table in ("account", "contact") else 0
        assert len(_restores(lab, table)) == expected
        assert len(lab.restore_commits(table, plan_id)) == expected
    intents = lab.intents(plan_id)
    assert {t: intents[t]["IntentStatus"] for t in TABLES} == dict.fromkeys(TABLES, "validated")
    assert (
        intents["account"]["RestoreVersion"]
        == lab.restore_commits("account", plan_id)[0]["version"]
    )
    row = lab.plan_row(plan_id)
    assert row["Status"] == "Applied"
    assert row["AppliedRunIds"].split(",") == [killed_run, rerun.run_id]
    assert len(lab.checkpoints("PreRollback")) == 1
    assert len(lab.checkpoints("PostRollback")) == 1
    audited = {
        r["PipelineRunId"]
        for r in lab.audit()
        if r["OperationType"] in ("RollbackValidation", "PreRollbackCheckpoint", "TableRestore")
    }
    assert {killed_run, rerun.run_id} <= audited
    for table in committed:
        resumed = lab.audit(
            PipelineRunId=rerun.run_id, OperationType="TableRestore", TableName=table
        )
        assert "found in history" in resumed[0]["DetailsJson"]
        assert rerun.materializations[table]["restore_status"] == "committed"
