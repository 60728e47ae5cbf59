"""E-mail alerts over SMTP (stdlib `smtplib`): STARTTLS or SMTPS, login from env vars.

An alert's subject and text hold table names and error texts nobody on the platform controls,
so every header value is squeezed to one line of printable characters before the `email`
package (which refuses line breaks in headers itself) sees it: a CR/LF can never add a header or
a recipient. Every failure to hand the message over becomes a `NotifierError` saying which
server and which step failed, so the delivery sensor records a cause an admin can act on.
"""

from __future__ import annotations

import html
import smtplib
import ssl
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from typing import Literal, cast, get_args

from recovery_platform.domain.alerting.message import AlertMessage, NotifierError
from recovery_platform.domain.lakehouse.errors import InvalidInputError

__all__ = [
    "DEFAULT_PORTS",
    "EmailNotifier",
    "SmtpSecurity",
    "SmtpSettings",
    "build_email",
    "one_line",
    "settings_from_env",
]

SmtpSecurity = Literal["starttls", "ssl", "none"]
SECURITIES: tuple[str, ...] = get_args(SmtpSecurity)
DEFAULT_PORTS: Mapping[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
MAX_SUBJECT_CHARS = 200


def one_line(value: str, *, limit: int | None = None) -> str:
    """`value` as one header-safe line: control and line-separator characters become spaces.

    The `email` policy would refuse a CR/LF; stripping them here means a hostile table name or
    error text degrades to a harmless subject instead of making the alert undeliverable.
    """
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in value
    )
    cleaned = " ".join(cleaned.split())
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand messages to the SMTP server (secrets come from env vars)."""

    host: str
    port: int
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_seconds: float = 20.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    """None: the system's trusted CAs with hostname checking (tests pass their own)."""

    def __post_init__(self) -> None:
        if not self.host or one_line(self.host) != self.host:
            raise InvalidInputError("RECOVERY_SMTP_HOST", f"not a host name: {self.host!r}")
        if not 0 < self.port < 65536:
            raise InvalidInputError("RECOVERY_SMTP_PORT", f"{self.port} is not a TCP port "
                                    "(1-65535)")
        if self.security not in SECURITIES:
            raise InvalidInputError("RECOVERY_SMTP_SECURITY", f"unknown {self.security!r}",
                                    allowed=SECURITIES)
        if self.username is not None and self.security == "none":
            raise InvalidInputError("RECOVERY_SMTP_SECURITY", "a login (RECOVERY_SMTP_USERNAME)"
                                    " needs starttls or ssl, or the password travels in clear "
                                    "text", allowed=("starttls", "ssl"))
        if self.timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, got {self.timeout_seconds}")

    @property
    def where(self) -> str:
        """host:port, for error messages."""
        return f"{self.host}:{self.port}"


def settings_from_env(env: Mapping[str, str]) -> SmtpSettings | None:
    """SMTP settings from RECOVERY_SMTP_* variables; None when RECOVERY_SMTP_HOST is unset.

    Raises:
        InvalidInputError (a ValueError): a bad port or security, naming the variable and the
            allowed values, so a typo fails at startup instead of at the first alert.
    """
    host = env.get("RECOVERY_SMTP_HOST", "").strip()
    if not host:
        return None
    security = env.get("RECOVERY_SMTP_SECURITY", "").strip().lower() or "starttls"
    if security not in SECURITIES:
        raise InvalidInputError("RECOVERY_SMTP_SECURITY", f"unknown value {security!r}",
                                allowed=SECURITIES)
    port_text = env.get("RECOVERY_SMTP_PORT", "").strip()
    try:
        port = int(port_text) if port_text else DEFAULT_PORTS[security]
    except ValueError:
        raise InvalidInputError("RECOVERY_SMTP_PORT", f"{port_text!r} is not a number",
                                allowed=("1-65535",)) from None
    username = env.get("RECOVERY_SMTP_USERNAME", "").strip() or None
    password = env.get("RECOVERY_SMTP_PASSWORD") or None
    if (username is None) != (password is None):
        raise InvalidInputError("RECOVERY_SMTP_USERNAME", "RECOVERY_SMTP_USERNAME and "
                                "RECOVERY_SMTP_PASSWORD must be set together")
    return SmtpSettings(host=host, port=port, security=cast(SmtpSecurity, security),
                        username=username, password=password)


def _address(value: str, field_name: str) -> str:
    cleaned = one_line(value)
    if cleaned != value.strip() or "@" not in cleaned or any(c in cleaned for c in " ,;<>"):
        raise NotifierError(f"{field_name}: {value!r} is not a plain e-mail address")
    return cleaned


def build_email(message: AlertMessage, sender: str) -> EmailMessage:
    """The MIME message: plain text and HTML alternatives, the alert ids in a header.

    Raises:
        NotifierError: no recipients, or a sender/recipient that is not a plain address.
    """
    if not message.recipients:
        raise NotifierError(
            f"no e-mail recipients for severity {message.severity}: set "
            f"alerting.recipients.{message.severity} in tables.yaml"
        )
    recipients = [_address(r, "alerting.recipients") for r in message.recipients]
    from_address = _address(sender, "alerting.sender")
    domain = from_address.rsplit("@", 1)[1]
    text, body_html = message.text, message.html
    if message.link and message.link not in text:
        text = f"{text}\n\nRun in Dagster: {message.link}"
    if message.link and html.escape(message.link) not in body_html:
        body_html = (f'{body_html}\n<p><a href="{html.escape(message.link)}">'
                     "Open the run in Dagster</a></p>")
    mime = EmailMessage(policy=SMTP)
    mime["Subject"] = one_line(message.subject, limit=MAX_SUBJECT_CHARS)
    mime["From"] = from_address
    mime["To"] = ", ".join(recipients)
    mime["Date"] = formatdate(localtime=False, usegmt=True)
    mime["Message-ID"] = make_msgid(domain=domain)
    mime["X-Recovery-Alert-Ids"] = one_line(" ".join(message.alert_ids)) or "none"
    mime["X-Recovery-Severity"] = str(message.severity)
    mime.set_content(text, subtype="plain", charset="utf-8")
    mime.add_alternative(body_html, subtype="html", charset="utf-8")
    return mime


class EmailNotifier:
    """Sends each alert message as one e-mail to the recipients the message names."""

    name = "email"

    def __init__(self, settings: SmtpSettings, sender: str) -> None:
        self.settings = settings
        self.sender = sender

    def __repr__(self) -> str:
        return f"EmailNotifier({self.settings.where}, {self.settings.security})"

    def send(self, message: AlertMessage) -> None:
        """Hand `message` to the SMTP server; return once it accepted it for every recipient.

        Raises:
            NotifierError: nothing to send to, or the server/network/TLS failed, naming
                host:port and the step (connect, STARTTLS, login, send).
        """
        mime = build_email(message, self.sender)
        recipients = [_address(r, "alerting.recipients") for r in message.recipients]
        settings, step = self.settings, "connect"
        context = settings.ssl_context or ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if settings.security == "ssl":
                smtp = smtplib.SMTP_SSL(settings.host, settings.port, context=context,
                                        timeout=settings.timeout_seconds)
            else:
                smtp = smtplib.SMTP(settings.host, settings.port,
                                    timeout=settings.timeout_seconds)
            with smtp:
                if settings.security == "starttls":
                    step = "STARTTLS"
                    smtp.starttls(context=context)
                if settings.username is not None:
                    step = f"login as {settings.username!r}"
                    smtp.login(settings.username, settings.password or "")
                step = "send"
                refused = smtp.send_message(mime, from_addr=mime["From"], to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotifierError(f"SMTP server {settings.where} refused every recipient: "
                                f"{_refusals(exc.recipients)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise NotifierError(f"SMTP server {settings.where}: {step} failed: the server "
                                f"answered {exc.smtp_code} {_decode(exc.smtp_error)}") from exc
        except ssl.SSLError as exc:
            raise NotifierError(f"SMTP server {settings.where}: {step} failed: TLS error "
                                f"({exc.reason or exc})") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifierError(f"SMTP server {settings.where}: {step} failed: "
                                f"{type(exc).__name__}: {exc or 'no detail'}") from exc
        if refused:
            raise NotifierError(f"SMTP server {settings.where} refused some recipients (the "
                                f"others got the message): {_refusals(refused)}")


def _decode(value: bytes | str) -> str:
    return one_line(value.decode("utf-8", "replace") if isinstance(value, bytes) else value)


def _refusals(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{rcpt}: {code} {_decode(text)}" for rcpt, (code, text) in refused.items())
