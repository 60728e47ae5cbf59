"""Per-table write leases in the lakehouse: two writers of one bronze table are never allowed.

A lease is a small file holding the owning run id, a nonce and an expiry. It is created
atomically and complete: the body is written to a private file that is then hard-linked to the
lease name, which fails if a lease exists (create-if-absent). It is released in `finally`, and a
lease whose expiry has passed may be reclaimed, and so may, at once, a lease whose holder process
is gone from this host (a killed run must not block its tables until the expiry). Reclaiming and
releasing happen under an advisory lock on `<table>.lock`, which the kernel drops if its holder
dies, so a reclaimer removes exactly the abandoned lease it read, never a fresh one.

A run may outlast the expiry, so while a lease is held through `LeaseStore.hold` a heartbeat
thread pushes the expiry forward every third of it, under the same lock and only while the file
still holds our nonce. Finding another nonce (or none) there means the lease was lost: it is
recorded on the `Lease`, and writers call `Lease.check()` right before each commit so a run that
lost its table never writes over the run that took it.

Dagster pools give visibility in the UI, but only this lease holds across processes, ephemeral
instances and jobs (sync, rollback, maintenance).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from recovery_platform.domain.lakehouse.errors import TableLeaseError
from recovery_platform.domain.lakehouse.table_config import TABLE_NAME

METADATA_SCHEMA_LEASE = "_metadata_schema"
WRITE = "write"
SYNC = "sync"
MAINTENANCE = "maintenance"
"""What a lease is held for: a sync waits for a table's maintenance, never for another sync."""
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


class _Loss:
    """Whether, and to whom, a lease was lost; set by the heartbeat thread, read by the writer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lost = False
        self._taken_by: str | None = None

    def record(self, taken_by: str | None) -> None:
        """Keep the first loss seen: a later reader may find yet another holder."""
        with self._lock:
            if not self._lost:
                self._lost, self._taken_by = True, taken_by

    def get(self) -> tuple[bool, str | None]:
        with self._lock:
            return self._lost, self._taken_by


@dataclass(frozen=True)
class Lease:
    """A held lease.

    `expires_at` is the expiry it was taken with; while held through `LeaseStore.hold`, the
    heartbeat keeps the file's own expiry ahead of time.
    """

    table: str
    run_id: str
    nonce: str
    expires_at: float
    path: Path
    _loss: _Loss = field(default_factory=_Loss, compare=False, repr=False)

    @property
    def lost(self) -> bool:
        """True once the heartbeat found the lease file gone or holding another run's nonce."""
        return self._loss.get()[0]

    def check(self) -> None:
        """Refuse to go on writing once the lease is no longer ours; call before each commit.

        The lease file is read again here, not only the heartbeat's last finding, so a loss
        since the last beat is caught too. A lease past its expiry that nobody reclaimed is
        still ours.

        Raises:
            TableLeaseError: the lease file is gone or holds another run's lease.
        """
        lost, taken_by = self._loss.get()
        if not lost:
            current = _read(self.path)
            if current is not None and current.get("nonce") == self.nonce:
                return
            self._loss.record(_run_of(current))
            lost, taken_by = self._loss.get()
        raise TableLeaseError(
            f"run {self.run_id} lost the lease of table {self.table}: it is now held by "
            f"{'run ' + taken_by if taken_by else 'nobody'}. Nothing more is written to the "
            "table by this run; run it again once the table is free."
        )


def _read(path: Path) -> dict[str, object] | None:
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None


def _run_of(holder: dict[str, object] | None) -> str | None:
    return None if holder is None else str(holder.get("run_id"))


class LeaseStore:
    """Leases under a local lakehouse's `_leases` folder.

    Object-store lakehouses need a conditional-put lease; this store refuses non-local roots
    rather than pretending to be atomic there.
    """

    def __init__(
        self,
        root: str,
        *,
        ttl_seconds: float = 3600.0,
        renew_every_seconds: float | None = None,
    ) -> None:
        """Leases expire after `ttl_seconds`; held ones are renewed every `renew_every_seconds`.

        Renewal defaults to a third of the ttl, so two beats may be missed before a lease
        expires and another run may reclaim it.
        """
        if "://" in root and not root.startswith("file://"):
            raise ValueError(
                f"field 'lease_root': {root!r} is not a local path; leases need atomic "
                "create-if-absent, implemented here for local lakehouses only"
            )
        renew = ttl_seconds / 3 if renew_every_seconds is None else renew_every_seconds
        if not 0 < renew < ttl_seconds:
            raise ValueError(
                f"field 'renew_every_seconds': {renew!r} must be above 0 and below ttl_seconds "
                f"({ttl_seconds!r}), or the lease expires before it is renewed"
            )
        self.root = Path(root.removeprefix("file://"))
        self.ttl_seconds = ttl_seconds
        self.renew_every_seconds = renew

    def _path(self, table: str) -> Path:
        if table != METADATA_SCHEMA_LEASE and not TABLE_NAME.match(table):
            raise ValueError(f"field 'table': {table!r} is not a valid table name")
        return self.root / f"{table}.lease"

    def acquire(
        self, table: str, run_id: str, *, wait_seconds: float = 0.0, purpose: str = WRITE,
        patience: Mapping[str, float] | None = None,
    ) -> Lease:
        """Take the lease, waiting up to `wait_seconds`; reclaim it if its holder expired.

        The lease records its `purpose`; `patience` gives longer waits for holders of some
        purposes (a sync waits for a table's maintenance, which takes minutes, but refuses a
        table another sync writes at once).
        """
        path = self._path(table)
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        while True:
            lease = self._try_create(table, run_id, path, purpose)
            if lease is not None:
                return lease
            holder = self._holder(path)
            if holder is not None and _abandoned(holder):
                self._reclaim(path, holder)
                continue
            held_for = str(holder.get("purpose", WRITE)) if holder else WRITE
            waits = max(wait_seconds, (patience or {}).get(held_for, 0.0))
            if time.monotonic() >= started + waits:
                owner = holder.get("run_id") if holder else "unknown"
                raise TableLeaseError(
                    f"table {table} is being written by run {owner}; "
                    "two writers of one table are not allowed. Retry when that run ends."
                )
            time.sleep(0.2)

    def _try_create(self, table: str, run_id: str, path: Path, purpose: str) -> Lease | None:
        """Link a complete lease file into place; None if a lease already exists."""
        nonce = uuid.uuid4().hex
        expires = time.time() + self.ttl_seconds
        private = path.with_name(f".{path.name}.{nonce}")
        private.write_text(json.dumps(
            {"table": table, "run_id": run_id, "nonce": nonce, "expires_at": expires,
             "host": socket.gethostname(), "pid": os.getpid(), "purpose": purpose}))
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
    def hold(
        self, table: str, run_id: str, *, wait_seconds: float = 0.0, purpose: str = WRITE,
        patience: Mapping[str, float] | None = None,
    ) -> Iterator[Lease]:
        """Hold the lease for the duration of a block, renewing it, releasing it in `finally`.

        `purpose` and `patience` are those of `acquire`.

        The heartbeat is a daemon thread, so it never keeps a dying process alive; it is
        stopped and joined before the release, so it cannot take the release for a loss.
        """
        lease = self.acquire(table, run_id, wait_seconds=wait_seconds, purpose=purpose,
                             patience=patience)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(lease, stop), daemon=True,
                                name=f"lease-heartbeat-{table}-{lease.nonce[:8]}")
        try:
            beat.start()
            yield lease
        finally:
            stop.set()
            if beat.is_alive():
                beat.join()
            self.release(lease)

    def _heartbeat(self, lease: Lease, stop: threading.Event) -> None:
        """Renew until stopped or the lease is lost; a failed write is retried at the next beat.

        A beat that cannot write (a full disk, a flaky mount) must not end the renewals: the
        lease may still be ours at the next beat, and `Lease.check` reads the file anyway.
        """
        while not stop.wait(self.renew_every_seconds):
            try:
                if not self._renew(lease):
                    return
            except (OSError, ValueError):
                continue

    def _renew(self, lease: Lease) -> bool:
        """Push the lease file's expiry forward if it still holds our nonce; else record loss.

        The new body is written to a private file and moved into place, so a reader never sees
        a partial lease; the lock keeps a reclaim or release from interleaving with it.
        """
        with self._locked(lease.path):
            current = self._holder(lease.path)
            if current is None or current.get("nonce") != lease.nonce:
                lease._loss.record(_run_of(current))
                return False
            current["expires_at"] = time.time() + self.ttl_seconds
            private = lease.path.with_name(f".{lease.path.name}.{lease.nonce}.renew")
            try:
                private.write_text(json.dumps(current))
                os.replace(private, lease.path)
            finally:
                private.unlink(missing_ok=True)
        return True

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
        return _read(path)
