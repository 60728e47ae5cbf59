"""A key diff refuses, rather than miscounts, a table that holds a key in more than one row.

Netting per key compares one "before" row with one "after" row. A scan compares the two
versions directly, so it is exact when neither side repeats a key (`refuse_repeated`). Netting
the change data feed (first pre-image against last post-image) is exact only while every version
of the range holds each changed key at most once (`check_feed_keys`): the feed says, per key and
version, how many of its rows were removed (pre-images) and added (post-images), so from how many
rows held each changed key at the lower version, the number at every later version follows. A
key the feed does not show is unchanged, which the diff reports exactly however many rows hold
it. The starting numbers come from one read of the lower version's key column, matched against
the changed keys only, unless both ends are already known to hold unique keys and every changed
key's start is implied by its events.
"""

from __future__ import annotations

from typing import NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from recovery_platform.engine.deltars.duplicates import duplicates_in, key_texts
from recovery_platform.engine.deltars.table import iter_batches
from recovery_platform.engine.errors import DuplicateKeysError
from recovery_platform.engine.values import DUPLICATE_SAMPLE_SIZE, DuplicateKeys


def refuse_repeated(uri: str, key: str, sides: tuple[tuple[pa.Table, int], ...]) -> None:
    """Raise when a scanned side (a version's keyed rows, its key as `key`) repeats a key."""
    for side, version in sides:
        found = duplicates_in([side.column("key")], DUPLICATE_SAMPLE_SIZE)
        if found.found:
            raise DuplicateKeysError(uri, version, key, found)


def check_feed_keys(
    events: pa.Table, dt_low: DeltaTable, key: str, uri: str, *, ends_unique: bool
) -> None:
    """Raise unless every version from `dt_low` on holds each changed key in at most one row.

    `events` has one row per change-feed row: `key` (text), `version` and `post` (True for an
    insert or post-image). `ends_unique`: both ends of the range are known to repeat no key.
    """
    steps = events.group_by(["key", "version"], use_threads=False).aggregate(
        [("post", "sum"), ([], "count_all")]
    ).sort_by([("key", "ascending"), ("version", "ascending")])
    if steps.num_rows == 0:
        return
    keys = steps.column("key").combine_chunks()
    added = steps.column("post_sum").to_numpy().astype(np.int64)
    removed = steps.column("count_all").to_numpy().astype(np.int64) - added
    first = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        first[1:] = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1)).to_numpy(
            zero_copy_only=False)
    segment = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    running = np.cumsum(added - removed)
    change = running - (running[starts] - (added - removed)[starts])[segment]
    net = change[np.append(starts[1:] - 1, len(keys) - 1)]
    removes_first = removed[starts] > 0
    if ends_unique and bool(np.all(removes_first | (net >= 1))):
        held = removes_first.astype(np.int64)  # the first event removes the one row it held
    else:
        held = _held_at(dt_low, key, keys.take(pa.array(starts)))
    if (held > 1).any():  # already repeated at the lower version
        _refuse(uri, key, dt_low.version(), keys.take(pa.array(starts)), held)
    versions = steps.column("version").to_numpy()
    after = held[segment] + change
    bad = after > 1
    if bad.any():
        version = int(versions[bad].min())
        at = bad & (versions == version)
        _refuse(uri, key, version, keys.filter(pa.array(at)), after[at])


def _refuse(uri: str, key: str, version: int, keys: pa.Array, rows: np.ndarray) -> NoReturn:
    """Raise for `keys` held by `rows` rows each at `version` (those above one are repeats)."""
    repeated = rows > 1
    names = sorted(str(k) for k in keys.filter(pa.array(repeated)).to_pylist())
    found = DuplicateKeys(int((rows[repeated] - 1).sum()), len(names),
                          tuple(names[:DUPLICATE_SAMPLE_SIZE]))
    raise DuplicateKeysError(uri, version, key, found)


def _held_at(dt: DeltaTable, key: str, changed: pa.Array) -> np.ndarray:
    """How many rows of the version hold each changed key, from one read of its key column.

    Each batch's keys are matched against the changed ones in Arrow; only matches are kept.
    """
    hits = [
        texts.filter(pc.is_in(texts, value_set=changed))
        for batch in iter_batches(dt, [key])
        for texts in key_texts(batch.column(0))
    ]
    found = pa.table({"key": pa.chunked_array(hits, type=pa.string())}).group_by(
        "key", use_threads=False).aggregate([([], "count_all")])
    at = pc.index_in(changed, value_set=found.column("key").combine_chunks())
    counts = pc.take(found.column("count_all"), at)
    return np.asarray(pc.fill_null(counts, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
