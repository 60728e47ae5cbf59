"""No commit of ours makes a pinned version unrestorable, however old its log entries are.

Delta removes log entries by the age of their files when a commit writes a log checkpoint. A
table whose log has aged past the default 30 days, pinned by a checkpoint and then written to
(the checkpoint's own retention commit, a sync, a restore), must still load every pinned version.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recovery_platform.domain.checkpoints.retention import days_to_keep, required_changes
from recovery_platform.engine import StorageEngine, TableState
from recovery_platform.engine.errors import CommitRefusedError
from recovery_platform_tests.engine.bronze import SCHEMA, ids, rows
from recovery_platform_tests.engines import ENGINE_NAMES, make_engine

AGE_DAYS = 60
CHECKPOINT_DAYS = 7


def _age_log(uri: str, days: int) -> None:
    """Make every log file look `days` old, as on a table nobody wrote to for that long."""
    then = time.time() - days * 86_400
    for path in (Path(uri) / "_delta_log").rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def _aged_table_with_pins(engine_name: str, uri: str) -> tuple[StorageEngine, list[TableState]]:
    """Versions 1-3 of a table whose log is 60 days old, pinned for 7 days and secured.

    Returns a fresh engine and the pinned versions' states.
    """
    engine = make_engine(engine_name)
    # a log checkpoint at every other commit, so that most commits may clean up the log
    engine.create_table(uri, SCHEMA, properties={"delta.checkpointInterval": "2"})
    for start in (0, 5, 10):
        engine.append(uri, rows(ids(start, start + 5)))
    _age_log(uri, AGE_DAYS)
    engine = make_engine(engine_name)  # what a new run would see
    pinned = [engine.state(uri, version) for version in (1, 2, 3)]
    # the checkpoint secures its retention (one commit if anything must change)
    retention_date = (datetime.now(UTC) + timedelta(days=CHECKPOINT_DAYS)).date()
    days = max(days_to_keep(p.timestamp, retention_date) for p in pinned)
    changes = required_changes(engine.get_properties(uri), days)
    if changes:
        engine.set_properties(uri, changes)
    return engine, pinned


def _assert_pins_load(engine_name: str, uri: str, pinned: list[TableState],
                      expected: dict[int, int]) -> None:
    fresh = make_engine(engine_name)
    for pin in pinned:
        assert fresh.read(uri, version=pin.version).num_rows == expected[pin.version]
        answer = fresh.is_restorable(uri, pin.version, pin.table_id)
        assert answer.restorable, answer.reason
    assert (Path(uri) / "_delta_log" / f"{1:020d}.json").exists()


@pytest.mark.parametrize("engine_name", ENGINE_NAMES)
def test_pinned_versions_of_an_aged_log_survive_later_commits(
    tmp_path: Path, engine_name: str
) -> None:
    uri = str(tmp_path / "bronze_account")
    engine, pinned = _aged_table_with_pins(engine_name, uri)
    # (Spark refuses to time-travel past the file retention, so the pins are read only now)
    expected = {p.version: engine.read(uri, version=p.version).num_rows for p in pinned}
    for start in (15, 20, 25):  # three syncs, each possibly a log checkpoint
        engine.append(uri, rows(ids(start, start + 5)))
    _assert_pins_load(engine_name, uri, pinned, expected)


@pytest.mark.parametrize("engine_name", ENGINE_NAMES)
def test_pinned_versions_of_an_aged_log_survive_restores(tmp_path: Path, engine_name: str) -> None:
    """A restore keeps the log and the raised retention, whatever the target version had.

    The version that raised the retention has it. Version 2 has Delta's default 30 days: Spark's
    RESTORE would bring it back and clean up the 60-day-old log in its own commit, so Spark
    refuses that restore (writing nothing); delta-rs never cleans up on commit.
    """
    uri = str(tmp_path / "bronze_account")
    engine, pinned = _aged_table_with_pins(engine_name, uri)
    secured, secured_at = engine.get_properties(uri), engine.state(uri).version
    expected = {p.version: engine.read(uri, version=p.version).num_rows for p in pinned}
    engine.append(uri, rows(ids(15, 20)))
    assert not engine.restore(uri, secured_at, commit_metadata={"why": "test"}).noop
    engine.append(uri, rows(ids(20, 25)))
    if engine_name == "spark":
        log = sorted(p.name for p in (Path(uri) / "_delta_log").iterdir())
        with pytest.raises(CommitRefusedError, match=r"versions 0-3: .*Nothing was written"):
            engine.restore(uri, 2, commit_metadata={"why": "test"})
        assert sorted(p.name for p in (Path(uri) / "_delta_log").iterdir()) == log
    else:
        engine.restore(uri, 2, commit_metadata={"why": "test"})
        assert engine.read(uri).num_rows == expected[2]
    after = engine.get_properties(uri)
    for key in ("delta.logRetentionDuration", "delta.deletedFileRetentionDuration"):
        assert after.get(key) == secured.get(key), key
    engine.append(uri, rows(ids(25, 30)))
    _assert_pins_load(engine_name, uri, pinned, expected)
