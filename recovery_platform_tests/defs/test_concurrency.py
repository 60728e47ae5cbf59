"""Two writers of one bronze table at once must be impossible.

The per-table lease is tested on its own (acquire, release, expiry, bad input, racing
processes), then end to end: real `daily_sync_job` runs in separate processes on one persistent
Dagster instance and one lakehouse, one of them paused while it holds the table's lease.
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from recovery_platform.domain.lakehouse.errors import TableLeaseError
from recovery_platform.domain.lakehouse.lease import MAINTENANCE, SYNC, LeaseStore
from recovery_platform.engine.deltars import DeltaRsEngine
from recovery_platform.sources import generate_demo_crm

TABLE = "account"
START = date(2026, 1, 5)


def test_acquire_records_the_holder_and_release_frees_the_table(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path))
    lease = store.acquire(TABLE, "run-a")
    assert store.holder(TABLE) == "run-a"
    body = json.loads(lease.path.read_text())
    assert body["run_id"] == "run-a" and body["expires_at"] > time.time()
    with pytest.raises(TableLeaseError, match="table account is being written by run run-a"):
        store.acquire(TABLE, "run-b")
    store.release(lease)
    assert store.holder(TABLE) is None
    store.release(store.acquire(TABLE, "run-b"))


def test_hold_releases_when_the_block_fails(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path))
    with pytest.raises(RuntimeError, match="boom"), store.hold(TABLE, "run-a"):
        raise RuntimeError("boom")
    assert store.holder(TABLE) is None


def test_leases_are_per_table(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path))
    with store.hold("account", "run-a"), store.hold("contact", "run-b"):
        assert (store.holder("account"), store.holder("contact")) == ("run-a", "run-b")


def test_an_expired_lease_is_reclaimed_and_its_late_release_frees_nothing(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path), ttl_seconds=0.05)
    dead = store.acquire(TABLE, "run-dead")
    time.sleep(0.1)
    alive = store.acquire(TABLE, "run-alive")
    store.release(dead)
    assert store.holder(TABLE) == "run-alive"
    store.release(alive)


def test_waiting_acquire_gets_the_lease_once_it_is_released(tmp_path: Path) -> None:
    store = LeaseStore(str(tmp_path))
    first = store.acquire(TABLE, "run-a")
    threading.Timer(0.3, store.release, args=(first,)).start()
    second = store.acquire(TABLE, "run-b", wait_seconds=10)
    assert store.holder(TABLE) == "run-b"
    store.release(second)


def test_a_sync_waits_for_a_tables_maintenance_but_not_for_another_sync(tmp_path: Path) -> None:
    """Sundays: maintenance holds each table for minutes; the sync waits for it, bounded."""
    store = LeaseStore(str(tmp_path))
    patience = {MAINTENANCE: 10.0}
    maintained = store.acquire(TABLE, "run-maintenance", purpose=MAINTENANCE)
    threading.Timer(0.5, store.release, args=(maintained,)).start()
    started = time.monotonic()
    synced = store.acquire(TABLE, "run-sync", purpose=SYNC, patience=patience)
    assert time.monotonic() - started >= 0.4 and store.holder(TABLE) == "run-sync"
    started = time.monotonic()
    with pytest.raises(TableLeaseError, match="being written by run run-sync"):
        store.acquire(TABLE, "run-second-sync", purpose=SYNC, patience=patience)
    assert time.monotonic() - started < 5
    store.release(synced)


@pytest.mark.parametrize("root", ["s3://bucket/lake", "abfss://c@acct.dfs.core.windows.net/x",
                                  "gs://bucket/lake"])
def test_non_local_roots_are_refused(root: str) -> None:
    with pytest.raises(ValueError, match=r"field 'lease_root'.*not a local path"):
        LeaseStore(root)


def test_file_uri_roots_are_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "leases"
    store = LeaseStore(f"file://{root}")
    lease = store.acquire(TABLE, "run-a")
    # the lease is the file under the local folder the URI names, the one a plain path sees
    assert lease.path == root / f"{TABLE}.lease"
    assert json.loads(lease.path.read_text())["run_id"] == "run-a"
    assert LeaseStore(str(root)).holder(TABLE) == "run-a"
    with pytest.raises(TableLeaseError, match="being written by run run-a"):
        LeaseStore(str(root)).acquire(TABLE, "run-b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leases"]  # no "file:" folder
    store.release(lease)
    assert not lease.path.exists() and LeaseStore(str(root)).holder(TABLE) is None


@pytest.mark.parametrize("table", ["../account", "account/x", "", "account; DROP", "a b"])
def test_bad_table_names_are_refused_and_nothing_is_written(tmp_path: Path, table: str) -> None:
    store = LeaseStore(str(tmp_path / "leases"))
    with pytest.raises(ValueError, match="field 'table'"):
        store.acquire(table, "run-a")
    assert not (tmp_path / "leases").exists() or not any((tmp_path / "leases").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["leases"])


RACE = """
import json, multiprocessing, sys
from recovery_platform.domain.lakehouse.errors import TableLeaseError
from recovery_platform.domain.lakehouse.lease import MAINTENANCE, SYNC, LeaseStore

def race(worker, barrier, results):
    store, won = LeaseStore(ROOT), []
    for round_ in range(ROUNDS):
        barrier.wait()
        try:
            store.acquire(f"t{round_}", f"run-{worker}")
            won.append(round_)
        except TableLeaseError:
            pass
    results.put(won)

ROOT, ROUNDS, WORKERS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
context = multiprocessing.get_context("fork")
barrier, results = context.Barrier(WORKERS), context.Queue()
processes = [context.Process(target=race, args=(i, barrier, results)) for i in range(WORKERS)]
for process in processes:
    process.start()
won = [results.get(timeout=120) for _ in processes]
for process in processes:
    process.join(timeout=60)
print(json.dumps([round_ for rounds in won for round_ in rounds]))
"""


def _winners(root: Path, rounds: int, workers: int = 6) -> Counter[int]:
    """Processes racing for a fresh table each round; how many won each round."""
    done = subprocess.run([sys.executable, "-c", RACE, str(root), str(rounds), str(workers)],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return Counter(json.loads(done.stdout))


def test_racing_processes_never_both_get_a_fresh_lease(tmp_path: Path) -> None:
    rounds = 200
    winners = _winners(tmp_path, rounds)
    assert [winners[r] for r in range(rounds)] == [1] * rounds


def test_racing_processes_never_both_reclaim_an_expired_lease(tmp_path: Path) -> None:
    rounds = 200
    for r in range(rounds):
        (tmp_path / f"t{r}.lease").write_text(
            json.dumps({"table": f"t{r}", "run_id": "dead", "expires_at": 1.0}))
    winners = _winners(tmp_path, rounds)
    assert [winners[r] for r in range(rounds)] == [1] * rounds


DRIVER = """
import json, os, sys, time
from datetime import date
from pathlib import Path
import dagster as dg
from recovery_platform.definitions import build_definitions
from recovery_platform.defs.resources import SourceResource
from recovery_platform.sources import LocalSnapshotSource


class PausingSource(LocalSnapshotSource):
    # A real local source that stops inside the writer's lease until the test says go.
    def extract(self, table, day):
        Path(os.environ["PAUSED_FILE"]).touch()
        while not Path(os.environ["GO_FILE"]).exists():
            time.sleep(0.05)
        return super().extract(table, day)


class PausingSourceResource(SourceResource):
    def connector(self, config):
        return PausingSource(self.landing_root, allowed_tables=config.table_names)


run_id, day, pause = sys.argv[1], sys.argv[2], sys.argv[3] == "pause"
defs = build_definitions()
if pause:
    defs = dg.Definitions(assets=defs.assets, jobs=defs.jobs,
                          resources={**defs.resources, "source": PausingSourceResource()})
job = defs.resolve_job_def("daily_sync_job")
result = job.execute_in_process(
    run_config={"ops": {"daily_sync": {"config": {"sync_date": day, "requested_by": "test"}}}},
    instance=dg.DagsterInstance.get(), run_id=run_id, raise_on_error=False,
    asset_selection=[dg.AssetKey(["bronze", "account"])],
)
errors = [e.step_failure_data.error.message for e in result.all_events if e.is_step_failure]
print(json.dumps({"success": result.success, "errors": errors}))
"""


class Lakehouse:
    """One lakehouse, landing folder and persistent Dagster instance shared by every process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "dagster_home"
        self.home.mkdir()
        (self.home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        (root / "driver.py").write_text(DRIVER)
        generate_demo_crm(root / "landing", start=START, days=3, scale=50, tables=[TABLE],
                          daily_churn=0.08)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVERY_")}
        self.env.update(DAGSTER_HOME=str(self.home), RECOVERY_LAKEHOUSE_ROOT=str(root / "lake"),
                        RECOVERY_LANDING_ROOT=str(root / "landing"),
                        PAUSED_FILE=str(root / "paused"), GO_FILE=str(root / "go"))
        self.table = root / "lake" / "bronze" / TABLE

    def start(self, run_id: str, day: date, *, pause: bool = False) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(self.root / "driver.py"), run_id, day.isoformat(),
             "pause" if pause else "run"],
            env=self.env, cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )

    @staticmethod
    def outcome(process: subprocess.Popen[str]) -> dict[str, object]:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
        return dict(json.loads(stdout.strip().splitlines()[-1]))

    def run(self, run_id: str, day: date) -> dict[str, object]:
        return self.outcome(self.start(run_id, day))

    def log_files(self) -> list[str]:
        return sorted(p.name for p in (self.table / "_delta_log").iterdir())


@pytest.fixture
def lakehouse(tmp_path: Path) -> Iterator[Lakehouse]:
    house = Lakehouse(tmp_path)
    yield house
    (tmp_path / "go").touch()  # never leave a paused writer behind


def _wait_for(path: Path, writer: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert writer.poll() is None, writer.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the paused writer never reached its lease"
        time.sleep(0.1)


def test_a_second_sync_of_a_leased_table_is_refused_and_commits_keep_their_order(
    lakehouse: Lakehouse,
) -> None:
    first, holder, refused, last = (str(uuid.uuid4()) for _ in range(4))
    assert lakehouse.run(first, START)["success"]

    writer = lakehouse.start(holder, START + timedelta(days=1), pause=True)
    _wait_for(lakehouse.root / "paused", writer)
    assert LeaseStore(str(lakehouse.root / "lake" / "_leases")).holder(TABLE) == holder
    log_before = lakehouse.log_files()

    second = lakehouse.run(refused, START + timedelta(days=1))
    assert not second["success"]
    assert f"table account is being written by run {holder}" in " ".join(second["errors"])
    assert lakehouse.log_files() == log_before

    (lakehouse.root / "go").touch()
    assert lakehouse.outcome(writer)["success"]
    assert lakehouse.run(last, START + timedelta(days=2))["success"]

    history = DeltaRsEngine(storage_options={}).history(str(lakehouse.table))
    writers = [c.user_metadata.get("recovery_platform.run_id") for c in reversed(history)]
    assert [w for w in writers if w is not None] == [first, holder, last]
    assert not (lakehouse.root / "lake" / "_leases" / f"{TABLE}.lease").exists()

    instance = dg.DagsterInstance.from_config(str(lakehouse.home))
    statuses = {run_id: instance.get_run_by_id(run_id).status  # type: ignore[union-attr]
                for run_id in (first, holder, refused, last)}
    assert statuses == {first: dg.DagsterRunStatus.SUCCESS, holder: dg.DagsterRunStatus.SUCCESS,
                        refused: dg.DagsterRunStatus.FAILURE, last: dg.DagsterRunStatus.SUCCESS}
