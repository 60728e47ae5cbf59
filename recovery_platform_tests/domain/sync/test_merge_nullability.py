"""A merge whose source relaxes NOT NULL declarations still lands (found by the domain tests).

`merge_upsert` is documented to update matching keys and insert the rest. With delta-rs 1.6.6 it
refuses a source whose Arrow schema marks a column nullable that the table declares NOT NULL,
even when the source holds no null: delta-rs validates the merge's outer-join projection (where
target-only rows carry nulls on the source side) against the table's NOT NULL invariants
(delta-io/delta-rs#4527, fixed upstream by #4617). DeltaRsEngine.merge_upsert casts the source to
the table's fields before merging, so callers never meet it.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from recovery_platform.engine.deltars import DeltaRsEngine

STRICT = pa.schema(
    [
        pa.field("k", pa.string(), False),
        pa.field("v", pa.string()),
        pa.field("f", pa.bool_(), False),
    ]
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
