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
from recovery_platform.engine import StorageEngine
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


@pytest.mark.parametrize("engine_name", ENGINE_NAMES)
def test_pinned_versions_of_an_aged_log_survive_later_commits(
    tmp_path: Path, engine_name: str
) -> None:
    engine: StorageEngine = make_engine(engine_name)
    uri = str(tmp_path / "bronze_account")
    # a log checkpoint at every commit, so that every commit may clean up the log
    engine.create_table(uri, SCHEMA, properties={"delta.checkpointInterval": "1"})
    for start in (0, 5, 10):
        engine.append(uri, rows(ids(start, start + 5)))
    _age_log(uri, AGE_DAYS)
    engine = make_engine(engine_name)  # what a new run would see
    pinned = [engine.state(uri, version) for version in (1, 2, 3)]
    expected = {p.version: engine.read(uri, version=p.version).num_rows for p in pinned}

    # the checkpoint secures its retention (one commit if anything must change) ...
    retention_date = (datetime.now(UTC) + timedelta(days=CHECKPOINT_DAYS)).date()
    days = max(days_to_keep(p.timestamp, retention_date) for p in pinned)
    changes = required_changes(engine.get_properties(uri), days)
    if changes:
        engine.set_properties(uri, changes)
    # ... and later commits follow: a sync, a restore, another sync
    engine.append(uri, rows(ids(15, 20)))
    engine.restore(uri, 2, commit_metadata={"why": "test"})
    engine.append(uri, rows(ids(20, 25)))

    fresh = make_engine(engine_name)
    for pin in pinned:
        assert fresh.read(uri, version=pin.version).num_rows == expected[pin.version]
        answer = fresh.is_restorable(uri, pin.version, pin.table_id)
        assert answer.restorable, answer.reason
    assert (Path(uri) / "_delta_log" / f"{1:020d}.json").exists()
