"""`clean_up_log`: expired log entries go, by the table's own log retention, and nothing else."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from recovery_platform.engine.errors import VersionNotAvailableError
from recovery_platform_tests.engine.broken import log_fingerprint
from recovery_platform_tests.engine.bronze import SCHEMA, ids, rows
from recovery_platform_tests.engines import make_engine


def _aged_table(uri: str, properties: dict[str, str]) -> None:
    engine = make_engine("deltars")
    engine.create_table(uri, SCHEMA, properties=properties)
    for start in range(0, 25, 5):
        engine.append(uri, rows(ids(start, start + 5)))
    DeltaTable(uri).create_checkpoint()
    then = time.time() - 60 * 86_400
    for path in (Path(uri) / "_delta_log").iterdir():
        if path.is_file():
            os.utime(path, (then, then))


def test_deltars_deletes_log_entries_older_than_the_retention(tmp_path: Path) -> None:
    uri = str(tmp_path / "bronze_account")
    _aged_table(uri, {})
    engine = make_engine("deltars")
    engine.clean_up_log(uri)
    assert not (Path(uri) / "_delta_log" / f"{0:020d}.json").exists()
    with pytest.raises(VersionNotAvailableError, match="no longer in the table's log"):
        make_engine("deltars").read(uri, version=1)
    assert make_engine("deltars").read(uri).num_rows == 25


def test_a_retention_that_covers_the_entries_keeps_them(tmp_path: Path) -> None:
    uri = str(tmp_path / "bronze_account")
    _aged_table(uri, {"delta.logRetentionDuration": "interval 90 days"})
    before = log_fingerprint(uri)
    make_engine("deltars").clean_up_log(uri)
    assert log_fingerprint(uri) == before
    assert make_engine("deltars").read(uri, version=1).num_rows == 5


def test_spark_leaves_cleanup_to_its_own_log_checkpoints(tmp_path: Path) -> None:
    uri = str(tmp_path / "bronze_account")
    _aged_table(uri, {})
    before = log_fingerprint(uri)
    make_engine("spark").clean_up_log(uri)
    assert log_fingerprint(uri) == before
