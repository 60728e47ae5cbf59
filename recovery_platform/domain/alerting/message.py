"""What a notifier sends, and the one method every notifier has.

Delivery (which alerts, grouped how, retried when) and transport (SMTP, a chat webhook) are
separate, so each transport is tested against a real server and delivery against real metadata
without either knowing the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from recovery_platform.domain.lakehouse.vocabulary import AlertSeverity

__all__ = ["AlertMessage", "Notifier", "NotifierError"]


@dataclass(frozen=True)
class AlertMessage:
    """One message about one or more alert rows (all alerts of a run go in one message).

    `text` and `html` carry the same content; chat notifiers use `title`, `facts` and `text`.
    Every field may hold user- or error-provided text: transports must escape it, never paste
    it into headers or JSON by hand.
    """

    severity: AlertSeverity
    """The highest severity among the alerts."""
    subject: str
    """One line, e.g. "[CRITICAL] 5 tables failed in daily_sync_job"."""
    text: str
    html: str
    alert_ids: tuple[str, ...]
    """Every alert the message covers: a receiver can tell a resend after a crash."""
    recipients: tuple[str, ...] = ()
    """E-mail recipients chosen by severity (configuration); chat notifiers ignore them."""
    link: str | None = None
    """The run in the Dagster UI."""
    facts: Mapping[str, str] = field(default_factory=dict)
    """Short labelled values for chat cards: severity, job, run id, tables, time."""


class NotifierError(Exception):
    """A message was not accepted (server down, refused, bad response); it will be retried."""


class Notifier(Protocol):
    """A transport that delivers a message, or raises `NotifierError`."""

    name: str
    """Recorded with each delivery, e.g. "email" or "slack"."""

    def send(self, message: AlertMessage) -> None:
        """Deliver `message`; return only once the receiver accepted it."""
