"""Rows a table's own rules refuse are a refused commit, never a damaged table or a conflict."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from recovery_platform.engine.errors import CommitRefusedError
from recovery_platform_tests.engine.broken import log_fingerprint
from recovery_platform_tests.engines import make_engine

ROWS = pa.table({"id": pa.array([1, 2], pa.int64()), "v": pa.array([1, 2], pa.int64())})


@pytest.mark.parametrize("write", ["append", "update_where", "merge_upsert"])
def test_rows_breaking_a_check_constraint_are_refused_and_nothing_is_written(
    tmp_path: Path, write: str
) -> None:
    uri = str(tmp_path / "constrained")
    engine = make_engine("deltars")
    engine.create_table(uri, ROWS.schema, properties={})
    engine.append(uri, ROWS)
    DeltaTable(uri).alter.add_constraint({"positive_v": "v > 0"})
    before = log_fingerprint(uri)
    bad = pa.table({"id": pa.array([1], pa.int64()), "v": pa.array([-1], pa.int64())})
    calls = {
        "append": lambda: engine.append(uri, bad),
        "update_where": lambda: engine.update_where(uri, equals={"id": 1}, values={"v": -5}),
        "merge_upsert": lambda: engine.merge_upsert(uri, bad, key="id"),
    }
    with pytest.raises(CommitRefusedError, match=r"refused the commit.*failed validation"):
        calls[write]()
    assert log_fingerprint(uri) == before
