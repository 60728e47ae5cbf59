"""An engine behaviour found by the domain tests, kept here until the engine suite adopts it.

`merge_upsert` is documented to update matching keys and insert the rest. With delta-rs 1.6.6 it
refuses a source whose Arrow schema marks a column nullable that the table declares NOT NULL,
even when the source holds no null: delta-rs validates the merge's outer-join projection (where
target-only rows carry nulls on the source side) against the table's NOT NULL invariants
(delta-io/delta-rs#4527, fixed upstream by #4617). The domain avoids it by always casting to the
declared schema; a caller that does not gets "Invalid data found: N rows failed validation".
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from recovery_platform.engine.deltars import DeltaRsEngine

STRICT = pa.schema(
    [
        pa.field("k", pa.string(), False),
        pa.field("v", pa.string()),
        pa.field("f", pa.bool_(), False),
    ]
)


@pytest.mark.xfail(
    strict=True,
    reason="delta-rs#4527: merge_upsert with merge_schema=True refuses a source that relaxes "
    "nullability; DeltaRsEngine.merge_upsert could cast the source to the table's fields",
)
def test_merge_upsert_accepts_a_source_with_relaxed_nullability_and_no_nulls(
    tmp_path: Path,
) -> None:
    engine = DeltaRsEngine()
    uri = str(tmp_path / "t")
    engine.create_table(uri, STRICT, properties={})
    engine.append(uri, pa.table({"k": ["a", "b"], "v": ["1", "2"], "f": [True, False]}, STRICT))
    relaxed = pa.table({"k": ["a", "c"], "v": ["9", "3"], "f": [False, True]})

    engine.merge_upsert(uri, relaxed, key="k")

    assert engine.read(uri).sort_by("k").to_pylist() == [
        {"k": "a", "v": "9", "f": False},
        {"k": "b", "v": "2", "f": False},
        {"k": "c", "v": "3", "f": True},
    ]
