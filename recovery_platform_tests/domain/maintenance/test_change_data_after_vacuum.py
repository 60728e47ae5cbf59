"""A rollback plan still measures row-level impact after a vacuum removed files its feed needs.

Impact analysis nets the change data feed between the checkpoint's version and now. An append
after the pinned version is read from its data file; once an OPTIMIZE rewrote that file and a
vacuum deleted it (nothing pins the append's own version), the feed cannot be read, so the
plan falls back to comparing both versions row by row, gets the same answer, and says so.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from recovery_platform.domain.checkpoints.manual import create_manual_checkpoint
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform_tests.domain.maintenance.aging import age_commits
from recovery_platform_tests.domain.maintenance.scenario import FORTY_DAYS, audit_trail, maintain
from recovery_platform_tests.domain.maintenance.test_weekly_run import TABLE, plan_diff
from recovery_platform_tests.domain.site import DEMO_START, Site
from recovery_platform_tests.domain.sync_runs import sync_run


def _append_new_accounts(site: Site, uri: str) -> int:
    """Two rows with new keys, appended in their own commit (a WRITE Append)."""
    engine = site.lakehouse.engine
    rows = engine.read(uri).slice(0, 2)
    keys = pa.array(["new-account-1", "new-account-2"], rows.schema.field("accountid").type)
    rows = rows.set_column(rows.schema.get_field_index("accountid"), "accountid", keys)
    assert pc.all(pc.is_valid(rows.column("accountid"))).as_py()
    return engine.append(uri, rows)


def test_plan_after_vacuum_falls_back_to_comparing_versions(site: Site) -> None:
    uri = site.lakehouse.bronze_uri(TABLE)
    engine = site.lakehouse.engine
    manual = create_manual_checkpoint(
        site.lakehouse, site.store, audit_trail(site.store), name="before_import",
        tables=[TABLE], reason="test", requested_by="alice")
    appended = _append_new_accounts(site, uri)
    optimized = engine.optimize(uri).version
    age_commits(uri, range(appended, optimized + 1), FORTY_DAYS)
    sync_run(site.lakehouse, site.store, site.leases, site.landing, DEMO_START + timedelta(days=3))
    before = plan_diff(site, manual.checkpoint_id)
    assert before.method == "change_data_feed"

    summary, _ = maintain(site, tables=[TABLE], operations=["vacuum"], dry_run=False)

    vacuum = summary.tables[0].vacuum
    assert vacuum is not None and appended in vacuum.unreachable_versions
    after = plan_diff(site, manual.checkpoint_id)
    assert after.method == "key_scan"
    assert (after.added, after.removed, after.changed, after.state_changes) == (
        before.added, before.removed, before.changed, before.state_changes)
    assert after.added + after.removed + after.changed > 0
    plans = site.store.rows(MetadataTable.RollbackPlans)
    newest = max(plans, key=lambda r: r["CreatedAt"])
    assert "measured by comparing both versions" in newest["PlanMarkdown"]
