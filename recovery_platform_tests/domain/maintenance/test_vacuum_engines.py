"""Safety rule 1 on both engines: no vacuum takes a pinned version's files.

delta-rs keeps the files of kept versions and deletes the rest; Spark cannot spare single
files, so when its vacuum would delete a file a pinned version needs, the table is skipped
with a Warning audit row and an alert naming the checkpoint, and it vacuums for real when no
pinned version is in the way. The removes are aged (log and disk) so no window protects them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus
from recovery_platform.domain.maintenance.pins import ActivePin, kept_versions
from recovery_platform.domain.maintenance.targets import MaintenanceTarget
from recovery_platform.domain.maintenance.vacuum import vacuum_target
from recovery_platform.engine import StorageEngine
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform_tests.domain.maintenance.aging import age_commit, age_commits
from recovery_platform_tests.domain.maintenance.scenario import audit_trail
from recovery_platform_tests.domain.site import make_lakehouse
from recovery_platform_tests.engine.bronze import SCHEMA, SHAPE, ids, rows
from recovery_platform_tests.engines import ENGINE_NAMES, make_engine

TEN_DAYS = 10 * 86_400
PINNED, UNPINNED = 2, (3, 4)


def _table(uri: str) -> list[Path]:
    """v1, v2 appends; v3 compacts them; v4 appends; v5 compacts all. Returns v5's removes.

    Version 2 (pinned) needs the two appended files; version 4 (unpinned) needs v3's compacted
    file and v4's; commits 3 to 5 are aged ten days. Version 2 itself stays recent: Spark
    refuses to read a version older than the table's file retention, which a checkpoint's
    retention rule would have raised (and the vacuum's with it).
    """
    writer = DeltaRsEngine()
    writer.create_table(uri, SCHEMA, properties={})
    writer.append(uri, rows(ids(0, 5)))
    writer.append(uri, rows(ids(5, 10)))
    first = writer.optimize(uri).version
    writer.append(uri, rows(ids(10, 15)))
    second = writer.optimize(uri).version
    age_commits(uri, range(first, second), TEN_DAYS)
    return age_commit(uri, second, TEN_DAYS)


def _target(uri: str) -> MaintenanceTarget:
    return MaintenanceTarget(name="account", uri=uri, shape=SHAPE, retention_hours=168,
                             zorder_columns=(), vacuum=True, optimize=False, bronze=True)


def _pin(engine: StorageEngine, uri: str, today: datetime) -> ActivePin:
    return ActivePin("cp-1", "daily_account_2026-01-06", "Daily", PINNED,
                     engine.state(uri).table_id, (today + timedelta(days=7)).date())


@pytest.mark.parametrize("engine_name", [
    pytest.param(name, marks=[pytest.mark.spark] if name == "spark" else [])
    for name in ENGINE_NAMES])
def test_a_vacuum_never_deletes_a_pinned_versions_files(tmp_path: Path, engine_name: str) -> None:
    uri = str(tmp_path / "account")
    removed = _table(uri)
    engine, now = make_engine(engine_name), datetime.now(UTC)
    store = MetadataStore(make_lakehouse(tmp_path))
    audit = audit_trail(store)
    pinned = kept_versions([_pin(engine, uri, now)], engine.state(uri), now.date())
    table_id = engine.state(uri).table_id
    expected = engine.read(uri, version=PINNED).num_rows

    outcome = vacuum_target(engine, _target(uri), pinned, audit, dry_run=False, now=now)

    assert engine.is_restorable(uri, PINNED, table_id).restorable
    assert engine.read(uri, version=PINNED).num_rows == expected == 10
    if engine.capabilities.vacuum_keep_versions:
        assert outcome.status is AuditStatus.Succeeded and len(outcome.files) == 2
        assert outcome.unreachable_versions == UNPINNED
        assert not any(engine.is_restorable(uri, v, table_id).restorable for v in UNPINNED)
    else:
        assert outcome.skipped and outcome.files == ()
        assert all(p.exists() for p in removed)
        # nothing pinned in the way: Spark vacuums for real
        latest_only = kept_versions([], engine.state(uri), now.date())
        done = vacuum_target(engine, _target(uri), latest_only, audit, dry_run=False, now=now)
        assert done.status is AuditStatus.Succeeded and len(done.files) == 4
        assert not any(p.exists() for p in removed)
    audit.flush()
    alerts = store.rows(MetadataTable.Alerts)
    steps = [r["Status"] for r in store.rows(MetadataTable.SyncAuditLog)]
    if engine.capabilities.vacuum_keep_versions:
        assert (steps, alerts) == (["Succeeded"], [])
    else:
        assert steps == ["Warning", "Succeeded"]
        assert [(a["Severity"], a["AlertType"]) for a in alerts] == [("MEDIUM", "VacuumSkipped")]
        assert "daily_account_2026-01-06" in alerts[0]["Message"]
