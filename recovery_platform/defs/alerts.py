"""Alerts in Dagster: the notifier resource, one delivery call every sensor shares, a test job.

Transports and delivery rules live in `domain/alerting`; this module only says where their
settings come from (env vars, through `dg.EnvVar` so the UI shows names, never secrets) and runs
delivery against the lakehouse. The sensors that raise and deliver alerts are in
`defs/alert_sensors.py`.
"""

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from pydantic import Field

from recovery_platform.defs.resources import LakehouseResource
from recovery_platform.domain.alerting.delivery import DeliveryReport, deliver_pending
from recovery_platform.domain.alerting.email import EmailNotifier, settings_from_env
from recovery_platform.domain.alerting.message import Notifier
from recovery_platform.domain.alerting.webhooks import webhooks_from_env
from recovery_platform.domain.lakehouse.audit import Actor, AuditTrail
from recovery_platform.domain.lakehouse.location import Lakehouse
from recovery_platform.domain.lakehouse.metadata_schema import MetadataTable
from recovery_platform.domain.lakehouse.table_config import AlertingSettings

SMTP_HOST_ENV = "RECOVERY_SMTP_HOST"
SMTP_PORT_ENV = "RECOVERY_SMTP_PORT"
SMTP_SECURITY_ENV = "RECOVERY_SMTP_SECURITY"
SMTP_USERNAME_ENV = "RECOVERY_SMTP_USERNAME"
SMTP_PASSWORD_ENV = "RECOVERY_SMTP_PASSWORD"
SLACK_WEBHOOK_ENV = "RECOVERY_SLACK_WEBHOOK_URL"
TEAMS_WEBHOOK_ENV = "RECOVERY_TEAMS_WEBHOOK_URL"
SECRET_ENVS = (SMTP_PASSWORD_ENV, SLACK_WEBHOOK_ENV, TEAMS_WEBHOOK_ENV)
"""Values that grant access (a password, webhook URLs carrying their token): `dg.EnvVar` only."""

Alert = tuple[str, str, str | None, Mapping[str, Any]]
"""An alert to write: kind, message, table (or None), details."""

_DELIVERY = threading.Lock()
"""Sensors of one code server run in threads: one delivery at a time, so none sends twice."""


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _env_port() -> int | None:
    value = _env(SMTP_PORT_ENV)
    return int(value) if value else None


@dataclass(frozen=True)
class Configured:
    """The notifiers that could be built, and why the others could not."""

    notifiers: list[Notifier] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class NotifierResource(dg.ConfigurableResource):
    """Where alert messages go: SMTP and chat webhooks, all optional.

    Every field defaults to its `RECOVERY_*` env var; the definitions pass the secret ones as
    `dg.EnvVar` (see `from_env`). Nothing configured is a valid state: alerts stay Pending and
    are shown as undelivered, never an error. Recipients per severity and the webhook host
    allowlist are not secrets and live in tables.yaml (`alerting:`).
    """

    smtp_host: str | None = Field(default_factory=lambda: _env(SMTP_HOST_ENV))
    smtp_port: int | None = Field(default_factory=_env_port)
    smtp_security: str | None = Field(
        default_factory=lambda: _env(SMTP_SECURITY_ENV),
        description="starttls, ssl or none (see docs/runbook_alerts.md).")
    smtp_username: str | None = Field(default_factory=lambda: _env(SMTP_USERNAME_ENV))
    smtp_password: str | None = Field(default_factory=lambda: _env(SMTP_PASSWORD_ENV))
    slack_webhook_url: str | None = Field(default_factory=lambda: _env(SLACK_WEBHOOK_ENV))
    teams_webhook_url: str | None = Field(default_factory=lambda: _env(TEAMS_WEBHOOK_ENV))

    @classmethod
    def from_env(cls) -> "NotifierResource":
        """The resource of the definitions: secrets that are set become `dg.EnvVar`s.

        Dagster then resolves them when a sensor or run starts and shows only their names; an
        unset one stays None (an `EnvVar` of an unset variable would fail every tick).
        """
        def secret(name: str) -> str | None:
            return dg.EnvVar(name) if _env(name) else None

        return cls(smtp_password=secret(SMTP_PASSWORD_ENV),
                   slack_webhook_url=secret(SLACK_WEBHOOK_ENV),
                   teams_webhook_url=secret(TEAMS_WEBHOOK_ENV))

    def environment(self) -> dict[str, str]:
        """The settings as the transports read them: env-var names to values, unset left out."""
        values = {SMTP_HOST_ENV: self.smtp_host, SMTP_PORT_ENV: self.smtp_port,
                  SMTP_SECURITY_ENV: self.smtp_security, SMTP_USERNAME_ENV: self.smtp_username,
                  SMTP_PASSWORD_ENV: self.smtp_password, SLACK_WEBHOOK_ENV: self.slack_webhook_url,
                  TEAMS_WEBHOOK_ENV: self.teams_webhook_url}
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def configured(self, settings: AlertingSettings) -> Configured:
        """Every transport that is configured, each built on its own.

        A misconfigured one (a webhook host outside the allowlist, a bad port) is reported and
        left out, so it never keeps the others from delivering.
        """
        env = self.environment()
        found = Configured()
        try:
            smtp = settings_from_env(env)
            if smtp is not None:
                found.notifiers.append(EmailNotifier(smtp, settings.sender))
        except Exception as exc:  # reported beside the delivery, never raised
            found.problems.append(f"e-mail: {exc}")
        try:
            found.notifiers.extend(webhooks_from_env(env, settings))
        except Exception as exc:
            found.problems.append(f"webhooks: {exc}")
        return found

    def notifiers(self, settings: AlertingSettings) -> list[Notifier]:
        """The configured notifiers; [] when none is. Raises when one is misconfigured."""
        found = self.configured(settings)
        if found.problems:
            raise ValueError("; ".join(found.problems))
        return found.notifiers


@dataclass(frozen=True)
class Delivery:
    """What one delivery call did, and the notifiers it could not build."""

    report: DeliveryReport
    problems: list[str]

    def describe(self) -> str:
        """One line for a sensor's SkipReason and a run's log."""
        r = self.report
        text = (f"{r.messages_sent} message(s) sent: {r.delivered} delivered, {r.suppressed} "
                f"suppressed as repeats, {r.failed} failed ({r.failed_for_good} for good), "
                f"{r.pending} pending")
        if r.note:
            text += f" ({r.note})"
        if r.errors:
            text += "; notifier errors: " + " | ".join(r.errors)
        if self.problems:
            text += "; not configured correctly: " + " | ".join(self.problems)
        return text


def has_alerts(house: Lakehouse) -> bool:
    """Whether the lakehouse has an Alerts table; a sensor never creates a lakehouse."""
    return house.engine.table_exists(house.metadata_uri(MetadataTable.Alerts))


def deliver(
    instance: dg.DagsterInstance,
    lakehouse: LakehouseResource,
    notifier: NotifierResource,
    *,
    house: Lakehouse | None = None,
    cursor: str | None = None,
) -> Delivery:
    """Send every due alert now; notifier errors are recorded on the rows, never raised.

    Rows written without a job name get it from the Dagster instance (their run's job).
    """
    house = house or lakehouse.metadata_lakehouse()
    settings = house.config.alerting
    configured = notifier.configured(settings)
    store = lakehouse.metadata(house)
    if not has_alerts(house):
        return Delivery(DeliveryReport(cursor=cursor, note="no alerts yet"), configured.problems)
    store.ensure_tables()

    def job_of(run_id: str) -> str | None:
        run = instance.get_run_by_id(run_id)
        return run.job_name if run else None

    with _DELIVERY:
        report = deliver_pending(store, settings, configured.notifiers, now=datetime.now(UTC),
                                 cursor=cursor, job_of=job_of)
    return Delivery(report, configured.problems)


def raise_alert(
    lakehouse: LakehouseResource,
    house: Lakehouse,
    run_id: str,
    alerts: Sequence[Alert],
    *,
    job_name: str | None,
    requested_by: str | None = None,
) -> None:
    """Write alert rows (kind, message, table, details) of one run in one commit."""
    store = lakehouse.metadata(house)
    store.ensure_tables(run_id)
    audit = AuditTrail(store, run_id, Actor(requested_by=requested_by), job_name=job_name)
    for kind, message, table, details in alerts:
        audit.alert(kind, message, table=table, details=details)
    audit.flush()


class AlertTestConfig(dg.Config):
    """Launchpad fields of a test alert."""

    requested_by: str = Field(default="admin", description="Who sent it (in the message).")
    note: str = Field(default="", description="Optional text shown in the message.")


@dg.op
def send_test_alert(
    context: dg.OpExecutionContext,
    config: AlertTestConfig,
    lakehouse: LakehouseResource,
    notifier: NotifierResource,
) -> str:
    """Write a `TestAlert` row and deliver it at once; the run fails if nothing accepted it.

    A failed run here means delivery does not work (no notifier, refused, unreachable): the
    run's error names why, and the row stays in Alerts to be retried like any other.
    """
    house = lakehouse.lakehouse()
    message = f"Test alert sent by {config.requested_by}" + (
        f": {config.note}" if config.note else "")
    raise_alert(lakehouse, house, context.run.run_id,
                [("TestAlert", message, None, {"requested_by": config.requested_by})],
                job_name=context.job_name, requested_by=config.requested_by)
    delivery = deliver(context.instance, lakehouse, notifier, house=house)
    summary = delivery.describe()
    context.log.info(summary)
    rows = lakehouse.metadata(house).rows(
        MetadataTable.Alerts, equals={"PipelineRunId": context.run.run_id})
    status = {str(r["DeliveryStatus"]) for r in rows if r["AlertType"] == "TestAlert"}
    if status != {"Delivered"}:
        hint = (f" (LOW alerts go out as one digest per {house.config.alerting.low_digest_hours}"
                " h: if one went out lately, this one waits for the next)"
                if status == {"Pending"} and not delivery.report.note else "")
        raise dg.Failure(description=f"the test alert was not delivered ({', '.join(status)})"
                         f"{hint}: {summary}")
    return summary


@dg.job(description="Send a test alert through every configured notifier (README: Alerts).")
def send_test_alert_job() -> None:
    """Shows that SMTP / Slack / Teams settings work, end to end."""
    send_test_alert()
