"""Small synced lakehouses with checkpoints, and ways to damage what a checkpoint pins."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from recovery_platform.domain.checkpoints.history import Checkpoint, load_checkpoints
from recovery_platform_tests.domain.extracts import keys, land_keys, land_small_crm
from recovery_platform_tests.domain.site import Site, make_site
from recovery_platform_tests.domain.sync_runs import sync_run

D1 = date(2026, 4, 1)


def synced_days(folder: Path, days: int) -> Site:
    """`days` daily syncs of a 20-row CRM; each day after the first rewrites every account row.

    So every day's account version has its own data file, no longer referenced by the latest
    version: deleting or replacing it damages exactly the checkpoints that pin that day.
    """
    site = make_site(folder)
    for n in range(days):
        day = D1 + timedelta(days=n)
        land_small_crm(site.landing, day)
        land_keys(site.landing, "account", day, keys("account", 0, 20), tag=f"-day{n}")
        sync_run(site.lakehouse, site.store, site.leases, site.landing, day)
    return site


def batches(site: Site) -> list[Checkpoint]:
    """The DailyBatch checkpoints, oldest first."""
    return [c for c in load_checkpoints(site.store) if c.checkpoint_type.value == "DailyBatch"]


def pinned_file(site: Site, checkpoint: Checkpoint, table: str) -> Path:
    """The one data file of the table's pinned version (none of the latest version's)."""
    uri = site.lakehouse.bronze_uri(table)
    (pinned,) = DeltaTable(uri, version=checkpoint.pin(table).version).file_uris()
    assert pinned not in DeltaTable(uri).file_uris()
    return Path(pinned)


def recreate(site: Site, table: str) -> None:
    """Drop the table and write its rows again: same content, a new Delta table id."""
    uri = site.lakehouse.bronze_uri(table)
    data = DeltaTable(uri).to_pyarrow_table()
    shutil.rmtree(uri)
    site.lakehouse.engine.overwrite(uri, data)


def rewrite_same_size(path: Path, data: pa.Table, pad_column: str) -> None:
    """Write `data` over `path` as Parquet of exactly the old size, so only its content differs.

    The log records each file's size and readers trust it, so a replacement of another size
    would fail to read at all; this one reads, and only its content tells it apart. The last
    value of `pad_column` (a column outside the fingerprint) is padded, uncompressed and
    without statistics, until the sizes agree.
    """
    size = path.stat().st_size
    others = [c for c in data.column_names if c != pad_column]
    index = data.schema.get_field_index(pad_column)
    values = data.column(pad_column).to_pylist()
    pad = 0
    for _ in range(10):
        column = pa.array([*values[:-1], values[-1] + "~" * pad], data.schema.field(index).type)
        pq.write_table(data.set_column(index, data.schema.field(index), column), path,
                       compression={c: "SNAPPY" for c in others} | {pad_column: "NONE"},
                       use_dictionary=others, write_statistics=others, store_schema=False)
        missing = size - path.stat().st_size
        if missing == 0:
            return
        pad += missing
        assert pad >= 0, "the rewritten file is larger than the original"
    raise AssertionError("no padding matched the original size")
