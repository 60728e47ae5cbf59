"""E-mail alerts against a real SMTP server on loopback: the MIME as received, TLS, login."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from recovery_platform.domain.alerting.email import (
    EmailNotifier,
    SmtpSettings,
    build_email,
    settings_from_env,
)
from recovery_platform.domain.alerting.message import AlertMessage, NotifierError
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.vocabulary import AlertSeverity
from recovery_platform_tests.domain.alerting.smtp_server import (
    SelfSignedCertificate,
    free_port,
    self_signed_certificate,
    smtp_server,
)

SENDER = "recovery-platform@example.com"
LINK = "http://dagster.local:3000/runs/abc-123"


def alert(**changes: object) -> AlertMessage:
    fields: dict[str, object] = dict(
        severity=AlertSeverity.CRITICAL,
        subject="[CRITICAL] 2 tables failed in daily_sync_job",
        text=f"accounts: SyncFailed\ncontacts: SyncFailed\nRun: {LINK}",
        html=f'<p>accounts: SyncFailed</p><p><a href="{LINK}">Run</a></p>',
        alert_ids=("a-1", "a-2"),
        recipients=("oncall@example.com", "admin@example.com"),
        link=LINK,
        facts={"Severity": "CRITICAL"},
    )
    fields.update(changes)
    return AlertMessage(**fields)  # type: ignore[arg-type]


def parse(content: bytes) -> EmailMessage:
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> SelfSignedCertificate:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def plain(port: int) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_seconds=5)


def test_plain_smtp_delivers_both_parts_the_link_and_the_alert_ids() -> None:
    with smtp_server() as (server, capture):
        EmailNotifier(plain(server.port), SENDER).send(alert())
    [received] = capture.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("oncall@example.com", "admin@example.com")
    mime = parse(received.content)
    assert mime["Subject"] == "[CRITICAL] 2 tables failed in daily_sync_job"
    assert mime["From"] == SENDER
    assert mime["To"] == "oncall@example.com, admin@example.com"
    assert mime["Message-ID"].startswith("<") and mime["Message-ID"].endswith("@example.com>")
    assert mime["X-Recovery-Alert-Ids"] == "a-1 a-2"
    assert mime.get_content_type() == "multipart/alternative"
    text_part = mime.get_body(preferencelist=("plain",))
    html_part = mime.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    assert "contacts: SyncFailed" in text_part.get_content() and LINK in text_part.get_content()
    assert f'href="{LINK}"' in html_part.get_content()


def test_the_link_is_added_when_the_texts_lack_it() -> None:
    mime = build_email(alert(text="failed", html="<p>failed</p>"), SENDER)
    text_part, html_part = mime.get_body(("plain",)), mime.get_body(("html",))
    assert text_part is not None and LINK in text_part.get_content()
    assert html_part is not None and f'href="{LINK}"' in html_part.get_content()


def test_starttls_with_a_self_signed_certificate_and_login(
    certificate: SelfSignedCertificate,
) -> None:
    with smtp_server(starttls=certificate, login=("alerts", "s3cret")) as (server, capture):
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security="starttls",
                                username="alerts", password="s3cret", timeout_seconds=5,
                                ssl_context=certificate.client_context())
        EmailNotifier(settings, SENDER).send(alert(text="ünïcode ✓", subject="[HIGH] ✓ held"))
    [received] = capture.messages
    mime = parse(received.content)
    assert mime["Subject"] == "[HIGH] ✓ held"
    body = mime.get_body(("plain",))
    assert body is not None and "ünïcode ✓" in body.get_content()


def test_smtps_with_a_self_signed_certificate(certificate: SelfSignedCertificate) -> None:
    with smtp_server(implicit_tls=certificate) as (server, capture):
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security="ssl",
                                timeout_seconds=5, ssl_context=certificate.client_context())
        EmailNotifier(settings, SENDER).send(alert())
    assert len(capture.messages) == 1


def test_a_wrong_password_is_a_notifier_error_naming_the_login(
    certificate: SelfSignedCertificate,
) -> None:
    with smtp_server(starttls=certificate, login=("alerts", "s3cret")) as (server, capture):
        settings = SmtpSettings(host="127.0.0.1", port=server.port, username="alerts",
                                password="wrong", timeout_seconds=5,
                                ssl_context=certificate.client_context())
        with pytest.raises(NotifierError, match=r"127\.0\.0\.1:\d+: login as 'alerts' failed"):
            EmailNotifier(settings, SENDER).send(alert())
    assert capture.messages == []


def test_an_untrusted_certificate_is_a_notifier_error(certificate: SelfSignedCertificate) -> None:
    with smtp_server(starttls=certificate) as (server, capture):
        settings = SmtpSettings(host="127.0.0.1", port=server.port, timeout_seconds=5)
        with pytest.raises(NotifierError, match="STARTTLS failed: TLS error") as caught:
            EmailNotifier(settings, SENDER).send(alert())
    assert caught.value.__cause__ is not None
    assert capture.messages == []


def test_crlf_in_the_subject_adds_no_header_and_no_recipient() -> None:
    hostile = "[CRITICAL] accounts\r\nBcc: evil@example.org\r\n\r\nbody"
    with smtp_server() as (server, capture):
        EmailNotifier(plain(server.port), SENDER).send(
            alert(subject=hostile, alert_ids=("a-1\r\nBcc: evil@example.org",)))
    [received] = capture.messages
    assert "evil@example.org" not in received.rcpt_tos
    mime = parse(received.content)
    assert mime["Bcc"] is None
    assert mime["Subject"] == "[CRITICAL] accounts Bcc: evil@example.org body"
    assert mime["X-Recovery-Alert-Ids"] == "a-1 Bcc: evil@example.org"
    assert [k.lower() for k in mime.keys()].count("subject") == 1


def test_a_recipient_with_a_line_break_is_refused() -> None:
    with pytest.raises(NotifierError, match=r"alerting\.recipients"):
        build_email(alert(recipients=("oncall@example.com\r\nBcc: evil@example.org",)), SENDER)


def test_server_down_is_a_notifier_error_naming_host_and_port() -> None:
    port = free_port()
    with pytest.raises(NotifierError, match=rf"127\.0\.0\.1:{port}: connect failed") as caught:
        EmailNotifier(plain(port), SENDER).send(alert())
    assert isinstance(caught.value.__cause__, OSError)


def test_no_recipients_is_a_notifier_error_naming_the_severity_and_the_field() -> None:
    with pytest.raises(NotifierError, match=r"severity LOW: set alerting\.recipients\.LOW"):
        EmailNotifier(plain(free_port()), SENDER).send(
            alert(severity=AlertSeverity.LOW, recipients=()))


def test_a_refused_recipient_is_a_notifier_error_naming_it() -> None:
    with smtp_server(refuse={"gone@example.com"}) as (server, capture):
        notifier = EmailNotifier(plain(server.port), SENDER)
        with pytest.raises(NotifierError, match=r"refused every recipient: gone@example\.com: 550"):
            notifier.send(alert(recipients=("gone@example.com",)))
        with pytest.raises(NotifierError, match="refused some recipients"):
            notifier.send(alert(recipients=("gone@example.com", "oncall@example.com")))
    assert [m.rcpt_tos for m in capture.messages] == [("oncall@example.com",)]


def test_settings_from_env() -> None:
    assert settings_from_env({}) is None
    assert settings_from_env({"RECOVERY_SMTP_HOST": " "}) is None
    default = settings_from_env({"RECOVERY_SMTP_HOST": "smtp.example.com"})
    assert default == SmtpSettings("smtp.example.com", 587, "starttls")
    ssl_default = settings_from_env({"RECOVERY_SMTP_HOST": "h", "RECOVERY_SMTP_SECURITY": "SSL"})
    assert ssl_default is not None and (ssl_default.port, ssl_default.security) == (465, "ssl")
    none = settings_from_env({"RECOVERY_SMTP_HOST": "h", "RECOVERY_SMTP_SECURITY": "none"})
    assert none is not None and none.port == 25
    full = settings_from_env({
        "RECOVERY_SMTP_HOST": "h", "RECOVERY_SMTP_PORT": "2525",
        "RECOVERY_SMTP_USERNAME": "u", "RECOVERY_SMTP_PASSWORD": "hunter2"})
    assert full is not None and (full.port, full.username, full.password) == (2525, "u", "hunter2")
    assert "hunter2" not in repr(full)


@pytest.mark.parametrize(("env", "match"), [
    ({"RECOVERY_SMTP_SECURITY": "tls"}, "RECOVERY_SMTP_SECURITY.*allowed: starttls, ssl, none"),
    ({"RECOVERY_SMTP_PORT": "abc"}, "RECOVERY_SMTP_PORT"),
    ({"RECOVERY_SMTP_PORT": "70000"}, "RECOVERY_SMTP_PORT"),
    ({"RECOVERY_SMTP_USERNAME": "u"}, "RECOVERY_SMTP_PASSWORD must be set together"),
    ({"RECOVERY_SMTP_SECURITY": "none", "RECOVERY_SMTP_USERNAME": "u",
      "RECOVERY_SMTP_PASSWORD": "p"}, "clear text"),
])
def test_settings_from_env_refuses_bad_values(env: dict[str, str], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        settings_from_env({"RECOVERY_SMTP_HOST": "smtp.example.com", **env})


def test_certificate_files_exist(certificate: SelfSignedCertificate) -> None:
    assert Path(certificate.cert).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_fifty_alert_ids_survive_header_folding() -> None:
    ids = tuple(f"{i:08d}-1111-2222-3333-444455556666" for i in range(50))
    mime = parse(bytes(build_email(alert(alert_ids=ids), SENDER)))
    assert mime["X-Recovery-Alert-Ids"].split() == list(ids)
