"""A lease whose holder process is gone from this host is reclaimed at once, not after expiry."""

import json
import os
import socket
import subprocess
import sys
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
