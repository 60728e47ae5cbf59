from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pyarrow as pa

from recovery_platform.engine import StorageEngine, TableShape
from recovery_platform.engine.fingerprint import (
    EMPTY_FINGERPRINT,
    combine,
    fingerprint_batches,
    row_hashes,
)
from recovery_platform_tests.engine.bronze import SHAPE, ids, rows


def fp(table: pa.Table) -> int:
    return fingerprint_batches(table.to_batches())


def sample() -> pa.Table:
    return pa.table(
        {
            "id": ["a", "b", "c", None, ""],
            "n": pa.array([1, 2, None, 4, 0], type=pa.int64()),
            "x": [0.5, -0.0, float("nan"), 2.0, None],
            "flag": [True, False, None, True, False],
            "ts": pa.array(
                [datetime(2024, 1, 1, tzinfo=UTC)] * 4 + [None], type=pa.timestamp("us", "UTC")
            ),
        }
    )


def test_row_hashes_are_uint64_one_per_row() -> None:
    hashes = row_hashes(sample())
    assert hashes.dtype == np.uint64
    assert len(hashes) == 5
    assert len(set(hashes.tolist())) == 5


def test_fingerprint_is_in_range_and_empty_is_zero() -> None:
    value = fp(sample())
    assert 0 <= value < 2**64
    assert fingerprint_batches([]) == EMPTY_FINGERPRINT == 0
    assert fp(sample().slice(0, 0)) == EMPTY_FINGERPRINT


def test_row_order_does_not_matter() -> None:
    table = sample()
    shuffled = table.take(pa.array([3, 0, 4, 2, 1]))
    assert fp(shuffled) == fp(table)


def test_column_order_does_not_matter() -> None:
    table = sample()
    assert fp(table.select(list(reversed(table.column_names)))) == fp(table)


def test_batch_splitting_does_not_matter() -> None:
    table = pa.concat_tables([sample()] * 7)
    whole = fingerprint_batches(table.combine_chunks().to_batches())
    assert fingerprint_batches(table.to_batches(max_chunksize=3)) == whole
    assert fingerprint_batches(table.to_batches(max_chunksize=1)) == whole


def test_combine_adds_disjoint_row_sets() -> None:
    table = sample()
    first, second = fp(table.slice(0, 2)), fp(table.slice(2))
    assert combine(first, second) == fp(table)
    assert combine(2**64 - 1, 2) == 1


def test_changing_one_value_changes_it() -> None:
    table = sample()
    base = fp(table)
    changed = table.set_column(1, "n", pa.array([1, 2, None, 5, 0], type=pa.int64()))
    assert fp(changed) != base
    renamed = table.rename_columns(["id", "m", "x", "flag", "ts"])
    assert fp(renamed) != base


def test_swapping_values_between_columns_changes_it() -> None:
    a = pa.table({"p": ["x"], "q": ["y"]})
    b = pa.table({"p": ["y"], "q": ["x"]})
    assert fp(a) != fp(b)


def test_null_empty_string_and_zero_differ() -> None:
    as_null = fp(pa.table({"v": pa.array([None], type=pa.string())}))
    as_empty = fp(pa.table({"v": [""]}))
    as_zero = fp(pa.table({"v": [0]}))
    as_false = fp(pa.table({"v": [False]}))
    assert len({as_null, as_empty, as_zero, as_false}) == 4


def test_nulls_hash_the_same_whatever_the_column_type() -> None:
    as_string = fp(pa.table({"v": pa.array([None], type=pa.string())}))
    as_int = fp(pa.table({"v": pa.array([None], type=pa.int64())}))
    assert as_string == as_int


def test_string_representations_agree() -> None:
    values = ["alpha", "", None, "ünïcode", "x" * 300]
    plain = fp(pa.table({"s": pa.array(values, type=pa.string())}))
    assert fp(pa.table({"s": pa.array(values, type=pa.large_string())})) == plain
    assert fp(pa.table({"s": pa.array(values, type=pa.string_view())})) == plain
    dictionary = pa.array(values, type=pa.string()).dictionary_encode()
    assert fp(pa.table({"s": dictionary})) == plain


def test_sliced_arrays_hash_like_fresh_ones() -> None:
    array = pa.array(["aa", "b", "ccc", "", "dddd"])
    assert (
        row_hashes(pa.table({"s": array.slice(2)})).tolist()
        == row_hashes(pa.table({"s": pa.array(["ccc", "", "dddd"])})).tolist()
    )


def test_strings_differing_in_trailing_bytes_differ() -> None:
    hashes = row_hashes(pa.table({"s": ["ab", "ab\x00", "a", "ba"]})).tolist()
    assert len(set(hashes)) == 4


def test_values_of_one_width_hash_as_they_do_among_other_widths() -> None:
    """GUID-like columns take a faster path; it must give the general path's hashes."""
    guids = [f"{i:08x}-278f-9e57-a79f-d9944766ce{i % 100:02d}" for i in range(5000)]
    alone = row_hashes(pa.table({"k": pa.array(guids)}))
    among_others = row_hashes(pa.table({"k": pa.array([*guids, "short"])}))
    assert alone.tolist() == among_others[:-1].tolist()
    sliced = row_hashes(pa.table({"k": pa.array(["x" * 36, *guids]).slice(1)}))
    assert sliced.tolist() == alone.tolist()
    large = row_hashes(pa.table({"k": pa.array(guids, type=pa.large_string())}))
    assert large.tolist() == alone.tolist()
    assert len(set(alone.tolist())) == len(guids)


def test_integer_widths_agree() -> None:
    values = [1, -2, None, 2**31 - 1]
    wide = fp(pa.table({"n": pa.array(values, type=pa.int64())}))
    assert fp(pa.table({"n": pa.array(values, type=pa.int32())})) == wide
    assert fp(pa.table({"n": pa.array([1, -2, None, 127], type=pa.int8())})) == fp(
        pa.table({"n": pa.array([1, -2, None, 127], type=pa.int64())})
    )


def test_float_normalisation() -> None:
    assert fp(pa.table({"x": [-0.0]})) == fp(pa.table({"x": [0.0]}))
    nan_a = np.array([np.nan], dtype=np.float64)
    nan_b = np.array([0x7FF8000000000123], dtype=np.uint64).view(np.float64)
    assert fp(pa.table({"x": nan_a})) == fp(pa.table({"x": nan_b}))
    assert fp(pa.table({"x": pa.array([1.5], type=pa.float32())})) == fp(pa.table({"x": [1.5]}))


def test_timestamp_units_and_zones_agree() -> None:
    instant = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    micros_utc = pa.array([instant, None], type=pa.timestamp("us", tz="UTC"))
    nanos_naive = pa.array([instant.replace(tzinfo=None), None], type=pa.timestamp("ns"))
    millis_paris = pa.array([instant], type=pa.timestamp("us", tz="UTC")).cast(
        pa.timestamp("us", tz="Europe/Paris")
    )
    assert fp(pa.table({"t": micros_utc})) == fp(pa.table({"t": nanos_naive}))
    assert fp(pa.table({"t": micros_utc.slice(0, 1)})) == fp(pa.table({"t": millis_paris}))


def test_dates_agree() -> None:
    days = pa.array([date(2024, 2, 29), None], type=pa.date32())
    assert fp(pa.table({"d": days})) == fp(pa.table({"d": days.cast(pa.date64())}))


def test_decimals_binary_and_nested() -> None:
    decimals = pa.table({"d": pa.array([Decimal("1.50"), None], type=pa.decimal128(10, 2))})
    assert fp(decimals) != fp(
        pa.table({"d": pa.array([Decimal("1.51"), None], type=pa.decimal128(10, 2))})
    )
    binary = pa.table({"b": pa.array([b"\x00\x01", b""], type=pa.binary())})
    assert fp(binary) == fp(pa.table({"b": pa.array([b"\x00\x01", b""], type=pa.large_binary())}))
    nested = pa.table({"l": [[1, 2], None, []]})
    assert fp(nested) != fp(pa.table({"l": [[2, 1], None, []]}))


def test_engine_fingerprint_matches_the_arrow_definition(engine: StorageEngine, uri: str) -> None:
    engine.append(uri, rows(ids(0, 50)))
    engine.append(uri, rows(ids(50, 80), deleted=ids(50, 55)))
    covered = SHAPE.record_state_columns(engine.schema(uri).names)
    assert covered == ["accountid", "IsDeleted", "IsPurged", "LastSynced"]
    expected = fingerprint_batches(engine.read(uri, columns=covered).to_batches())
    assert engine.fingerprint(uri, SHAPE) == expected
    assert engine.fingerprint(uri, SHAPE, 0) == fingerprint_batches(
        engine.read(uri, columns=covered, version=0).to_batches()
    )
    assert engine.counts_and_fingerprint(uri, SHAPE) == (engine.row_counts(uri, SHAPE), expected)


def test_the_fingerprint_follows_every_change_a_sync_makes(
    engine: StorageEngine, uri: str
) -> None:
    """A sync stamps LastSynced on each row it writes, so its changes to any column show.

    A change to a business column that does not stamp LastSynced is not the platform's; the
    fingerprint does not cover it (a rollback's proof covers it by data-file identity).
    """
    engine.append(uri, rows(ids(0, 20)))
    before = engine.fingerprint(uri, SHAPE)
    engine.update_where(uri, equals={"accountid": "acc-0004"}, values={"name": "renamed"})
    assert engine.fingerprint(uri, SHAPE) == before
    engine.merge_upsert(uri, rows(["acc-0004"], tag="-synced"), key="accountid")
    assert engine.fingerprint(uri, SHAPE) != before
    everything = TableShape(key=None, deleted=None, purged=None, synced=None)
    assert engine.fingerprint(uri, everything) == fingerprint_batches(
        engine.read(uri).to_batches()
    )


def test_engine_fingerprint_follows_content_not_files(engine: StorageEngine, uri: str) -> None:
    for start in range(0, 40, 10):
        engine.append(uri, rows(ids(start, start + 10)))
    before = engine.fingerprint(uri, SHAPE)
    engine.optimize(uri)
    assert engine.fingerprint(uri, SHAPE) == before
    engine.update_where(uri, equals={"accountid": "acc-0003"}, values={"IsDeleted": True})
    assert engine.fingerprint(uri, SHAPE) != before
    assert engine.row_counts(uri, SHAPE).deleted == 1
