"""Delta tables damaged the ways real lakehouses get damaged, and every public engine call.

Each damage is done to a plain four-version table written by delta-rs (foreign to Spark, and
as good as foreign to delta-rs once damaged); `OPERATIONS` calls every public `StorageEngine`
operation once, so a test can assert what each of them does with each damage.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from recovery_platform.engine import StorageEngine
from recovery_platform_tests.engine.bronze import SHAPE, files_added_in, ids, rows

LATEST = 3


def build(engine: StorageEngine, uri: str) -> str:
    """Four appends (versions 0-3) of five rows each; returns the table id."""
    for start in range(0, 20, 5):
        engine.append(uri, rows(ids(start, start + 5)))
    return engine.state(uri).table_id


def log_fingerprint(uri: str) -> dict[str, str]:
    """Name -> content hash of every file in `_delta_log`, to prove nothing was written."""
    log = Path(uri) / "_delta_log"
    return {
        str(p.relative_to(log)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(log.rglob("*")) if p.is_file()
    }


def _commit(uri: str, version: int) -> Path:
    return Path(uri) / "_delta_log" / f"{version:020d}.json"


def delete_log_entry(uri: str) -> None:
    """A commit in the middle of the log is gone (a gap no checkpoint covers)."""
    _commit(uri, 1).unlink()


def corrupt_commit(uri: str) -> None:
    """The latest commit file holds text that is not JSON."""
    _commit(uri, LATEST).write_text('{"commitInfo": {"timestamp": 1, oops\n')


def delete_data_file(uri: str) -> None:
    """A data file of the latest version is gone."""
    os.remove(files_added_in(uri, LATEST)[0])


def garble_data_file(uri: str) -> None:
    """A data file of the latest version is not Parquet any more."""
    path = files_added_in(uri, LATEST)[0]
    size = os.path.getsize(path)
    Path(path).write_bytes(b"\x00garbage" * (size // 8 + 1))


DAMAGES: dict[str, Callable[[str], None]] = {
    "log entry deleted": delete_log_entry,
    "corrupt commit JSON": corrupt_commit,
    "data file deleted": delete_data_file,
    "unreadable Parquet": garble_data_file,
}

LOG_DAMAGES = ("log entry deleted", "corrupt commit JSON")


def source_file(folder: Path) -> str:
    """A full extract of the table's keys, for `source_diff`."""
    path = folder / "extract.parquet"
    pq.write_table(rows(ids(0, 20)), path)
    return str(path)


Operation = Callable[[StorageEngine, str, str, str], object]
"""(engine, uri, table id, extract path) -> anything; raising is what is looked at."""

OPERATIONS: dict[str, Operation] = {
    "create_table": lambda e, u, t, s: e.create_table(u, rows([]).schema, properties={}),
    "append": lambda e, u, t, s: e.append(u, rows(ids(90, 91))),
    "overwrite": lambda e, u, t, s: e.overwrite(u, rows(ids(90, 91))),
    "merge_upsert": lambda e, u, t, s: e.merge_upsert(u, rows(ids(0, 2), tag="x"),
                                                      key="accountid"),
    "update_where": lambda e, u, t, s: e.update_where(u, equals={"accountid": "acc-0001"},
                                                      values={"name": "x"}),
    "add_columns": lambda e, u, t, s: e.add_columns(u, [pa.field("extra", pa.string())]),
    "read": lambda e, u, t, s: e.read(u),
    "read at version": lambda e, u, t, s: e.read(u, version=LATEST),
    "schema": lambda e, u, t, s: e.schema(u),
    "state": lambda e, u, t, s: e.state(u),
    "history": lambda e, u, t, s: e.history(u),
    "row_counts": lambda e, u, t, s: e.row_counts(u, SHAPE),
    "fingerprint": lambda e, u, t, s: e.fingerprint(u, SHAPE),
    "counts_and_fingerprint": lambda e, u, t, s: e.counts_and_fingerprint(u, SHAPE),
    "duplicate_keys": lambda e, u, t, s: e.duplicate_keys(u, SHAPE),
    "key_diff": lambda e, u, t, s: e.key_diff(u, SHAPE, 0, LATEST),
    "source_diff": lambda e, u, t, s: e.source_diff(u, s, SHAPE, compare_columns=["name"]),
    "orphan_count": lambda e, u, t, s: e.orphan_count(u, "accountid", u, "accountid"),
    "storage_delta": lambda e, u, t, s: e.storage_delta(u, 0, LATEST),
    "restore": lambda e, u, t, s: e.restore(u, 0, commit_metadata={"why": "test"}),
    "vacuum": lambda e, u, t, s: e.vacuum(u, retention_hours=168, dry_run=True),
    "optimize": lambda e, u, t, s: e.optimize(u),
    "clean_up_log": lambda e, u, t, s: e.clean_up_log(u),
    "get_properties": lambda e, u, t, s: e.get_properties(u),
    "set_properties": lambda e, u, t, s: e.set_properties(u, {"owner": "test"}),
    "is_restorable": lambda e, u, t, s: e.is_restorable(u, LATEST, t),
}

READS_DATA = frozenset({
    "read", "read at version", "fingerprint", "counts_and_fingerprint", "duplicate_keys",
    "key_diff", "source_diff", "orphan_count", "optimize",
})
"""Operations that must read the latest version's rows, so a damaged data file stops them."""
