"""Exact key membership without rebuilding a hash set per question.

A referential check asks "which of these child values is no parent key?" and several children
ask it of the same parent version (a nightly sync checks contact, donation and activity against
one account version). Arrow's `is_in` builds a hash set of every parent key on each call; a
`KeyIndex` is built once per parent version (the keys' 64-bit hashes, sorted) and answers each
question with a binary search, then confirms every hash match by comparing the values
themselves, so a hash collision can never hide an orphan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recovery_platform.engine.fingerprint import value_hashes


@dataclass(frozen=True)
class KeyIndex:
    """One version's non-null key values, ordered by their hashes."""

    hashes: np.ndarray
    keys: pa.Array


def key_index(keys: pa.Array) -> KeyIndex:
    """Index the non-null `keys` (strings)."""
    keys = pc.drop_null(keys)
    hashes = value_hashes(keys)
    order = np.argsort(hashes, kind="stable")
    return KeyIndex(hashes[order], keys.take(pa.array(order)))


def not_in_index(values: pa.Array, index: KeyIndex) -> pa.Array:
    """The non-null `values` that equal no key of `index` (exact), in their order."""
    values = pc.drop_null(values)
    if len(values) == 0 or len(index.keys) == 0:
        return values
    hashes = value_hashes(values)
    order = np.argsort(hashes)  # searching in hash order reads the index sequentially
    at = np.empty(len(hashes), dtype=np.int64)
    at[order] = np.searchsorted(index.hashes, hashes[order])
    np.minimum(at, len(index.hashes) - 1, out=at)
    candidates = np.flatnonzero(index.hashes[at] == hashes)
    same = pc.equal(values.take(pa.array(candidates)), index.keys.take(pa.array(at[candidates])))
    found = np.zeros(len(values), dtype=bool)
    found[candidates[same.to_numpy(zero_copy_only=False)]] = True
    missing = values.filter(pa.array(~found))
    if len(missing):
        # keys sharing one hash sit side by side and only the first was compared: confirm the
        # few values still missing against the keys directly (a set of them, not of the keys)
        present = index.keys.filter(pc.is_in(index.keys, value_set=pc.unique(missing)))
        missing = missing.filter(pc.invert(pc.is_in(missing, value_set=present)))
    return missing
