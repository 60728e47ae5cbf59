"""The planner refuses checkpoints the lifecycle ended: expired ones and unrestorable ones."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recovery_platform.domain.checkpoints.history import Checkpoint
from recovery_platform.domain.checkpoints.integrity import check_integrity
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail, utc_now
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.rollback.impact import RollbackPlan
from recovery_platform.domain.rollback.plan import make_plan
from recovery_platform.domain.rollback.request import select_checkpoint, validate_request
from recovery_platform_tests.domain.checkpoints.checkpoint_sites import (
    batches,
    pinned_file,
    rewrite_same_size,
    synced_days,
)
from recovery_platform_tests.domain.site import Site, copy_site


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Three days synced: three validated DailyBatch checkpoints."""
    return synced_days(tmp_path_factory.mktemp("lifecycle"), 3)


@pytest.fixture
def site(template: Site, tmp_path: Path) -> Site:
    return copy_site(template, tmp_path)


def plan(site: Site, target: Checkpoint) -> RollbackPlan:
    request = validate_request(site.lakehouse.config, checkpoint_id=target.checkpoint_id,
                               requested_by="alice", reason="test")
    audit = AuditTrail(site.store, f"plan-{target.name}", Actor(requested_by="alice"))
    made = make_plan(site.lakehouse, site.store, audit, request,
                     select_checkpoint(site.store, request))
    audit.flush()
    return made


def expire_on(site: Site, checkpoint: Checkpoint, day: date) -> None:
    """Move the retention date only: IsActive stays true, as before maintenance runs."""
    site.store.upsert(MetadataTable.CheckpointHistory,
                      [{"CheckpointId": checkpoint.checkpoint_id, "RetentionDate": day}],
                      key="CheckpointId")


def damage_content(site: Site, checkpoint: Checkpoint) -> None:
    """Replace the pinned account file by one of the same size holding another key."""
    path = pinned_file(site, checkpoint, "account")
    data = pq.read_table(path)
    keys = ["account-9999", *data.column("accountid").to_pylist()[1:]]
    rewrite_same_size(path, data.set_column(0, data.schema.field(0),
                                            pa.array(keys, data.schema.field(0).type)), "name")
    audit = AuditTrail(site.store, "integrity", Actor(requested_by="ops"))
    found = check_integrity(site.lakehouse, site.store, audit, deep=True)
    assert checkpoint.checkpoint_id in found.unrestorable  # with that day's Daily of account
    audit.flush()


def test_a_checkpoint_past_its_retention_date_is_refused_while_still_active(site: Site) -> None:
    first, _, newest = batches(site)
    yesterday = utc_now().date() - timedelta(days=1)
    expire_on(site, first, yesterday)

    made = plan(site, first)

    assert made.refusals == (
        f"checkpoint {first.name} expired on {yesterday} (its RetentionDate has passed; "
        "retention enforcement has not deactivated it yet)",)
    assert made.recommendation is not None
    assert made.recommendation.startswith(
        f"checkpoint {newest.name} (id {newest.checkpoint_id}")
    (recorded,) = site.store.rows(MetadataTable.RollbackPlans)
    assert recorded["Status"] == "Refused"


def test_a_checkpoint_found_unrestorable_is_refused_with_the_integrity_reason(
    site: Site,
) -> None:
    """Its files are all there (is_restorable agrees), but their content is not the pinned one."""
    _, middle, newest = batches(site)
    damage_content(site, middle)

    made = plan(site, middle)

    (refusal,) = made.refusals
    assert refusal.startswith(f"checkpoint {middle.name} was found Unrestorable by the "
                              "integrity check on ")
    assert "account: fingerprint at version" in refusal
    assert made.recommendation is not None
    assert made.recommendation.startswith(f"checkpoint {newest.name} ")


def test_the_recommendation_skips_expired_and_unrestorable_checkpoints(site: Site) -> None:
    first, middle, newest = batches(site)
    yesterday = utc_now().date() - timedelta(days=1)
    damage_content(site, middle)
    expire_on(site, first, yesterday)
    expire_on(site, newest, yesterday)

    made = plan(site, first)

    assert made.recommendation is not None
    assert made.recommendation.startswith(
        "no active, validated, restorable DailyBatch checkpoint covers")
    assert middle.name not in made.recommendation and newest.name not in made.recommendation
