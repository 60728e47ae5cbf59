"""Per-table write leases in the lakehouse: two writers of one bronze table are never allowed.

A lease is a small file holding the owning run id, a nonce and an expiry. It is created
atomically and complete: the body is written to a private file that is then hard-linked to the
lease name, which fails if a lease exists (create-if-absent). It is released in `finally`, and a
lease whose expiry has passed may be reclaimed, and so may, at once, a lease whose holder process
is gone from this host (a killed run must not block its tables until the expiry). Reclaiming and
releasing happen under an advisory lock on `<table>.lock`, which the kernel drops if its holder
dies, so a reclaimer removes exactly the abandoned lease it read, never a fresh one.

Dagster pools give visibility in the UI, but only this lease holds across processes, ephemeral
instances and jobs (sync, rollback, maintenance).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from recovery_platform.domain.lakehouse.errors import TableLeaseError
from recovery_platform.domain.lakehouse.table_config import TABLE_NAME

METADATA_SCHEMA_LEASE = "_metadata_schema"
"""The lakehouse-wide lease held while the metadata tables are migrated (never a table name)."""


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _abandoned(holder: dict[str, object]) -> bool:
    """Expired, or held by a process of this host that no longer exists."""
    expires = holder.get("expires_at", 0)
    if not isinstance(expires, int | float) or expires < time.time():
        return True
    pid = holder.get("pid")
    same_host = holder.get("host") == socket.gethostname()
    return same_host and isinstance(pid, int) and not _process_alive(pid)


@dataclass(frozen=True)
class Lease:
    """A held lease."""

    table: str
    run_id: str
    nonce: str
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
        if table != METADATA_SCHEMA_LEASE and not TABLE_NAME.match(table):
            raise ValueError(f"field 'table': {table!r} is not a valid table name")
        return self.root / f"{table}.lease"

    def acquire(self, table: str, run_id: str, *, wait_seconds: float = 0.0) -> Lease:
        """Take the lease, waiting up to `wait_seconds`; reclaim it if its holder expired."""
        path = self._path(table)
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_seconds
        while True:
            lease = self._try_create(table, run_id, path)
            if lease is not None:
                return lease
            holder = self._holder(path)
            if holder is not None and _abandoned(holder):
                self._reclaim(path, holder)
                continue
            if time.monotonic() >= deadline:
                owner = holder.get("run_id") if holder else "unknown"
                raise TableLeaseError(
                    f"table {table} is being written by run {owner}; "
                    "two writers of one table are not allowed. Retry when that run ends."
                )
            time.sleep(0.2)

    def _try_create(self, table: str, run_id: str, path: Path) -> Lease | None:
        """Link a complete lease file into place; None if a lease already exists."""
        nonce = uuid.uuid4().hex
        expires = time.time() + self.ttl_seconds
        private = path.with_name(f".{path.name}.{nonce}")
        private.write_text(json.dumps(
            {"table": table, "run_id": run_id, "nonce": nonce, "expires_at": expires,
             "host": socket.gethostname(), "pid": os.getpid()}))
        try:
            os.link(private, path)
        except FileExistsError:
            return None
        finally:
            private.unlink(missing_ok=True)
        return Lease(table=table, run_id=run_id, nonce=nonce, expires_at=expires, path=path)

    def release(self, lease: Lease) -> None:
        """Give the lease back if we still hold it (it may have expired and been reclaimed)."""
        with self._locked(lease.path):
            holder = self._holder(lease.path)
            if holder is not None and holder.get("nonce") == lease.nonce:
                lease.path.unlink(missing_ok=True)

    def holder(self, table: str) -> str | None:
        """Run id holding the table's lease, if any."""
        found = self._holder(self._path(table))
        return None if found is None else str(found.get("run_id"))

    def live_holder(self, table: str) -> str | None:
        """Run id holding the table's lease, unless the lease is abandoned (its run is gone).

        Abandoned means expired, or held by a process of this host that no longer exists: the
        lease the next writer would reclaim. A lease from another host counts as live until it
        expires.
        """
        found = self._holder(self._path(table))
        if found is None or _abandoned(found):
            return None
        return str(found.get("run_id"))

    @contextmanager
    def hold(self, table: str, run_id: str, *, wait_seconds: float = 0.0) -> Iterator[Lease]:
        """Hold the lease for the duration of a block, releasing it in `finally`."""
        lease = self.acquire(table, run_id, wait_seconds=wait_seconds)
        try:
            yield lease
        finally:
            self.release(lease)

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        """An advisory lock serialising reclaim and release of one table's lease."""
        fd = os.open(path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _reclaim(self, path: Path, expired: dict[str, object]) -> None:
        """Remove the expired lease we read, if it is still the one in place."""
        with self._locked(path):
            current = self._holder(path)
            if current is not None and current.get("nonce") == expired.get("nonce"):
                path.unlink(missing_ok=True)

    @staticmethod
    def _holder(path: Path) -> dict[str, object] | None:
        try:
            return dict(json.loads(path.read_text()))
        except FileNotFoundError:
            return None
