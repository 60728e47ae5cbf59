"""Exact membership through a key index: what orphan counts rest on."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa

from recovery_platform.engine.fingerprint import value_hashes
from recovery_platform.engine.key_index import KeyIndex, key_index, not_in_index


def test_values_missing_from_the_keys_are_exactly_the_set_difference() -> None:
    rng = random.Random(7)
    keys = [f"{rng.getrandbits(128):032x}" for _ in range(5000)]
    values = [rng.choice(keys) for _ in range(8000)] + [f"orphan-{i}" for i in range(37)]
    values += [None] * 5
    rng.shuffle(values)
    index = key_index(pa.array([*keys, None, keys[0]]))  # nulls ignored, duplicates allowed

    missing = not_in_index(pa.array(values), index)

    expected = [v for v in values if v is not None and v not in set(keys)]
    assert missing.to_pylist() == expected
    assert len(expected) == 37


def test_a_value_whose_key_shares_another_keys_hash_is_still_found() -> None:
    """Keys with one hash sit side by side; a value matching the second is not an orphan."""
    first = value_hashes(pa.array(["a"]))[0]
    forged = KeyIndex(hashes=np.array([first, first], dtype=np.uint64),
                      keys=pa.array(["a", "b"]))  # as if "b" hashed like "a"

    assert not_in_index(pa.array(["a", "b", "c"]), forged).to_pylist() == ["c"]


def test_empty_sides() -> None:
    assert not_in_index(pa.array(["x"]), key_index(pa.array([], pa.string()))).to_pylist() == ["x"]
    assert not_in_index(pa.array([], pa.string()), key_index(pa.array(["x"]))).to_pylist() == []
