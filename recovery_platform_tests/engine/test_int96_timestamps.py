"""Legacy INT96 timestamps outside the nanosecond range: read exactly, never rewritten wrongly.

Spark and Hive long wrote timestamps as Parquet INT96. Read as nanoseconds (pyarrow's default),
a year-9999 value overflows; delta-rs's OPTIMIZE rewrites such values as other instants. Reads
must return the stored instants, and OPTIMIZE must be refused until it can rewrite them exactly.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import convert_to_deltalake

from recovery_platform.engine import StorageEngine, TableShape
from recovery_platform.engine.errors import UnrepresentableValuesError
from recovery_platform_tests.engine.broken import log_fingerprint

INSTANTS = [datetime(9999, 12, 31, 23, 59, 59), datetime(2024, 1, 1), datetime(1500, 6, 1)]


def int96_table(folder: Path) -> str:
    """A Delta table whose only data file stores `LastSynced` as INT96 (converted Parquet)."""
    folder.mkdir()
    data = pa.table({"accountid": ["a", "b", "c"],
                     "LastSynced": pa.array(INSTANTS, pa.timestamp("us"))})
    pq.write_table(data, folder / "part-0.parquet", use_deprecated_int96_timestamps=True)
    convert_to_deltalake(str(folder))
    return str(folder)


def test_int96_timestamps_read_as_stored(engine: StorageEngine, tmp_path: Path) -> None:
    uri = int96_table(tmp_path / "legacy")
    table = engine.read(uri, columns=["accountid", "LastSynced"]).sort_by("accountid")
    values = [v.replace(tzinfo=None) for v in table.column("LastSynced").to_pylist()]
    assert values == INSTANTS
    assert engine.row_counts(uri, TableShape(key="accountid")).total == 3


def test_optimize_refuses_int96_timestamps_on_deltars(tmp_path: Path) -> None:
    from recovery_platform_tests.engines import make_engine

    engine = make_engine("deltars")
    uri = int96_table(tmp_path / "legacy")
    engine.append(uri, engine.read(uri).slice(0, 1))  # a second small file to compact
    before = log_fingerprint(uri)
    with pytest.raises(UnrepresentableValuesError, match="INT96") as raised:
        engine.optimize(uri)
    assert uri in str(raised.value)
    assert log_fingerprint(uri) == before
    assert engine.fingerprint(uri, TableShape(key="accountid")) == engine.fingerprint(
        uri, TableShape(key="accountid"), version=1
    )
