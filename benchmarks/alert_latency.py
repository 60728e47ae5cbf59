"""Alert latency and delivery cost: `python -m benchmarks.alert_latency [--runs 3]`.

1. End to end with the daemon: a failing `rollback_job` is launched on a fresh instance with
   `dagster-daemon run`; the figure is from the run's end (its record's end time) to the
   message accepted by an SMTP server on loopback (aiosmtpd). Target: median <= 60 s,
   worst <= 90 s (issue 16).
2. `alert_delivery_sensor`'s tick with 10,000 rows in `metadata.Alerts` (delivered history and
   a few pending alerts), delivering to the same server. Target: <= 1 s per tick.

Writes `benchmarks/results/alerts.json` and `.md`.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from aiosmtpd.controller import Controller

from recovery_platform.defs.alert_sensors import alert_delivery_sensor
from recovery_platform.defs.alerts import NotifierResource
from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.metadata_store import MetadataStore
from recovery_platform.domain.lakehouse.table_config import (
    DEFAULT_CONFIG_PATH,
    load_platform_config,
)
from recovery_platform.engine.deltars import DeltaRsEngine

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = Path(__file__).parent / "results"


class _Capture:
    def __init__(self) -> None:
        self.accepted: list[float] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted.append(time.time())
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[_Capture, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    capture = _Capture()
    controller = Controller(capture, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield capture, port
    finally:
        controller.stop()


def tables_yaml(folder: Path) -> Path:
    loaded = yaml.safe_load(Path(DEFAULT_CONFIG_PATH).read_text())
    loaded["alerting"] = {"recipients": {s: ["ops@example.com"]
                                         for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW")}}
    path = folder / "tables.yaml"
    path.write_text(yaml.safe_dump(loaded))
    return path


def _wait_first_tick(home: Path, sensor: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            for state in instance.all_instigator_state():
                if state.instigator_name == sensor and instance.get_ticks(
                        state.instigator_origin_id, state.selector_id, limit=1):
                    return
            time.sleep(0.5)


def daemon_latency(work: Path, runs: int) -> list[float]:
    """Seconds from each failed run's end to the SMTP server accepting its alert."""
    home = work / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (work / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: recovery_platform.definitions\n"
        f"      working_directory: {REPO}\n")
    latencies: list[float] = []
    with smtp_server() as (capture, port):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVERY_")}
        env.update({"DAGSTER_HOME": str(home), "RECOVERY_LAKEHOUSE_ROOT": str(work / "lake"),
                    "RECOVERY_LANDING_ROOT": str(work / "landing"),
                    "RECOVERY_TABLES_CONFIG": str(tables_yaml(work)),
                    "RECOVERY_SMTP_HOST": "127.0.0.1", "RECOVERY_SMTP_PORT": str(port),
                    "RECOVERY_SMTP_SECURITY": "none"})
        with dg.DagsterInstance.from_config(str(home)):
            pass  # create the storage before two processes race to
        daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                  cwd=work, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_first_tick(home, "run_failure_alert_sensor")
            for attempt in range(runs):
                latencies.append(_one_failure(work, env, home, capture, attempt))
                print(f"run {attempt + 1}: {latencies[-1]:.1f} s", flush=True)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
    return latencies


def _one_failure(work: Path, env: dict[str, str], home: Path, capture: _Capture,
                 attempt: int) -> float:
    before = len(capture.accepted)
    config = json.dumps({"ops": {"rollback": {"config": {
        # a different checkpoint each time: a different failure, never deduplicated
        "checkpoint_name": f"missing_{attempt}_{uuid.uuid4().hex[:6]}",
        "requested_by": "benchmark"}}}})
    launch = subprocess.run(
        [str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", "rollback_job",
         "--config-json", config], cwd=work, env=env, capture_output=True, text=True,
        timeout=180)
    if launch.returncode != 0:
        raise RuntimeError(launch.stdout + launch.stderr)
    deadline = time.monotonic() + 300
    while len(capture.accepted) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    if len(capture.accepted) == before:
        raise RuntimeError("no alert arrived within 300 s")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [record] = instance.get_run_records(filters=dg.RunsFilter(job_name="rollback_job"),
                                            limit=1)
        ended = record.end_time
    if ended is None:
        raise RuntimeError("the run has no end time")
    return capture.accepted[before] - ended


def tick_cost(work: Path, rows: int, ticks: int) -> list[float]:
    """Seconds per delivery tick with `rows` alert rows, 5 of them pending each tick."""
    root = work / "tick-lake"
    house = Lakehouse(root=str(root), config=load_platform_config(), engine=DeltaRsEngine())
    store = MetadataStore(house)
    store.ensure_tables("benchmark")
    start = datetime.now(UTC) - timedelta(days=30)
    history = [_row(start + timedelta(minutes=i), "Delivered", i) for i in range(rows)]
    store.append(MetadataTable.Alerts, history)
    seconds: list[float] = []
    with smtp_server() as (_, port), dg.instance_for_test() as instance:
        resources = {"lakehouse": LakehouseResource(root=str(root),
                                                    config_path=str(tables_yaml(work))),
                     "notifier": NotifierResource(smtp_host="127.0.0.1", smtp_port=port,
                                                  smtp_security="none", smtp_username=None,
                                                  smtp_password=None, slack_webhook_url=None,
                                                  teams_webhook_url=None)}
        for tick in range(ticks):
            store.append(MetadataTable.Alerts, [
                _row(datetime.now(UTC), "Pending", rows + tick * 10 + i) for i in range(5)])
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                clock = time.perf_counter()
                alert_delivery_sensor.evaluate_tick(context)
                seconds.append(time.perf_counter() - clock)
    return seconds


def _row(created: datetime, status: str, n: int) -> dict[str, Any]:
    delivered = status == "Delivered"
    return {"AlertId": str(uuid.uuid4()), "PipelineRunId": f"run-{n // 5}", "CreatedAt": created,
            "Severity": "HIGH", "AlertType": "SyncHeld", "TableName": f"table_{n % 50}",
            "Message": f"table_{n % 50} held: {n} deletions", "DetailsJson": "{}",
            "DeliveryStatus": status, "DeliveryAttempts": 1 if delivered else 0,
            "LastAttemptAt": created if delivered else None,
            "DeliveredAt": created if delivered else None,
            "DedupKey": f"SyncHeld|table_{n % 50}|{n}", "JobName": "daily_sync_job"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="failed runs measured end to end")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--skip-daemon", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="recovery-alerts-"))
    try:
        ticks = tick_cost(work, args.rows, args.ticks)
        latency = [] if args.skip_daemon else daemon_latency(work, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "tick_rows": args.rows, "tick_seconds": [round(s, 3) for s in ticks],
        "tick_median_seconds": round(statistics.median(ticks), 3),
        "tick_worst_seconds": round(max(ticks), 3),
        "latency_seconds": [round(s, 1) for s in latency],
    }
    if latency:
        result["latency_median_seconds"] = round(statistics.median(latency), 1)
        result["latency_worst_seconds"] = round(max(latency), 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "alerts.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["# Alert latency and delivery cost", "",
             f"Measured {result['measured_at']} on {result['cpus']} CPUs.", "",
             "| Figure | Median | Worst | Target |", "|---|---|---|---|",
             f"| delivery tick, {args.rows:,} alert rows | {result['tick_median_seconds']} s | "
             f"{result['tick_worst_seconds']} s | <= 1 s |"]
    if latency:
        lines.append(f"| run failure -> SMTP accept ({len(latency)} runs, daemon) | "
                     f"{result['latency_median_seconds']} s | {result['latency_worst_seconds']} s"
                     " | <= 60 s median, <= 90 s worst |")
    (args.out / "alerts.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
