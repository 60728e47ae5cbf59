"""What a rollback's proof compares: counts, the record-state fingerprint, every column, and
the invariants, relations included unless the checkpoint already checked this exact state."""

from __future__ import annotations

from dataclasses import replace

import pyarrow.compute as pc
from deltalake import DeltaTable

from recovery_platform.domain.checkpoints.history import Checkpoint
from recovery_platform.domain.lakehouse.vocabulary import CheckpointType
from recovery_platform.domain.rollback.proof import (
    ALL_COLUMNS_METRIC,
    IDENTICAL,
    RestoredTableCheck,
    check_restored_table,
)
from recovery_platform_tests.domain.rollback.lab import Lab


def _metric(check: RestoredTableCheck, name: str) -> str:
    return next(m.after for m in check.metrics if m.name == name)


def _prove(lab: Lab, target: Checkpoint, table: str) -> RestoredTableCheck:
    return check_restored_table(lab.house, target, table, lab.batch(-1).pin(table))


def test_a_restore_to_the_checkpoints_files_is_proven_from_the_log(lab: Lab) -> None:
    target = lab.batch(-2)
    pin = target.pin("contact")
    lab.engine.restore(lab.uri("contact"), pin.version, commit_metadata={})
    files = lab.engine.storage_delta(lab.uri("contact"), pin.version,
                                     lab.engine.state(lab.uri("contact")).version)
    assert (files.files_added, files.files_removed) == (0, 0)

    check = _prove(lab, target, "contact")

    assert check.passed, check.failures
    assert _metric(check, ALL_COLUMNS_METRIC) == IDENTICAL
    assert _metric(check, "fingerprint") == f"{pin.fingerprint:016x}"


def test_on_the_checkpoints_files_the_counts_are_still_recounted(lab: Lab) -> None:
    """Same data files vouch for the content; the counts are read back, never copied."""
    target = lab.batch(-1)
    pin = target.pin("contact")
    off_by_one = replace(pin, counts=replace(pin.counts, active=pin.counts.active + 1))
    forged = replace(target, tables=tuple(off_by_one if p.table == "contact" else p
                                          for p in target.tables))

    check = _prove(lab, forged, "contact")

    assert check.same_files
    assert not check.passed
    assert f"active: expected {pin.counts.active + 1}, found {pin.counts.active}" in check.failures


def test_other_files_with_the_same_rows_are_compared_column_by_column(lab: Lab) -> None:
    target = lab.batch(-1)
    pin = target.pin("contact")
    uri = lab.uri("contact")
    lab.engine.overwrite(uri, lab.engine.read(uri))  # same rows, new data files
    files = lab.engine.storage_delta(uri, pin.version, lab.engine.state(uri).version)
    assert files.files_added > 0 and files.files_removed > 0

    check = _prove(lab, target, "contact")

    assert check.passed, check.failures
    assert _metric(check, ALL_COLUMNS_METRIC) == IDENTICAL


def test_a_column_the_fingerprint_does_not_cover_still_fails_the_proof(lab: Lab) -> None:
    """An edit that stamps no LastSynced keeps counts and fingerprint; the files tell it."""
    target = lab.batch(-1)
    pin = target.pin("contact")
    uri = lab.uri("contact")
    key = DeltaTable(uri).to_pyarrow_table(columns=["contactid"]).column(0)[0].as_py()
    lab.engine.update_where(uri, equals={"contactid": key}, values={"fullname": "Typo"})

    check = _prove(lab, target, "contact")

    assert _metric(check, "fingerprint") == f"{pin.fingerprint:016x}"
    assert _metric(check, "total") == str(pin.counts.total)
    assert not check.passed
    assert _metric(check, ALL_COLUMNS_METRIC).startswith("different rows (1 data files added")
    assert any(f.startswith(f"{ALL_COLUMNS_METRIC}: expected {IDENTICAL}")
               for f in check.failures)


def test_relations_the_checkpoint_checked_on_these_files_are_not_counted_again(
    lab: Lab,
) -> None:
    target = lab.batch(-1)
    assert target.checkpoint_type is CheckpointType.DailyBatch

    check = _prove(lab, target, "donation")

    assert check.passed, check.failures
    assert check.relations.startswith(
        f"as validated for checkpoint {target.name}: donation and the tables it references")


def test_relations_are_counted_when_a_parent_holds_other_files(lab: Lab) -> None:
    """A parent that lost rows since the checkpoint (and is not restored) orphans children."""
    target = lab.batch(-1)
    accounts = lab.engine.read(lab.uri("account"))
    contacts = lab.engine.read(lab.uri("contact"), columns=["parentcustomerid"])
    referenced = pc.unique(pc.drop_null(contacts.column(0)))
    gone = referenced.slice(0, 5)
    kept = accounts.filter(pc.invert(pc.is_in(accounts.column("accountid"), value_set=gone)))
    lab.engine.overwrite(lab.uri("account"), kept)
    orphans = pc.sum(pc.is_in(contacts.column(0), value_set=gone)).as_py()

    check = _prove(lab, target, "contact")

    assert not check.passed
    assert check.relations == f"parentcustomerid -> account: {orphans} orphans"
    assert any(f.startswith("referential_integrity:") and "orphans" in f
               for f in check.failures), check.failures


def test_relations_are_counted_for_a_checkpoint_that_never_checked_them(lab: Lab) -> None:
    """A PreRollback checkpoint pins versions without running the invariants."""
    pre = replace(lab.batch(-1), checkpoint_type=CheckpointType.PreRollback)  # same pins

    check = _prove(lab, pre, "donation")

    assert check.passed, check.failures
    assert check.relations == "no orphans"
