"""Per-table write leases in the lakehouse: two writers of one bronze table are never allowed.

A lease is a small file created atomically only if absent (O_CREAT | O_EXCL), holding the owning
run id and an expiry. It is released in `finally`, and a lease whose expiry has passed (its run
died) may be reclaimed. Dagster pools give visibility in the UI, but only this lease holds across
processes, ephemeral instances and jobs (sync, rollback, maintenance).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from recovery_platform.domain.errors import TableLeaseError
from recovery_platform.domain.table_config import TABLE_NAME


@dataclass(frozen=True)
class Lease:
    """A held lease."""

    table: str
    run_id: str
    expires_at: float
    path: Path


class LeaseStore:
    """Leases under a local lakehouse's `_leases` folder.

    Object-store lakehouses need a conditional-put lease; this store refuses non-local roots
    rather than pretending to be atomic there.
    """

    def __init__(self, root: str, *, ttl_seconds: float = 3600.0) -> None:
        if "://" in root and not root.startswith("file://"):
            raise ValueError(
                f"field 'lease_root': {root!r} is not a local path; leases need atomic "
                "create-if-absent, implemented here for local lakehouses only"
            )
        self.root = Path(root.removeprefix("file://"))
        self.ttl_seconds = ttl_seconds

    def _path(self, table: str) -> Path:
        if not TABLE_NAME.match(table):
            raise ValueError(f"field 'table': {table!r} is not a valid table name")
        return self.root / f"{table}.lease"

    def acquire(self, table: str, run_id: str, *, wait_seconds: float = 0.0) -> Lease:
        """Take the lease, waiting up to `wait_seconds`; reclaim it if its holder expired."""
        path = self._path(table)
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_seconds
        while True:
            expires = time.time() + self.ttl_seconds
            body = json.dumps({"table": table, "run_id": run_id, "expires_at": expires})
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder(path)
                if holder is not None and holder.get("expires_at", 0) < time.time():
                    self._reclaim(path, holder)
                    continue
                if time.monotonic() >= deadline:
                    owner = holder.get("run_id") if holder else "unknown"
                    raise TableLeaseError(
                        f"table {table} is being written by run {owner}; "
                        "two writers of one table are not allowed. Retry when that run ends."
                    ) from None
                time.sleep(0.2)
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(body)
            return Lease(table=table, run_id=run_id, expires_at=expires, path=path)

    def release(self, lease: Lease) -> None:
        """Give the lease back if we still hold it."""
        holder = self._holder(lease.path)
        if holder is not None and holder.get("run_id") == lease.run_id:
            lease.path.unlink(missing_ok=True)

    def holder(self, table: str) -> str | None:
        """Run id holding the table's lease, if any."""
        found = self._holder(self._path(table))
        return None if found is None else str(found.get("run_id"))

    @contextmanager
    def hold(self, table: str, run_id: str, *, wait_seconds: float = 0.0) -> Iterator[Lease]:
        """Hold the lease for the duration of a block, releasing it in `finally`."""
        lease = self.acquire(table, run_id, wait_seconds=wait_seconds)
        try:
            yield lease
        finally:
            self.release(lease)

    @staticmethod
    def _holder(path: Path) -> dict[str, object] | None:
        try:
            return dict(json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except ValueError:
            return {"run_id": "unknown", "expires_at": 0}

    @staticmethod
    def _reclaim(path: Path, holder: dict[str, object]) -> None:
        stale = path.with_suffix(f".stale-{os.getpid()}-{time.time_ns()}")
        try:
            os.rename(path, stale)
        except FileNotFoundError:
            return
        stale.unlink(missing_ok=True)
