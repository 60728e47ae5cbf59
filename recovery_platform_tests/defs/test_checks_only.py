"""Checks run alone, as the UI's "Execute" on a checks page launches them: read-only, current."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from recovery_platform.definitions import defs
from recovery_platform.defs.checks import CHECKPOINT_CHECK
from recovery_platform.defs.resources import LakehouseResource, SourceResource
from recovery_platform.defs.sync import BATCH_ALONE
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.sync.validation import Invariant
from recovery_platform_tests.defs.run_results import failure_text
from recovery_platform_tests.defs.test_daily_sync_job import bronze, checks, run_sync
from recovery_platform_tests.domain.extracts import metadata_versions
from recovery_platform_tests.domain.site import DEMO_START, Site, demo, make_site

BATCH = dg.AssetKey(["checkpoints", "daily_batch"])


@pytest.fixture
def synced(tmp_path: Path) -> Site:
    """Day 0 synced; day 1's extracts have landed, so a sync would change every table."""
    site = make_site(tmp_path)
    demo(site.landing, days=2)
    assert run_sync(site, DEMO_START).success
    return site


def run_selection(
    site: Site, selected_checks: set[dg.AssetCheckKey], assets: set[dg.AssetKey] | None = None
) -> dg.ExecuteInProcessResult:
    """A run of the asset job with a check selection and an empty asset selection (the UI's)."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=assets or set(), asset_check_selection=selected_checks)
    return job.execute_in_process(
        resources={"lakehouse": LakehouseResource(root=site.lakehouse.root),
                   "source": SourceResource(landing_root=str(site.landing))},
        tags={"sync_date": (DEMO_START + timedelta(days=1)).isoformat()},
        raise_on_error=False,
    )


def bronze_versions(site: Site) -> dict[str, int]:
    engine = site.lakehouse.engine
    return {t: engine.state(site.lakehouse.bronze_uri(t)).version
            for t in site.lakehouse.config.table_names}


def test_checks_alone_evaluate_current_versions_and_write_nothing(synced: Site) -> None:
    before, metadata = bronze_versions(synced), metadata_versions(synced.lakehouse)
    selected = {dg.AssetCheckKey(bronze("account"), i.value) for i in Invariant}
    selected |= {dg.AssetCheckKey(bronze("contact"), Invariant.referential_integrity.value),
                 dg.AssetCheckKey(bronze("contact"), CHECKPOINT_CHECK)}

    result = run_selection(synced, selected)

    assert result.success, failure_text(result)
    found = checks(result)
    assert set(found) == {(k.asset_key.path[-1], k.name) for k in selected}
    assert all(e.passed for e in found.values())
    assert {e.metadata["version"].value for (t, _), e in found.items() if t == "account"} == {
        before["account"]}
    assert result.get_asset_materialization_events() == []
    assert bronze_versions(synced) == before
    assert metadata_versions(synced.lakehouse) == metadata


def test_checks_alone_see_a_violation_written_after_the_sync(synced: Site) -> None:
    engine, uri = synced.lakehouse.engine, synced.lakehouse.bronze_uri("account")
    row = engine.read(uri).slice(0, 1)
    for name, value in (("accountid", "both-flags"), ("IsDeleted", True), ("IsPurged", True)):
        index = row.schema.get_field_index(name)
        row = row.set_column(index, name, pa.array([value], row.schema.field(name).type))
    broken = engine.append(uri, row)
    key = dg.AssetCheckKey(bronze("account"), Invariant.tracking_columns_consistent.value)

    result = run_selection(synced, {key})

    evaluation = checks(result)[("account", key.name)]
    assert not evaluation.passed
    assert evaluation.metadata["violations"].value == 1
    assert evaluation.metadata["sample_keys"].value == "both-flags"
    assert evaluation.metadata["version"].value == broken
    assert engine.state(uri).version == broken
    audit = synced.store.read(MetadataTable.SyncAuditLog, columns=["PipelineRunId"])
    assert result.run_id not in audit.column("PipelineRunId").to_pylist()


def test_the_batch_checkpoint_alone_is_refused_and_nothing_is_synced(synced: Site) -> None:
    before = bronze_versions(synced)
    result = run_selection(synced, set(), assets={BATCH})
    assert not result.success
    assert BATCH_ALONE in failure_text(result)
    assert bronze_versions(synced) == before
