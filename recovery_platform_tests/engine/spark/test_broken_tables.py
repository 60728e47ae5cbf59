"""A representative subset of engine operations on damaged tables, on Spark.

The same damages as the delta-rs suite (`engine/broken.py`); Spark must answer with the seam's
errors naming the table, and leave `_delta_log` as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recovery_platform.engine import EngineError, Restorability
from recovery_platform_tests.engine.broken import (
    DAMAGES,
    OPERATIONS,
    build,
    log_fingerprint,
    source_file,
)
from recovery_platform_tests.engines import make_engine

pytestmark = pytest.mark.spark

SUBSET = ("read", "restore", "is_restorable")
SPARK_DAMAGES = ("log entry deleted", "unreadable Parquet")
"""A log damage and a data damage (the other two fail the same Spark paths)."""


@pytest.mark.parametrize("damage", SPARK_DAMAGES)
def test_damaged_tables_raise_only_engine_errors_on_spark(tmp_path: Path, damage: str) -> None:
    uri = str(tmp_path / "bronze_account")
    table_id = build(make_engine("deltars"), uri)
    extract = source_file(tmp_path)
    DAMAGES[damage](uri)
    before = log_fingerprint(uri)
    engine = make_engine("spark")
    outcomes = {}
    for operation in SUBSET:
        try:
            result = OPERATIONS[operation](engine, uri, table_id, extract)
        except EngineError as exc:
            assert uri in str(exc), (operation, str(exc))
            outcomes[operation] = type(exc).__name__
            continue
        if isinstance(result, Restorability):
            outcomes[operation] = "restorable" if result.restorable else "not restorable"
        else:
            outcomes[operation] = "answered"
    assert log_fingerprint(uri) == before, outcomes
    if damage == "log entry deleted":
        assert outcomes["read"] != "answered", outcomes
        assert outcomes["is_restorable"] == "not restorable", outcomes
    else:
        assert outcomes["read"] != "answered", outcomes
