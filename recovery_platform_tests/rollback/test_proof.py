"""What a rollback's proof compares: counts, the record-state fingerprint, and every column."""

from __future__ import annotations

from deltalake import DeltaTable

from recovery_platform.domain.rollback_validation import (
    ALL_COLUMNS_METRIC,
    IDENTICAL,
    RestoredTableCheck,
    check_restored_table,
)
from recovery_platform_tests.rollback.lab import Lab


def _metric(check: RestoredTableCheck, name: str) -> str:
    return next(m.after for m in check.metrics if m.name == name)


def test_a_restore_to_the_checkpoints_files_is_proven_from_the_log(lab: Lab) -> None:
    target = lab.batch(-2)
    pin = target.pin("contact")
    lab.engine.restore(lab.uri("contact"), pin.version, commit_metadata={})
    files = lab.engine.storage_delta(lab.uri("contact"), pin.version,
                                     lab.engine.state(lab.uri("contact")).version)
    assert (files.files_added, files.files_removed) == (0, 0)

    check = check_restored_table(lab.house, pin, lab.batch(-1).pin("contact"))

    assert check.passed, check.failures
    assert _metric(check, ALL_COLUMNS_METRIC) == IDENTICAL
    assert _metric(check, "fingerprint") == f"{pin.fingerprint:016x}"


def test_other_files_with_the_same_rows_are_compared_column_by_column(lab: Lab) -> None:
    pin = lab.batch(-1).pin("contact")
    uri = lab.uri("contact")
    lab.engine.overwrite(uri, lab.engine.read(uri))  # same rows, new data files
    files = lab.engine.storage_delta(uri, pin.version, lab.engine.state(uri).version)
    assert files.files_added > 0 and files.files_removed > 0

    check = check_restored_table(lab.house, pin, pin)

    assert check.passed, check.failures
    assert _metric(check, ALL_COLUMNS_METRIC) == IDENTICAL


def test_a_column_the_fingerprint_does_not_cover_still_fails_the_proof(lab: Lab) -> None:
    """An edit that stamps no LastSynced keeps counts and fingerprint; the files tell it."""
    pin = lab.batch(-1).pin("contact")
    uri = lab.uri("contact")
    key = DeltaTable(uri).to_pyarrow_table(columns=["contactid"]).column(0)[0].as_py()
    lab.engine.update_where(uri, equals={"contactid": key}, values={"fullname": "Typo"})

    check = check_restored_table(lab.house, pin, pin)

    assert _metric(check, "fingerprint") == f"{pin.fingerprint:016x}"
    assert _metric(check, "total") == str(pin.counts.total)
    assert not check.passed
    assert _metric(check, ALL_COLUMNS_METRIC).startswith("different rows (1 data files added")
    assert any(f.startswith(f"{ALL_COLUMNS_METRIC}: expected {IDENTICAL}")
               for f in check.failures)
