"""One process's work for `test_clean_exit`: a daily sync, then a rollback, then a normal exit.

Run as `python -m recovery_platform_tests.engine.deltars.clean_exit_worker FOLDER`, FOLDER
holding a lakehouse (`lake`, one day synced) and its extracts (`landing`, two days); `prepare`
makes such a folder. The process syncs the second day and rolls every table back to the first
day's DailyBatch checkpoint through the domain entry points the Dagster sync asset and
rollback op call (Dagster itself would add seconds of import per process and nothing to the
delta-rs reads and writes under test). Last, as an operator's check would, it reads every
restored table again with a fresh engine (nothing remembered) and compares its fingerprint
with the checkpoint's: the abort strikes when the interpreter finalizes soon after an engine
read, and the work between a read and the exit otherwise hides it. It prints "ok" and returns
from `main`, so the interpreter finalizes as a run worker's does; an abort at exit shows only
in the exit code and stderr.
"""

from __future__ import annotations

import sys
import uuid
from datetime import date, timedelta
from pathlib import Path

from recovery_platform.domain.checkpoints.history import load_checkpoint
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.rollback.request import validate_request
from recovery_platform.domain.rollback.run import run_rollback
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform.sources import generate_demo_crm
from recovery_platform_tests.domain.site import Site, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

FIRST_DAY = date(2026, 1, 5)
SECOND_DAY = FIRST_DAY + timedelta(days=1)
SCALE = 20
"""Twenty accounts (about 240 rows in all): exit behaviour does not depend on table size."""


def prepare(folder: Path) -> None:
    """Two days of demo extracts in `folder/landing`, the first synced into `folder/lake`."""
    generate_demo_crm(folder / "landing", start=FIRST_DAY, days=2, scale=SCALE)
    _sync(make_site(folder), FIRST_DAY)


def _sync(site: Site, day: date) -> None:
    result = sync_run(site.lakehouse, site.store, site.leases, site.landing, day)
    problems = [f"{t}: {o.problem}" for t, o in result.tables.items() if not o.ok]
    if problems or result.batch.reasons:
        raise SystemExit(f"sync of {day} failed: {problems} {result.batch.reasons}")


def _first_batch_checkpoint(site: Site) -> str:
    rows = site.store.rows(MetadataTable.CheckpointHistory, equals={"CheckpointType": "DailyBatch"})
    return str(min(rows, key=lambda row: row["CreatedDate"])["CheckpointId"])


def _roll_back(site: Site) -> None:
    """Plan and apply, in one run, a rollback of every table to the first day's batch."""
    run_id = str(uuid.uuid4())
    request = validate_request(
        site.lakehouse.config, checkpoint_id=_first_batch_checkpoint(site),
        require_approval=False, dry_run=False, reason="clean exit test", requested_by="pytest",
    )
    audit = AuditTrail(site.store, run_id, Actor(requested_by="pytest", dry_run=False))
    try:
        outcome = run_rollback(site.lakehouse, site.store, site.leases, audit, request,
                               log=lambda _message: None)
    finally:
        audit.flush()
    if outcome.applied is None or not outcome.applied.succeeded:
        raise SystemExit(f"rollback did not apply: {outcome.message}")


def _check_restored(site: Site) -> None:
    """Every table's data, read afresh, has the fingerprint the first day's batch pinned."""
    checkpoint = load_checkpoint(site.store, _first_batch_checkpoint(site))
    engine = DeltaRsEngine()
    for table in site.lakehouse.config.table_names:
        shape = site.lakehouse.config.table(table).shape
        read = engine.fingerprint(site.lakehouse.bronze_uri(table), shape)
        if read != checkpoint.pin(table).fingerprint:
            raise SystemExit(f"{table} does not match the checkpoint after the rollback")


def main(argv: list[str]) -> int:
    """Sync the second day, roll back to the first and check it, in the folder `argv[0]`."""
    site = make_site(Path(argv[0]))
    _sync(site, SECOND_DAY)
    _roll_back(site)
    _check_restored(site)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
