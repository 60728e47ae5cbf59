"""Row comparison: the diffs' notion of a changed record must be the fingerprint's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from recovery_platform.engine.fingerprint import row_hashes
from recovery_platform.engine.row_compare import rows_differ


def differ(left: pa.Array, right: pa.Array) -> list[bool]:
    return rows_differ(pa.table({"v": left}), pa.table({"v": right}), ["v"]).tolist()


def hashes_differ(left: pa.Array, right: pa.Array) -> list[bool]:
    return (row_hashes(pa.table({"v": left})) != row_hashes(pa.table({"v": right}))).tolist()


CASES = [
    pytest.param(pa.array([1.0, float("nan"), -0.0, None, None, 2.0]),
                 pa.array([1.0, float("nan"), 0.0, None, 3.0, float("nan")]),
                 [False, False, False, False, True, True], id="floats: NaN, -0.0, nulls"),
    pytest.param(pa.array([1, 2, None], pa.int32()), pa.array([1, 3, None], pa.int64()),
                 [False, True, False], id="integer widths"),
    pytest.param(pa.array(["a", "b", None, "d"]),
                 pa.array(["a", "B", "c", None], pa.large_string()),
                 [False, True, True, True], id="string layouts"),
    pytest.param(pa.array(["x", "y"]).dictionary_encode(), pa.array(["x", "z"]),
                 [False, True], id="dictionary-encoded"),
    pytest.param(pa.array([datetime(2026, 1, 1, 12, tzinfo=UTC)] * 2, pa.timestamp("ms", "UTC")),
                 pa.array([datetime(2026, 1, 1, 12), datetime(2026, 1, 1, 13)],
                          pa.timestamp("us")),
                 [False, True], id="timestamp units and zones"),
    pytest.param(pa.array([date(2026, 1, 1), date(2026, 1, 2)], pa.date32()),
                 pa.array([date(2026, 1, 1), date(2026, 1, 3)], pa.date64()),
                 [False, True], id="date layouts"),
    pytest.param(pa.array([1, 2]), pa.array(["1", "2"]), [True, True],
                 id="different type families"),
    pytest.param(pa.array([Decimal("1.50"), Decimal("2.00")], pa.decimal128(5, 2)),
                 pa.array([Decimal("1.50"), Decimal("2.01")], pa.decimal128(5, 2)),
                 [False, True], id="decimals"),
    pytest.param(pa.array([[1, 2], [3], None]), pa.array([[1, 2], [4], None]),
                 [False, True, False], id="nested values"),
    pytest.param(pa.array([True, False, None]), pa.array([True, True, False]),
                 [False, True, True], id="booleans"),
]


@pytest.mark.parametrize(("left", "right", "expected"), CASES)
def test_values_compare_as_the_fingerprint_hashes_them(
    left: pa.Array, right: pa.Array, expected: list[bool]
) -> None:
    assert differ(left, right) == expected
    assert hashes_differ(left, right) == expected


def test_a_column_one_side_lacks_reads_as_null() -> None:
    left = pa.table({"k": ["a", "b"], "extra": pa.array([None, 5], pa.int64())})
    right = pa.table({"k": ["a", "b"]})
    assert rows_differ(left, right, ["k", "extra"]).tolist() == [False, True]
    assert rows_differ(right, left, ["k", "extra"]).tolist() == [False, True]


def test_any_differing_column_marks_the_row_and_chunking_does_not_matter() -> None:
    rng = np.random.default_rng(7)
    n = 1_000
    left = pa.table({"k": [f"k{i}" for i in range(n)], "x": rng.integers(0, 5, n),
                     "y": rng.random(n)})
    right = left.set_column(1, "x", pa.array(np.where(np.arange(n) % 7 == 0, -1, left["x"])))
    chunked = pa.concat_tables([right.slice(0, 300), right.slice(300)])
    expected = (np.arange(n) % 7 == 0) & (left["x"].to_numpy() != -1)
    assert rows_differ(left, chunked, ["k", "x", "y"]).tolist() == expected.tolist()
    assert rows_differ(left, chunked, ["k", "y"]).sum() == 0


def test_unequal_row_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot pair 2 rows with 1"):
        rows_differ(pa.table({"v": [1, 2]}), pa.table({"v": [1]}), ["v"])

