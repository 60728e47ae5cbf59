"""Every kind of alert the platform raises: its severity, and where its runbook section is.

One table decides how loud each kind is, so producers name the kind and never pick a severity
themselves, the runbook and the notifiers agree, and a test keeps `docs/runbook_alerts.md` in
step with it. Severities are the seed's (CR-004): CRITICAL pages on-call, HIGH needs an admin
today, MEDIUM is reviewed this week, LOW goes to a digest.
"""

from __future__ import annotations

from dataclasses import dataclass

from recovery_platform.domain.lakehouse.vocabulary import AlertSeverity

__all__ = ["ALERT_KINDS", "AlertKind", "alert_kind"]


@dataclass(frozen=True)
class AlertKind:
    """How one kind of alert is raised and answered."""

    name: str
    severity: AlertSeverity
    meaning: str
    first_steps: str

    @property
    def anchor(self) -> str:
        """The kind's section in docs/runbook_alerts.md."""
        return self.name.lower()


def _kinds(*kinds: AlertKind) -> dict[str, AlertKind]:
    return {kind.name: kind for kind in kinds}


C, H, M, L = AlertSeverity.CRITICAL, AlertSeverity.HIGH, AlertSeverity.MEDIUM, AlertSeverity.LOW

ALERT_KINDS: dict[str, AlertKind] = _kinds(
    AlertKind("SyncFailed", C, "A table's daily sync failed; its bronze table was not updated.",
              "Read the error in SyncAuditLog for the run; fix the extract or the storage; "
              "re-run daily_sync_job for that date."),
    AlertKind("ValidationFailed", C, "A synced table broke a zero-tolerance invariant.",
              "Read DataValidation for the version; plan a rollback to the last validated "
              "checkpoint, or fix the source and re-sync."),
    AlertKind("SyncHeld", H, "The mass-deletion guard held a sync: nothing was written.",
              "Check the extract with the CRM owner; if the deletions are real, re-run with an "
              "approved override."),
    AlertKind("SyncRefused", H, "A sync was refused (duplicate keys in the extract): nothing "
              "was written.", "Fix the extract at the source and re-run the sync."),
    AlertKind("CheckpointFailed", M, "A synced, validated table got no Daily checkpoint today.",
              "Read the error; the next sync retries. Three days in a row raise "
              "CheckpointFailureStreak."),
    AlertKind("CheckpointFailureStreak", C, "A table's Daily checkpoint failed on 3 or more "
              "consecutive days: it has no fresh restore point.",
              "Fix the cause named per day; take a Manual checkpoint once it works."),
    AlertKind("RollbackValidationFailed", C, "A rollback's proof failed for a table.",
              "Read RollbackComparisonReports for the plan; undo with the PreRollback "
              "checkpoint if needed."),
    AlertKind("CheckpointUnrestorable", C, "The integrity check found a checkpoint that can no "
              "longer be restored.", "Read CheckpointIntegrity for the reasons; take a Manual "
              "checkpoint now; rollbacks use the recommended restorable checkpoint."),
    AlertKind("CheckpointDeactivationFailed", C, "An expired checkpoint could not be "
              "deactivated.", "Read the error; re-run maintenance_job with operations "
              "[retention]."),
    AlertKind("OptimizeChangedData", C, "An OPTIMIZE changed data; the table was restored to "
              "the version before it (or must be, by hand).",
              "Check the table's history; disable optimize for it until the engine is fixed."),
    AlertKind("PinnedVersionLost", C, "After a vacuum a version a checkpoint pins is no longer "
              "restorable.", "Stop maintenance of the table; run checkpoint_integrity_job; "
              "take a Manual checkpoint."),
    AlertKind("MaintenanceFailures", C, "More than three tables failed one maintenance run.",
              "Read reports/maintenance; the cause is usually shared (storage, engine)."),
    AlertKind("MaintenanceFailed", M, "One table's maintenance failed; the others went on.",
              "Read reports/maintenance and the table's Vacuum/Optimize audit rows."),
    AlertKind("VacuumSkipped", M, "Spark could not vacuum a table without deleting files a "
              "checkpoint needs.", "Let the checkpoints expire or vacuum on delta-rs."),
    AlertKind("RunFailed", C, "A run of one of the platform's jobs failed.",
              "Open the run in the Dagster UI; read its failure and the SyncAuditLog rows of "
              "the run; fix the cause and re-run the job."),
    AlertKind("AssetCheckFailed", H, "A check of a bronze table failed.",
              "Read the check's metadata in the UI and DataValidation; plan a rollback if the "
              "table's data is wrong."),
    AlertKind("BronzeStale", H, "A bronze table was not synced by its daily deadline.",
              "Check that the daily sync ran (schedule, daemon) and that the extract landed; "
              "launch daily_sync_job for the day."),
    AlertKind("TestAlert", M, "A test alert sent from send_test_alert_job.",
              "Nothing: it shows that delivery works."),
    AlertKind("RetentionBelowCheckpoints", H, "A table keeps less history than its active "
              "checkpoints need.", "Re-run a checkpoint of the table (it raises retention) "
              "or set its retention properties."),
)


def alert_kind(name: str) -> AlertKind:
    """The kind named `name`.

    Raises:
        ValueError: an unknown kind, naming the known ones (a producer must be declared here).
    """
    try:
        return ALERT_KINDS[name]
    except KeyError:
        raise ValueError(
            f"alert kind {name!r} is not declared in domain/alerting/kinds.py; known: "
            f"{', '.join(sorted(ALERT_KINDS))}"
        ) from None
