"""delta-rs specifics: capabilities, refusals, and which method answered (stats, CDF)."""

from __future__ import annotations

import json

import pytest
from deltalake import CommitProperties, DeltaTable, TableFeatures, write_deltalake

from recovery_platform.engine import StorageEngine, UnsupportedTableFeatureError
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform_tests.engine.bronze import SCHEMA, SHAPE, ids, independent_diff, rows

CDF_ON = {"delta.enableChangeDataFeed": "true"}


@pytest.fixture
def deltars() -> StorageEngine:
    return DeltaRsEngine(storage_options={})


def test_capabilities(deltars: StorageEngine) -> None:
    capabilities = deltars.capabilities
    assert capabilities.name == "deltars"
    assert not capabilities.reads_deletion_vectors
    assert capabilities.vacuum_keep_versions
    assert capabilities.restore_commit_metadata
    assert capabilities.concurrent_restores
    assert not capabilities.requires_in_process_executor


def test_deletion_vector_tables_are_refused_before_anything(
    deltars: StorageEngine, uri: str
) -> None:
    write_deltalake(uri, rows(ids(0, 3)))
    DeltaTable(uri).alter.add_feature(
        TableFeatures.DeletionVectors, allow_protocol_versions_increase=True
    )
    version = DeltaTable(uri).version()
    operations = [
        lambda: deltars.read(uri),
        lambda: deltars.row_counts(uri, SHAPE),
        lambda: deltars.fingerprint(uri, SHAPE),
        lambda: deltars.append(uri, rows(ids(5, 6))),
        lambda: deltars.merge_upsert(uri, rows(ids(5, 6)), key="accountid"),
        lambda: deltars.update_where(uri, equals={"accountid": "acc-0000"}, values={"name": "x"}),
        lambda: deltars.restore(uri, 0, commit_metadata={}),
        lambda: deltars.key_diff(uri, SHAPE, 0, version),
        lambda: deltars.optimize(uri),
        lambda: deltars.vacuum(uri, retention_hours=168, dry_run=True),
        lambda: deltars.set_properties(uri, {"recovery_platform.x": "1"}),
    ]
    for operation in operations:
        with pytest.raises(UnsupportedTableFeatureError, match="deletionVectors"):
            operation()
    assert DeltaTable(uri).version() == version
    table_id = str(DeltaTable(uri).metadata().id)
    result = deltars.is_restorable(uri, 0, table_id)
    assert not result.restorable
    assert "deletionVectors" in (result.reason or "")


def test_counts_use_log_stats_only_when_files_are_uniform(deltars: StorageEngine, uri: str) -> None:
    deltars.append(uri, rows(ids(0, 5)))
    deltars.append(uri, rows(ids(5, 8), deleted=ids(5, 8)))
    assert deltars.row_counts(uri, SHAPE).method == "log_stats"
    deltars.append(uri, rows(ids(8, 10), purged=["acc-0009"]))
    counts = deltars.row_counts(uri, SHAPE)
    assert counts.method == "scan"
    assert (counts.total, counts.active, counts.deleted, counts.purged) == (10, 6, 3, 1)
    assert deltars.row_counts(uri, SHAPE, 1).method == "log_stats"


def test_key_diff_uses_cdf_only_on_safe_ranges(deltars: StorageEngine, uri: str) -> None:
    deltars.create_table(uri, SCHEMA, properties=CDF_ON)
    deltars.append(uri, rows(ids(0, 10)))
    deltars.merge_upsert(uri, rows(ids(0, 3), deleted=ids(0, 3)), key="accountid")
    deltars.append(uri, rows(ids(10, 12)))
    deltars.optimize(uri)
    latest = deltars.state(uri).version
    assert deltars.history(uri, limit=1)[0].operation == "OPTIMIZE"
    diff = deltars.key_diff(uri, SHAPE, 1, latest)
    assert diff.method == "change_data_feed"
    assert (diff.added, diff.changed, diff.state_changes) == (2, 3, {"active->deleted": 3})
    assert deltars.key_diff(uri, SHAPE, latest, 1).method == "change_data_feed"
    deltars.restore(uri, 1, commit_metadata={})
    after_restore = deltars.state(uri).version
    scanned = deltars.key_diff(uri, SHAPE, 1, after_restore)
    assert scanned.method == "key_scan"
    assert (scanned.added, scanned.removed, scanned.changed) == (0, 0, 0)


def test_key_diff_uses_cdf_across_retention_property_changes(
    deltars: StorageEngine, uri: str
) -> None:
    """Checkpoints raise retention between syncs; that must not push plans onto full scans."""
    deltars.create_table(uri, SCHEMA, properties=CDF_ON)
    deltars.append(uri, rows(ids(0, 10)))
    deltars.set_properties(uri, {"delta.deletedFileRetentionDuration": "interval 30 days"})
    deltars.merge_upsert(uri, rows(ids(0, 2), deleted=ids(0, 2)), key="accountid")
    latest = deltars.state(uri).version
    diff = deltars.key_diff(uri, SHAPE, 1, latest, sample_size=100)
    assert diff.method == "change_data_feed"
    assert (diff.added, diff.removed, diff.changed) == (0, 0, 2)
    assert diff.state_changes == {"active->deleted": 2}
    deltars.set_properties(uri, {"recovery_platform.owner": "crm"})
    deltars.append(uri, rows(ids(10, 11)))
    other = deltars.key_diff(uri, SHAPE, 1, deltars.state(uri).version)
    assert other.method == "key_scan"
    assert (other.added, other.changed) == (1, 2)


def test_key_diff_without_cdf_scans(deltars: StorageEngine, uri: str) -> None:
    deltars.append(uri, rows(ids(0, 3)))
    deltars.append(uri, rows(ids(3, 4)))
    assert deltars.key_diff(uri, SHAPE, 0, 1).method == "key_scan"


def test_cdf_diff_nets_deletes_of_new_keys(deltars: StorageEngine, uri: str) -> None:
    deltars.create_table(uri, SCHEMA, properties=CDF_ON)
    deltars.append(uri, rows(ids(0, 5)))
    deltars.merge_upsert(uri, rows(["acc-0900", "acc-0001"], tag="-x"), key="accountid")
    DeltaTable(uri).delete("accountid = 'acc-0900' OR accountid = 'acc-0002'")
    diff = deltars.key_diff(uri, SHAPE, 1, 3, sample_size=100)
    assert diff.method == "change_data_feed"
    expected = independent_diff(deltars, uri, 1, 3)
    assert expected == {
        "added": [],
        "removed": ["acc-0002"],
        "changed": ["acc-0001"],
        "state_changes": {},
    }
    assert (diff.sample_added, diff.sample_removed, diff.sample_changed) == (
        (),
        ("acc-0002",),
        ("acc-0001",),
    )


def test_key_diff_across_vacuum_commits(deltars: StorageEngine, uri: str) -> None:
    deltars.create_table(uri, SCHEMA, properties=CDF_ON)
    deltars.append(uri, rows(ids(0, 5)))
    deltars.merge_upsert(uri, rows(ids(0, 2), deleted=ids(0, 2)), key="accountid")
    kept = deltars.state(uri).version
    deltars.append(uri, rows(ids(5, 7)))
    DeltaTable(uri).vacuum(
        retention_hours=0, dry_run=False, enforce_retention_duration=False, keep_versions=[kept]
    )
    latest = deltars.state(uri).version
    operations = [c.operation for c in deltars.history(uri, limit=latest - kept)]
    assert "VACUUM START" in operations and "VACUUM END" in operations
    for commit in deltars.history(uri, limit=2):
        assert not commit.data_change
    diff = deltars.key_diff(uri, SHAPE, kept, latest, sample_size=100)
    assert (diff.added, diff.removed, diff.changed) == (2, 0, 0)
    assert diff.sample_added == ("acc-0005", "acc-0006")
    back = deltars.key_diff(uri, SHAPE, latest, kept)
    assert (back.added, back.removed, back.changed) == (0, 2, 0)


def test_history_unpacks_user_metadata_written_by_another_engine(
    deltars: StorageEngine, uri: str
) -> None:
    packed = json.dumps({"recovery_platform.run_id": "spark-run"})
    write_deltalake(
        uri,
        rows(ids(0, 1)),
        commit_properties=CommitProperties(custom_metadata={"userMetadata": packed}),
    )
    assert deltars.history(uri)[0].user_metadata == {"recovery_platform.run_id": "spark-run"}


def test_reserved_commit_keys_are_refused(deltars: StorageEngine, uri: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        deltars.append(uri, rows(ids(0, 1)), commit_metadata={"operation": "x"})


def test_remembered_answers_never_outlive_the_table_they_describe(
    deltars: StorageEngine, uri: str
) -> None:
    """Counts and fingerprints are remembered per (location, table id, version) only."""
    import shutil

    deltars.append(uri, rows(ids(0, 5)))
    first_fingerprint = deltars.fingerprint(uri, SHAPE, 0)
    first_counts = deltars.row_counts(uri, SHAPE, 0)
    assert deltars.fingerprint(uri, SHAPE, 0) == first_fingerprint
    shutil.rmtree(uri)  # the same location now holds another table, again at version 0
    deltars.append(uri, rows(ids(0, 3), deleted=ids(0, 1)))
    assert deltars.fingerprint(uri, SHAPE, 0) != first_fingerprint
    recounted = deltars.row_counts(uri, SHAPE, 0)
    assert (recounted.total, recounted.deleted) == (3, 1)
    assert (first_counts.total, first_counts.deleted) == (5, 0)


def test_a_kept_latest_version_gives_way_to_any_later_commit(
    deltars: StorageEngine, uri: str
) -> None:
    """The latest snapshot is reused only while no commit followed it, whoever wrote that."""
    import shutil

    deltars.append(uri, rows(ids(0, 5)))
    assert deltars.state(uri).version == 0
    assert deltars.row_counts(uri, SHAPE).total == 5
    write_deltalake(uri, rows(ids(5, 7)), mode="append")  # another writer, another process
    assert deltars.state(uri).version == 1
    assert deltars.row_counts(uri, SHAPE).total == 7
    first_id = deltars.state(uri).table_id
    shutil.rmtree(uri)  # another table at the same location, at the same version number
    write_deltalake(uri, rows(ids(0, 1)), mode="append")
    write_deltalake(uri, rows(ids(1, 3)), mode="append")
    assert deltars.state(uri).version == 1
    assert deltars.state(uri).table_id != first_id
    assert deltars.row_counts(uri, SHAPE).total == 3
