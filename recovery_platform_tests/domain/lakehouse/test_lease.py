"""A lease whose holder process is gone from this host is reclaimed at once, not after expiry.

A lease held through `hold` is renewed by a heartbeat, so a run longer than the ttl keeps it; one
taken over meanwhile is reported lost before the next commit.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recovery_platform.domain.lakehouse.errors import TableLeaseError
from recovery_platform.domain.lakehouse.lease import LeaseStore


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _write(root: Path, table: str, **body: object) -> None:
    root.mkdir(parents=True, exist_ok=True)
    full = {"table": table, "nonce": "n", "expires_at": time.time() + 3600, **body}
    (root / f"{table}.lease").write_text(json.dumps(full))


def test_a_lease_of_a_dead_process_on_this_host_is_reclaimed(tmp_path: Path) -> None:
    _write(tmp_path, "account", run_id="killed", host=socket.gethostname(), pid=_dead_pid())
    store = LeaseStore(str(tmp_path))

    lease = store.acquire("account", "rerun")

    assert store.holder("account") == "rerun"
    store.release(lease)
    assert store.holder("account") is None


def test_a_lease_of_a_live_process_is_respected(tmp_path: Path) -> None:
    _write(tmp_path, "account", run_id="alive", host=socket.gethostname(), pid=os.getpid())
    with pytest.raises(TableLeaseError, match="being written by run alive"):
        LeaseStore(str(tmp_path)).acquire("account", "second")
    assert LeaseStore(str(tmp_path)).holder("account") == "alive"


def test_a_lease_of_another_host_waits_for_its_expiry(tmp_path: Path) -> None:
    _write(tmp_path, "account", run_id="remote", host="another-host", pid=_dead_pid())
    with pytest.raises(TableLeaseError, match="being written by run remote"):
        LeaseStore(str(tmp_path)).acquire("account", "second")


def _heartbeats() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lease-heartbeat-")]


def test_a_held_lease_outlives_its_ttl_while_the_run_works(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path), ttl_seconds=0.6, renew_every_seconds=0.1)
    other = LeaseStore(str(tmp_path), ttl_seconds=0.6)
    refusals = 0
    with store.hold("account", "long-run") as lease:
        deadline = time.monotonic() + 2.0  # more than three ttls of slow work
        while time.monotonic() < deadline:
            with pytest.raises(TableLeaseError, match="being written by run long-run"):
                other.acquire("account", "intruder", wait_seconds=0)
            refusals += 1
            time.sleep(0.05)
        lease.check()
        assert not lease.lost
    assert refusals > 10
    assert other.holder("account") is None
    other.release(other.acquire("account", "next-run"))


def test_a_taken_over_lease_is_reported_lost_and_its_release_frees_nothing(
    tmp_path: Path,
) -> None:
    store = LeaseStore(str(tmp_path), ttl_seconds=0.6, renew_every_seconds=0.05)
    other = LeaseStore(str(tmp_path))
    with store.hold("account", "slow-run") as lease:
        lease.path.unlink()  # as if the lease had expired and been reclaimed
        taken = other.acquire("account", "new-run")
        deadline = time.monotonic() + 2.0
        while not lease.lost and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lease.lost  # found by the heartbeat, not only by `check`
        with pytest.raises(TableLeaseError, match="slow-run lost the lease of table account: "
                                                  "it is now held by run new-run"):
            lease.check()
    assert other.holder("account") == "new-run"
    assert json.loads(taken.path.read_text())["nonce"] == taken.nonce
    other.release(taken)


def test_a_lease_gone_without_a_new_holder_is_lost_to_nobody(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path), ttl_seconds=0.6, renew_every_seconds=0.05)
    with store.hold("account", "slow-run") as lease:
        lease.path.unlink()
        with pytest.raises(TableLeaseError, match="now held by nobody"):
            lease.check()


def test_the_heartbeat_stops_on_release(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path), ttl_seconds=0.6, renew_every_seconds=0.1)
    before = _heartbeats()
    with store.hold("account", "run-a"):
        running = [t for t in _heartbeats() if t not in before]
        assert len(running) == 1 and running[0].daemon
    assert not running[0].is_alive()
    assert _heartbeats() == before


def test_the_heartbeat_stops_when_the_block_raises(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path), ttl_seconds=0.6, renew_every_seconds=0.1)
    before = _heartbeats()
    with pytest.raises(RuntimeError, match="boom"), store.hold("account", "run-a"):
        raise RuntimeError("boom")
    assert _heartbeats() == before and store.holder("account") is None


def test_renewal_must_come_before_expiry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="renew_every_seconds"):
        LeaseStore(str(tmp_path), ttl_seconds=1.0, renew_every_seconds=1.0)
