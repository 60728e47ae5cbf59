"""The alerting sensors and the test-alert job, evaluated against a real Dagster instance with
real runs, delivering to a real SMTP server on loopback; one end-to-end run with dagster-daemon."""

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.events import DagsterEvent, StepMaterializationData
from dagster._core.events.log import EventLogEntry

from recovery_platform.definitions import defs
from recovery_platform.defs.alert_sensors import (
    alert_delivery_sensor,
    asset_check_alert_sensor,
    bronze_stale_sensor,
    run_failure_alert_sensor,
    stale_tables,
)
from recovery_platform.defs.alerts import (
    SMTP_HOST_ENV,
    SMTP_PASSWORD_ENV,
    SMTP_PORT_ENV,
    SMTP_SECURITY_ENV,
    NotifierResource,
)
from recovery_platform.defs.checks import CHECKPOINT_CHECK
from recovery_platform.defs.freshness import bronze_freshness_policy, missed_deadline, shifted_cron
from recovery_platform.defs.resources import LakehouseResource, SourceResource
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.table_config import (
    DEFAULT_CONFIG_PATH,
    PlatformConfig,
    load_platform_config,
)
from recovery_platform.domain.sync.validation import Invariant
from recovery_platform_tests.domain.alerting.smtp_server import Capture, free_port, smtp_server
from recovery_platform_tests.domain.site import Site, make_site

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RECIPIENTS = {"CRITICAL": ["oncall@example.com", "admins@example.com"],
              "HIGH": ["admins@example.com"], "MEDIUM": ["admins@example.com"],
              "LOW": ["digest@example.com"]}
UI = "http://dagster.example:3000"


# ---------------------------------------------------------------- a real SMTP server on loopback

Mail = tuple[list[str], EmailMessage]


class Inbox:
    """The loopback SMTP server's accepted messages, parsed."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture

    @property
    def received(self) -> list[Mail]:
        return [(list(m.rcpt_tos), parse(m.content)) for m in self.capture.messages]

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while len(self.capture.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.received


def parse(content: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as (controller, capture):
        yield Inbox(capture), int(controller.port)


def body(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML parts."""
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


# ---------------------------------------------------------------- a lakehouse and an instance

def tables_yaml(folder: Path) -> str:
    """The checked-in tables.yaml with recipients per severity and a UI address."""
    loaded = yaml.safe_load(Path(DEFAULT_CONFIG_PATH).read_text())
    loaded["alerting"] = {"dagster_ui_url": UI, "recipients": RECIPIENTS,
                          "sender": "alerts@example.com"}
    path = folder / "tables.yaml"
    path.write_text(yaml.safe_dump(loaded))
    return str(path)


def lakehouse(site: Site) -> LakehouseResource:
    return LakehouseResource(root=site.lakehouse.root,
                             config_path=tables_yaml(Path(site.lakehouse.root).parent))


def notifier(port: int | None) -> NotifierResource:
    """SMTP on loopback (plain, no login), or nothing configured at all."""
    if port is None:
        return NotifierResource(smtp_host=None, smtp_port=None, smtp_security=None,
                                smtp_username=None, smtp_password=None,
                                slack_webhook_url=None, teams_webhook_url=None)
    return NotifierResource(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                            smtp_username=None, smtp_password=None, slack_webhook_url=None,
                            teams_webhook_url=None)


def alerts(site: Site, kind: str | None = None) -> list[dict[str, Any]]:
    return site.store.rows(MetadataTable.Alerts, equals={"AlertType": kind} if kind else None)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return make_site(tmp_path)


def failing_rollback(site: Site, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """A real failed run: a rollback to a checkpoint that does not exist is refused."""
    result = defs.resolve_job_def("rollback_job").execute_in_process(
        run_config={"ops": {"rollback": {"config": {
            "checkpoint_name": "no_such_checkpoint", "requested_by": "pytest"}}}},
        resources={"lakehouse": lakehouse(site)}, instance=instance, raise_on_error=False)
    assert not result.success
    return result


def tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, site: Site,
         port: int | None, cursor: str | None = None) -> Any:
    """One evaluation of `sensor` as the daemon runs it (cursor handling included)."""
    with dg.build_sensor_context(
        instance=instance, cursor=cursor,
        resources={"lakehouse": lakehouse(site), "notifier": notifier(port)},
    ) as context:
        return sensor.evaluate_tick(context)


def skip_reason(data: Any) -> str:
    return str(data.skip_message or "")


# ---------------------------------------------------------------- run failures

def test_a_failed_run_raises_one_run_failed_alert_and_mails_it(
    site: Site, instance: dg.DagsterInstance, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    start = tick(run_failure_alert_sensor, instance, site, port)
    result = failing_rollback(site, instance)

    first = tick(run_failure_alert_sensor, instance, site, port, cursor=start.cursor)
    # a crash before the cursor was saved: the same failure is evaluated again
    again = tick(run_failure_alert_sensor, instance, site, port, cursor=start.cursor)

    assert first.cursor != start.cursor and again.cursor == first.cursor
    [row] = alerts(site, "RunFailed")
    assert (row["PipelineRunId"], row["JobName"], row["Severity"]) == (
        result.run_id, "rollback_job", "CRITICAL")
    assert "no_such_checkpoint" in row["Message"]
    details = json.loads(row["DetailsJson"])
    assert details["job"] == "rollback_job" and "rollback" in details["steps"]
    assert row["DeliveryStatus"] == "Delivered"
    [(recipients, message)] = inbox.wait()
    assert sorted(recipients) == sorted(RECIPIENTS["CRITICAL"])
    assert message["Subject"].startswith("[CRITICAL]") and "rollback_job" in message["Subject"]
    text, html = body(message)
    for part in (text, html):
        assert result.run_id in part and "no_such_checkpoint" in part
        assert f"{UI}/runs/{result.run_id}" in part
        assert "runbook_alerts.md#runfailed" in part
        assert row["AlertId"] in part


def test_without_a_notifier_the_alert_is_kept_pending_and_nothing_fails(
    site: Site, instance: dg.DagsterInstance
) -> None:
    start = tick(run_failure_alert_sensor, instance, site, None)
    failing_rollback(site, instance)
    tick(run_failure_alert_sensor, instance, site, None, start.cursor)

    result = tick(alert_delivery_sensor, instance, site, None)

    assert not result.run_requests
    assert "no notifier configured" in skip_reason(result)
    assert [r["DeliveryStatus"] for r in alerts(site, "RunFailed")] == ["Pending"]


def test_the_delivery_sensor_sends_what_is_pending_and_survives_a_server_that_is_down(
    site: Site, instance: dg.DagsterInstance, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    start = tick(run_failure_alert_sensor, instance, site, None)
    failing_rollback(site, instance)
    tick(run_failure_alert_sensor, instance, site, None, start.cursor)

    down = tick(alert_delivery_sensor, instance, site, free_port())
    assert "1 failed" in skip_reason(down) and "notifier errors" in skip_reason(down)
    [row] = alerts(site, "RunFailed")
    assert (row["DeliveryStatus"], row["DeliveryAttempts"]) == ("Failed", 1)
    assert inbox.received == []

    site.store.upsert(MetadataTable.Alerts, [  # the backoff has passed
        {"AlertId": row["AlertId"], "LastAttemptAt": row["LastAttemptAt"] - timedelta(hours=1)}],
        key="AlertId")
    up = tick(alert_delivery_sensor, instance, site, port, down.cursor)

    assert "1 message(s) sent: 1 delivered" in skip_reason(up)
    assert [r["DeliveryStatus"] for r in alerts(site, "RunFailed")] == ["Delivered"]
    [(_, message)] = inbox.wait()
    assert "rollback_job" in message["Subject"]


# ---------------------------------------------------------------- asset checks

def test_failed_blocking_checks_of_bronze_tables_raise_one_alert_per_evaluation(
    site: Site, instance: dg.DagsterInstance
) -> None:
    account = dg.AssetKey(["bronze", "account"])
    selected = {dg.AssetCheckKey(account, Invariant.no_null_primary_keys.value),
                dg.AssetCheckKey(account, Invariant.unique_primary_key.value),
                dg.AssetCheckKey(account, CHECKPOINT_CHECK)}
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection=selected)
    run = job.execute_in_process(  # never synced: every selected check fails
        resources={"lakehouse": lakehouse(site), "source": SourceResource(
            landing_root=str(site.landing))}, instance=instance, raise_on_error=False)

    result = tick(asset_check_alert_sensor, instance, site, None)
    # a fresh cursor reads the same evaluations again: no second row
    tick(asset_check_alert_sensor, instance, site, None)

    rows = alerts(site, "AssetCheckFailed")
    checks = sorted(json.loads(r["DetailsJson"])["check"] for r in rows)
    assert checks == sorted([Invariant.no_null_primary_keys.value,
                             Invariant.unique_primary_key.value])  # the warning is not one
    for row in rows:
        details = json.loads(row["DetailsJson"])
        assert (row["TableName"], row["PipelineRunId"], row["Severity"]) == (
            "account", run.run_id, "HIGH")
        assert details["metadata"]["actual"] == "bronze table account has not been synced yet"
        assert "has not been synced yet" in row["Message"]
    assert "1 ended run(s), 3 check evaluation(s) read, 2 alert(s) written" in skip_reason(result)


# ---------------------------------------------------------------- freshness

def materialized_at(instance: dg.DagsterInstance, key: dg.AssetKey, when: datetime) -> None:
    """A materialization stored with an old timestamp, as one from days ago would be."""
    event = DagsterEvent(event_type_value=dg.DagsterEventType.ASSET_MATERIALIZATION.value,
                         job_name="__RUNLESS__",
                         event_specific_data=StepMaterializationData(
                             dg.AssetMaterialization(key)))
    instance.store_event(EventLogEntry(
        error_info=None, level="INFO", user_message="", run_id="", timestamp=when.timestamp(),
        dagster_event=event))


def test_the_bronze_policy_is_the_sync_cron_plus_the_grace_hours() -> None:
    platform = load_platform_config()
    policy = bronze_freshness_policy(platform)
    graph = defs.resolve_asset_graph()
    assert all(graph.get(dg.AssetKey(["bronze", t])).freshness_policy == policy
               for t in platform.table_names)
    day = datetime(2026, 3, 10, tzinfo=UTC)
    at = {h: day + timedelta(hours=h) for h in (2, 5)}
    synced_today, synced_yesterday = at[2] + timedelta(minutes=5), at[2] - timedelta(hours=23)
    assert missed_deadline(policy, synced_today, at[5] + timedelta(minutes=1)) is None
    assert missed_deadline(policy, synced_yesterday, at[5] - timedelta(minutes=1)) is None
    assert missed_deadline(policy, synced_yesterday, at[5] + timedelta(minutes=1)) == at[5]
    assert missed_deadline(policy, None, at[5] + timedelta(days=9)) is None
    assert shifted_cron("30 22 * * *", 3) == "30 1 * * *"
    assert shifted_cron("0 22 * * 1-5", 3) is None  # a weekday move: the time-window policy


def test_a_table_past_its_deadline_raises_bronze_stale_once(
    site: Site, instance: dg.DagsterInstance
) -> None:
    platform: PlatformConfig = load_platform_config()
    now = datetime.now(UTC)
    for table in platform.table_names:
        old = table == "contact"
        materialized_at(instance, dg.AssetKey(["bronze", table]),
                        now - timedelta(days=3) if old else now)
    sensor = bronze_stale_sensor(platform)

    first = tick(sensor, instance, site, None)
    second = tick(sensor, instance, site, None, first.cursor)

    assert list(stale_tables(platform, instance, now)) == ["contact"]
    [row] = alerts(site, "BronzeStale")
    assert (row["TableName"], row["Severity"]) == ("contact", "HIGH")
    assert "not synced by" in row["Message"]
    assert "1 new alert(s): contact" in skip_reason(first)
    assert "0 new alert(s)" in skip_reason(second)
    later = now + timedelta(days=2)  # the fresh tables miss the next deadlines too
    assert set(stale_tables(platform, instance, later)) == set(platform.table_names)


# ---------------------------------------------------------------- the test alert, the resource

def test_send_test_alert_job_delivers_at_once(
    site: Site, instance: dg.DagsterInstance, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    result = defs.resolve_job_def("send_test_alert_job").execute_in_process(
        run_config={"ops": {"send_test_alert": {"config": {"requested_by": "ops@example.com"}}}},
        resources={"lakehouse": lakehouse(site), "notifier": notifier(port)}, instance=instance)

    assert result.success
    [row] = alerts(site, "TestAlert")
    assert (row["DeliveryStatus"], row["JobName"]) == ("Delivered", "send_test_alert_job")
    [(recipients, message)] = inbox.wait()
    assert recipients == RECIPIENTS["MEDIUM"] and message["Subject"].startswith("[MEDIUM]")
    assert "ops@example.com" in body(message)[0]


def test_the_notifier_reads_env_vars_and_the_definitions_keep_secrets_in_env_vars(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SMTP_HOST_ENV, "smtp.example.org")
    monkeypatch.setenv(SMTP_PORT_ENV, "587")
    monkeypatch.setenv(SMTP_SECURITY_ENV, "starttls")
    monkeypatch.setenv(SMTP_PASSWORD_ENV, "s3cret")
    resource = NotifierResource()
    assert resource.environment()[SMTP_PORT_ENV] == "587"
    assert resource.environment()[SMTP_PASSWORD_ENV] == "s3cret"
    configured = NotifierResource.from_env()
    assert "s3cret" not in repr(configured)
    assert isinstance(configured.smtp_password, dg.EnvVar)
    assert configured.slack_webhook_url is None  # unset: no EnvVar that would fail a tick
    assert notifier(None).notifiers(load_platform_config().alerting) == []


# ---------------------------------------------------------------- end to end, with the daemon

def wait_for_first_tick(home: Path, sensor: str, timeout: float = 60.0) -> None:
    """Until the sensor has ticked once: its first tick only places its cursor at the latest
    failure, so a run failing before it would be taken for history."""
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            for state in instance.all_instigator_state():
                if state.instigator_name == sensor and instance.get_ticks(
                        state.instigator_origin_id, state.selector_id, limit=1):
                    return
            time.sleep(0.5)


def test_the_daemon_mails_a_failed_run(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    """A failed run launched on a real instance: the daemon's sensor writes and mails its alert."""
    inbox, port = smtp
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nsensors:\n  use_threads: false\n")
    (tmp_path / "workspace.yaml").write_text(
        f"load_from:\n  - python_module:\n      module_name: recovery_platform.definitions\n"
        f"      working_directory: {REPO}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOVERY_")}
    env.update({"DAGSTER_HOME": str(home), "RECOVERY_LAKEHOUSE_ROOT": str(tmp_path / "lake"),
                "RECOVERY_LANDING_ROOT": str(tmp_path / "landing"),
                "RECOVERY_TABLES_CONFIG": tables_yaml(tmp_path), SMTP_HOST_ENV: "127.0.0.1",
                SMTP_PORT_ENV: str(port), SMTP_SECURITY_ENV: "none"})
    with dg.DagsterInstance.from_config(str(home)):
        pass  # the storage exists before the daemon and the launcher would race to create it
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_first_tick(home, "run_failure_alert_sensor")
        config = json.dumps({"ops": {"rollback": {"config": {
            "checkpoint_name": "no_such_checkpoint", "requested_by": "e2e"}}}})
        launch = subprocess.run(
            [str(BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", "rollback_job",
             "--config-json", config], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120)
        assert launch.returncode == 0, launch.stdout + launch.stderr
        received = inbox.wait(timeout=150)
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    assert received, "no alert e-mail arrived from the daemon"
    _, message = received[0]
    assert message["Subject"].startswith("[CRITICAL]") and "rollback_job" in message["Subject"]
    assert "no_such_checkpoint" in body(message)[0]
