"""Spark's VACUUM cannot spare single files: with kept versions it runs only when harmless.

delta-rs vacuums around kept versions (capability `vacuum_keep_versions`); Spark cannot, so the
Spark engine refuses, with `KeptFilesError` and nothing deleted, a vacuum whose dry run lists a
file a kept version needs. To get files old enough for a seven-day vacuum, the test backdates an
OPTIMIZE's remove actions and the removed files, as if it had run ten days ago.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from recovery_platform.engine import KeptFilesError
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform.engine.spark import SparkEngine
from recovery_platform_tests.engine.bronze import ids, rows
from recovery_platform_tests.spark_support import shared_spark_session

pytestmark = pytest.mark.spark

TEN_DAYS = 10 * 24 * 3600


def backdate_removes(uri: str, version: int, seconds: float) -> list[Path]:
    """Make a commit's removed files look `seconds` old, in the log and on disk."""
    then = time.time() - seconds
    log = Path(uri) / "_delta_log" / f"{version:020d}.json"
    actions, removed = [], []
    for line in log.read_text().splitlines():
        action = json.loads(line)
        if "remove" in action:
            action["remove"]["deletionTimestamp"] = int(then * 1000)
            removed.append(Path(uri) / unquote(action["remove"]["path"]))
            os.utime(removed[-1], (then, then))
        actions.append(json.dumps(action))
    log.write_text("\n".join(actions) + "\n")
    return removed


def test_a_vacuum_that_would_delete_a_kept_versions_files_is_refused(tmp_path: Path) -> None:
    uri = str(tmp_path / "account")
    writer = DeltaRsEngine()
    for start in range(0, 20, 5):
        writer.append(uri, rows(ids(start, start + 5)))
    optimized = writer.optimize(uri)
    old_files = backdate_removes(uri, optimized.version, TEN_DAYS)
    assert len(old_files) == 4
    spark = SparkEngine(shared_spark_session())

    dry = spark.vacuum(uri, retention_hours=168, dry_run=True)
    assert sorted(dry.files) == sorted(p.name for p in old_files)
    with pytest.raises(KeptFilesError, match="4 file"):
        spark.vacuum(uri, retention_hours=168, dry_run=False, keep_versions=[3, optimized.version])
    assert all(p.exists() for p in old_files)
    assert spark.read(uri, version=3).num_rows == 20

    done = spark.vacuum(uri, retention_hours=168, dry_run=False, keep_versions=[optimized.version])
    assert sorted(done.files) == sorted(p.name for p in old_files)
    assert not any(p.exists() for p in old_files)
    assert spark.read(uri).num_rows == 20
