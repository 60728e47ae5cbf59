"""The all-column proof of a rewrite: a changed non-key value is caught and undone at once.

No real OPTIMIZE can be made to lie, so the rewrite is swapped for one that commits the table's
rows with one city changed (a real commit through the engine): the record-state fingerprint
(key and tracking columns) cannot see it, the all-column proof must.
"""

from __future__ import annotations

import pyarrow as pa

from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.vocabulary import AuditStatus
from recovery_platform.engine import (
    COMMIT_METADATA_PREFIX,
    WHOLE_ROWS,
    OptimizeResult,
    StorageEngine,
)
from recovery_platform_tests.domain.maintenance.scenario import maintain, rows
from recovery_platform_tests.domain.site import Site

TABLE = "account"


def rewrite_changing_a_city(engine: StorageEngine, uri: str, zorder: tuple[str, ...]
                            ) -> OptimizeResult:
    data = engine.read(uri)
    cities = data.column("city").to_pylist()
    cities[0] = f"{cities[0]} (rewritten)"
    index = data.schema.get_field_index("city")
    changed = data.set_column(index, data.schema.field(index), pa.array(cities, pa.string()))
    version = engine.overwrite(uri, changed)
    return OptimizeResult(version=version, files_added=1, files_removed=1)


def test_a_rewrite_that_changes_a_value_is_restored_and_fails_the_table(site: Site) -> None:
    engine = site.lakehouse.engine
    uri = site.lakehouse.bronze_uri(TABLE)
    shape = site.lakehouse.config.table(TABLE).shape
    before = engine.state(uri).version
    whole, record_state = engine.fingerprint(uri, WHOLE_ROWS), engine.fingerprint(uri, shape)

    summary, run_id = maintain(site, tables=[TABLE], operations=["optimize"], dry_run=False,
                               rewrite=rewrite_changing_a_city)

    assert list(summary.failures) == [TABLE]
    outcome = summary.tables[0].optimize
    assert outcome is not None and outcome.proof is not None and not outcome.proof.holds
    # the record-state fingerprint could not have seen it
    assert engine.fingerprint(uri, shape, outcome.proof.version_after) == record_state
    fingerprints = (f"{outcome.proof.fingerprint_before:016x}",
                    f"{outcome.proof.fingerprint_after:016x}")
    assert all(f in summary.failures[TABLE] for f in fingerprints)
    restore = engine.history(uri, limit=1)[0]
    assert restore.operation == "RESTORE"
    assert restore.user_metadata[f"{COMMIT_METADATA_PREFIX}operation"] == "OptimizeProofFailed"
    assert outcome.restored_to == outcome.proof.version_before > before  # after the checkpoint
    assert engine.fingerprint(uri, WHOLE_ROWS) == whole
    step = rows(site.store, MetadataTable.SyncAuditLog, PipelineRunId=run_id,
                OperationType="Optimize")[0]
    assert step["Status"] == AuditStatus.Failed.value
    assert all(f in step["ErrorMessage"] for f in fingerprints)
    alerts = {(a["Severity"], a["AlertType"]) for a in
              rows(site.store, MetadataTable.Alerts, PipelineRunId=run_id)}
    assert ("CRITICAL", "OptimizeChangedData") in alerts
    assert ("CRITICAL", "MaintenanceFailures") not in alerts  # one failure is not systemic


def test_a_real_optimize_passes_the_proof(site: Site) -> None:
    engine = site.lakehouse.engine
    uri = site.lakehouse.bronze_uri(TABLE)
    whole = engine.fingerprint(uri, WHOLE_ROWS)
    summary, _ = maintain(site, tables=[TABLE], operations=["optimize"], dry_run=False)
    outcome = summary.tables[0].optimize
    assert summary.successes == (TABLE,)
    assert outcome is not None and outcome.proof is not None and outcome.proof.holds
    assert engine.history(uri, limit=1)[0].operation == "OPTIMIZE"
    assert engine.fingerprint(uri, WHOLE_ROWS) == whole
