"""Keys held by more than one row, found from 64-bit hashes of the keys.

Every non-null key is hashed as text (`key_hashes`): equal keys hash equally, so a key whose
hash occurs once is unique, and only the rows whose hash repeats are compared by value
(`confirm`), which also makes a hash collision harmless. A hash is 8 bytes a row and a few
vectorised operations on fixed-width words, far cheaper than grouping the keys themselves, so a
version's keys can be checked while they stream past for another purpose and only the
repeated ones are read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from recovery_platform.engine.deltars.table import iter_batches
from recovery_platform.engine.values import NO_DUPLICATES, DuplicateKeys

_U64 = np.uint64
_SEED = _U64(0x9E3779B97F4A7C15)
_MULTIPLIER = _U64(0xFF51AFD7ED558CCD)
_EMPTY = np.empty(0, dtype=np.uint64)


def _mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, vectorised."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def key_texts(column: pa.Array | pa.ChunkedArray) -> Iterator[pa.Array]:
    """The non-null keys of a column as strings, chunk by chunk (keys compare as text)."""
    for chunk in _chunks(column):
        yield pc.drop_null(pc.cast(chunk, pa.string()))


def _same_width_hashes(values: pa.Array, width: int) -> np.ndarray:
    """Hashes of binary values that all have `width` bytes, laid out back to back."""
    n = len(values)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset]
    data = values.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    words = -(-width // 8)
    padded = np.zeros((n, words * 8), dtype=np.uint8)
    padded[:, :width] = raw[int(offsets) : int(offsets) + n * width].reshape(n, width)
    hashes = np.full(n, _SEED ^ _U64(width), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for word in padded.view(np.uint64).T:
            hashes = (hashes ^ word) * _MULTIPLIER
            hashes ^= hashes >> _U64(29)
    return _mix(hashes)


def key_hashes(texts: pa.Array) -> np.ndarray:
    """One 64-bit hash per key of a null-free string array, the same in any batch.

    Keys are hashed eight bytes at a time; keys of each byte width are hashed together (GUID
    keys all have one width, so this is one pass).
    """
    values = pc.cast(texts, pa.binary())
    if len(values) == 0:
        return _EMPTY
    lengths = pc.binary_length(values)
    extremes = pc.min_max(lengths)
    if extremes["min"].as_py() == extremes["max"].as_py():
        return _same_width_hashes(values, int(extremes["min"].as_py()))
    widths = lengths.to_numpy(zero_copy_only=False)
    hashes = np.empty(len(values), dtype=np.uint64)
    for width in np.unique(widths):
        rows = np.flatnonzero(widths == width)
        hashes[rows] = _same_width_hashes(values.take(pa.array(rows)), int(width))
    return hashes


def repeated_hashes(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The hashes that occur more than once across `parts`, sorted and distinct."""
    hashes = np.concatenate(parts) if parts else _EMPTY
    if len(hashes) < 2:
        return _EMPTY
    hashes.sort()
    return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


def among(hashes: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which of `hashes` are in `wanted` (a mask), through one Arrow hash set of `wanted`."""
    if len(wanted) == 0 or len(hashes) == 0:
        return np.zeros(len(hashes), dtype=bool)
    found = pc.is_in(pa.array(hashes), value_set=pa.array(wanted))
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def confirm(texts: Iterable[pa.Array], candidates: np.ndarray, sample_size: int) -> DuplicateKeys:
    """The keys really held more than once among those whose hash is a candidate."""
    picked = [t.filter(pa.array(among(key_hashes(t), candidates))) for t in texts]
    if not picked:
        return NO_DUPLICATES
    keys = pa.chunked_array(picked, type=pa.string())
    counts = pa.table({"key": keys}).group_by("key", use_threads=False).aggregate(
        [([], "count_all")]
    )
    repeated = counts.filter(pc.greater(counts.column("count_all"), 1))
    if repeated.num_rows == 0:
        return NO_DUPLICATES
    samples: tuple[str, ...] = ()
    if sample_size > 0:
        first = pc.select_k_unstable(repeated, sample_size, [("key", "ascending")])
        samples = tuple(sorted(str(k) for k in repeated.column("key").take(first).to_pylist()))
    held = int(pc.sum(repeated.column("count_all")).as_py())
    return DuplicateKeys(held - repeated.num_rows, repeated.num_rows, samples)


def duplicates_in(columns: Sequence[pa.Array | pa.ChunkedArray], sample_size: int) -> DuplicateKeys:
    """Keys held more than once across key columns already in memory."""
    texts = [t for column in columns for t in key_texts(column)]
    candidates = repeated_hashes([key_hashes(t) for t in texts])
    return confirm(texts, candidates, sample_size) if len(candidates) else NO_DUPLICATES


class KeyTally:
    """Collects the hashes of a version's keys as its batches stream past for another read."""

    def __init__(self, key: str | None) -> None:
        self.key = key
        self._hashes: list[np.ndarray] = []

    def add(self, batch: pa.RecordBatch) -> None:
        """Hash the keys of one batch."""
        if self.key is not None:
            self._hashes.extend(key_hashes(t) for t in key_texts(batch.column(self.key)))

    def result(self, dt: DeltaTable, sample_size: int) -> DuplicateKeys:
        """The duplicates among everything added; only repeated hashes' keys are read again."""
        candidates = repeated_hashes(self._hashes)
        self._hashes = []
        if self.key is None or not len(candidates):
            return NO_DUPLICATES
        texts = (t for batch in iter_batches(dt, [self.key]) for t in key_texts(batch.column(0)))
        return confirm(texts, candidates, sample_size)


def scan_duplicates(dt: DeltaTable, key: str | None, sample_size: int) -> DuplicateKeys:
    """Duplicate keys of a loaded version from a read of its key column alone."""
    tally = KeyTally(key)
    if key is not None:
        for batch in iter_batches(dt, [key]):
            tally.add(batch)
    return tally.result(dt, sample_size)
