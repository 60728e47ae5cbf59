"""Streaming a Delta table's rows without leaving work for pyarrow threads at interpreter exit.

Why not `DeltaTable.to_pyarrow_dataset()` (nor `to_pyarrow_table()`, a thin wrapper over it):
that dataset reads its files through `pyarrow.fs.PyFileSystem(DeltaStorageHandler(...))`, a
filesystem implemented in Python. Arrow's scanner keeps working on its CPU and I/O thread pools
after the Python call returns (readahead, and the `pre_buffer=True` reads deltalake asks for,
even with `use_threads=False`), and that trailing work closes and releases the handler's
Python file objects, which needs the GIL. When it runs while the interpreter finalizes, the
process dies (most likely: CPython 3.11 ends a thread asking for the GIL then with
`pthread_exit`, whose forced unwind through a `noexcept` C++ frame makes libstdc++ abort):
"terminate called without an active exception", exit code 134 (SIGABRT), after the work was
committed. It strikes when a read (or an abandoned batch
generator) comes shortly before the process exits, as in a run worker or a short script.

Upstream: delta-io/delta-rs#2184 ("terminate called without an active exception": a short
script that writes and reads with deltalake aborts at exit on Linux, now and then). The
mechanism is Arrow's, described by its maintainers in apache/arrow#33975 ("read_table cleanup
work is still happening after the method returns ... it tries to close the file and that tries
to grab the GIL but python is already shutdown so this crashes"; `use_threads=False` or a sleep
before exit hides it) and apache/arrow#36389 (the scanner still running after the call).

Measured here (deltalake 1.6.6, pyarrow 26, Python 3.11, fresh process per run, 20 runs per
path, read then exit): `to_pyarrow_table()` aborted 4/20 and 3/20, `to_pyarrow_dataset()
.to_table()` 3/20, even `to_batches(use_threads=False)` 1/20; `DeltaTable.scan()` and
`QueryBuilder` 0/20. `scan()` runs delta-rs's own DataFusion scan: its tokio threads never touch
Python objects, and the Arrow C stream hands every batch over on the caller's thread, so nothing
of the read is left running once the stream is exhausted or closed. It also reads column-mapped
tables by logical name (pyarrow datasets read their physical columns as nulls) and legacy INT96
timestamps as microseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa
from deltalake import DeltaTable

DEFAULT_BATCH_ROWS = 131_072


def record_batches(
    dt: DeltaTable, columns: Sequence[str], batch_size: int = DEFAULT_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """Stream the loaded version's `columns` as batches of the table's logical types.

    Reads through `DeltaTable.scan` (see the module docstring for why not a pyarrow dataset).
    DataFusion emits small batches (about 8k rows, at most one file each), so consecutive
    batches are coalesced to at most `batch_size` rows: the per-batch Python work of callers
    (fingerprints, counts, key hashing) stays as coarse as with the dataset reader, and memory
    stays bounded by one output batch plus one scanned batch. Batches are cast to the table's
    logical schema: DataFusion yields strings as `string_view`, which filters and joins of
    callers compare differently. Row order is not guaranteed (it never was across files).

    Args:
        dt: The table, loaded at the version to read.
        columns: Logical column names, in the order the batches should carry them; an empty
            sequence yields batches with no columns that still carry their row counts.
        batch_size: The most rows per yielded batch (at least 1).

    Raises:
        ValueError: a column is not in the table, or `batch_size` is below 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    names = list(columns)
    schema = pa.schema(dt.schema().to_arrow())
    missing = [name for name in names if name not in schema.names]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; it has {schema.names}")
    target = pa.schema([schema.field(name) for name in names])
    reader = pa.RecordBatchReader.from_stream(dt.scan(columns=names))
    try:
        yield from _coalesced(_logical(reader, target), batch_size)
    finally:
        # an abandoned generator (a caller that stops early) must not keep the scan running
        reader.close()


def _logical(batches: Iterator[pa.RecordBatch], target: pa.Schema) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        if batch.num_rows == 0:
            continue
        batch = batch.select(target.names)
        yield batch if batch.schema.equals(target) else batch.cast(target)


def _coalesced(batches: Iterator[pa.RecordBatch], batch_size: int) -> Iterator[pa.RecordBatch]:
    """Consecutive batches merged up to `batch_size` rows; larger ones split into slices."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        offset = 0
        while offset < batch.num_rows:
            piece = batch.slice(offset, batch_size - rows)
            offset += piece.num_rows
            pending.append(piece)
            rows += piece.num_rows
            if rows == batch_size:
                yield _merged(pending)
                pending, rows = [], 0
    if pending:
        yield _merged(pending)


def _merged(pending: list[pa.RecordBatch]) -> pa.RecordBatch:
    return pending[0] if len(pending) == 1 else pa.concat_batches(pending)
