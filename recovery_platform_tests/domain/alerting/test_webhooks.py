"""Slack and Teams webhooks against a real HTTP server on loopback: the JSON as received."""

from __future__ import annotations

import json
from typing import Any

import pytest

from recovery_platform.domain.alerting.message import AlertMessage, NotifierError
from recovery_platform.domain.alerting.webhooks import (
    SlackNotifier,
    TeamsNotifier,
    check_webhook_url,
    webhooks_from_env,
)
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.table_config import AlertingSettings
from recovery_platform.domain.lakehouse.vocabulary import AlertSeverity
from recovery_platform_tests.domain.alerting.http_server import webhook_server
from recovery_platform_tests.domain.alerting.smtp_server import free_port

LOOPBACK = ("127.0.0.1",)
LINK = "http://dagster.local:3000/runs/abc-123"
HOSTILE = 'table "a\\b" </script><script>alert(1)</script>\r\n}], "x": {"\n<!channel> & more'


def alert(**changes: object) -> AlertMessage:
    fields: dict[str, object] = dict(
        severity=AlertSeverity.CRITICAL,
        subject="[CRITICAL] 2 tables failed in daily_sync_job",
        text="accounts: SyncFailed\ncontacts: SyncFailed",
        html="<p>unused by chat</p>",
        alert_ids=("a-1", "a-2"),
        link=LINK,
        facts={"Severity": "CRITICAL", "Run": "abc-123"},
    )
    fields.update(changes)
    return AlertMessage(**fields)  # type: ignore[arg-type]


def received_json(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"))


def test_slack_payload_as_received() -> None:
    with webhook_server() as server:
        SlackNotifier(server.url, allowed_hosts=LOOPBACK).send(alert())
    [post] = server.posts
    assert post.path == "/hook/T000/B000/secret"
    assert post.headers["Content-Type"] == "application/json; charset=utf-8"
    plain = {"type": "plain_text", "emoji": False}
    assert received_json(post.body) == {
        "text": "[CRITICAL] 2 tables failed in daily_sync_job",
        "blocks": [
            {"type": "header",
             "text": {**plain, "text": "[CRITICAL] 2 tables failed in daily_sync_job"}},
            {"type": "section", "fields": [{**plain, "text": "Severity: CRITICAL"},
                                           {**plain, "text": "Run: abc-123"}]},
            {"type": "section",
             "text": {**plain, "text": "accounts: SyncFailed\ncontacts: SyncFailed"}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {**plain, "text": "Open the run in Dagster"},
                 "url": LINK}]},
        ],
    }


def test_teams_adaptive_card_as_received() -> None:
    with webhook_server(status=202, answer=b"") as server:
        TeamsNotifier(server.url, allowed_hosts=LOOPBACK).send(alert())
    [post] = server.posts
    assert received_json(post.body) == {
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": "[CRITICAL] 2 tables failed in daily_sync_job",
                     "weight": "Bolder", "size": "Medium", "wrap": True, "color": "Attention"},
                    {"type": "FactSet", "facts": [{"title": "Severity", "value": "CRITICAL"},
                                                  {"title": "Run", "value": "abc-123"}]},
                    {"type": "TextBlock", "text": "accounts: SyncFailed\ncontacts: SyncFailed",
                     "wrap": True},
                ],
                "actions": [{"type": "Action.OpenUrl", "title": "Open the run in Dagster",
                             "url": LINK}],
            },
        }],
    }


def test_quotes_newlines_and_script_tags_round_trip() -> None:
    hostile = alert(subject=HOSTILE, text=HOSTILE, facts={HOSTILE: HOSTILE})
    with webhook_server() as server:
        SlackNotifier(server.url, allowed_hosts=LOOPBACK).send(hostile)
        TeamsNotifier(server.url, allowed_hosts=LOOPBACK).send(hostile)
    slack, teams = (received_json(post.body) for post in server.posts)
    assert slack["blocks"][0]["text"]["text"] == HOSTILE
    assert slack["blocks"][1]["fields"][0]["text"] == f"{HOSTILE}: {HOSTILE}"
    assert slack["blocks"][2]["text"]["text"] == HOSTILE
    assert "<" not in slack["text"] and "&lt;!channel&gt; &amp; more" in slack["text"]
    card = teams["attachments"][0]["content"]
    assert card["body"][0]["text"] == HOSTILE and card["body"][2]["text"] == HOSTILE
    assert card["body"][1]["facts"] == [{"title": HOSTILE, "value": HOSTILE}]


def test_long_texts_are_cut_to_slack_limits() -> None:
    payload = SlackNotifier("https://hooks.slack.com/services/x", allowed_hosts=(
        "hooks.slack.com",)).payload(alert(subject="s" * 500, text="t" * 10_000,
                                           facts={f"f{i}": "v" * 3000 for i in range(12)}))
    header, fields, text = payload["blocks"][0], payload["blocks"][1], payload["blocks"][2]
    assert len(header["text"]["text"]) == 150
    assert len(fields["fields"]) == 10 and all(len(f["text"]) == 2000 for f in fields["fields"])
    assert len(text["text"]["text"]) == 3000 and text["text"]["text"].endswith("…")


def test_a_host_off_the_allowlist_is_refused_before_any_request() -> None:
    with webhook_server() as server:
        for kind in (SlackNotifier, TeamsNotifier):
            with pytest.raises(InvalidInputError,
                               match=r"alerting\.webhook_hosts.*'127\.0\.0\.1'.*"
                                     r"allowed: hooks\.slack\.com, localhost") as caught:
                kind(server.url, allowed_hosts=("hooks.slack.com", "localhost"))
            assert "secret" not in str(caught.value)
    assert server.posts == []


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://hooks.slack.com/services/x", ("hooks.slack.com",)),
    ("https://HOOKS.Slack.com./services/x", ("hooks.slack.com",)),
    ("https://prod-1.westeurope.logic.azure.com:443/workflows/x", ("*.logic.azure.com",)),
    ("http://localhost:8080/x", ("localhost",)),
    ("http://[::1]:8080/x", ("::1",)),
])
def test_allowed_urls(url: str, allowed: tuple[str, ...]) -> None:
    assert check_webhook_url(url, allowed) == url


@pytest.mark.parametrize(("url", "allowed", "match"), [
    ("https://logic.azure.com/x", ("*.logic.azure.com",), "webhook_hosts"),
    ("https://evillogic.azure.com/x", ("*.logic.azure.com",), "webhook_hosts"),
    ("https://hooks.slack.com.evil.org/x", ("hooks.slack.com",), "webhook_hosts"),
    ("https://a.localhost/x", ("*.localhost",), "webhook_hosts"),
    ("https://127.0.0.1/x", ("*.0.0.1",), "webhook_hosts"),
    ("http://hooks.slack.com/x", ("hooks.slack.com",), "https only"),
    ("ftp://hooks.slack.com/x", ("hooks.slack.com",), "https only"),
    ("https://user:pw@hooks.slack.com/x", ("hooks.slack.com",), "user name or password"),
    ("https://hooks.slack.com/x y", ("hooks.slack.com",), "control characters"),
    ("https:///x", ("hooks.slack.com",), "no host"),
    ("https://hooks.slack.com:99999/x", ("hooks.slack.com",), "not a valid URL"),
])
def test_refused_urls(url: str, allowed: tuple[str, ...], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        check_webhook_url(url, allowed)


def test_a_500_answer_is_a_notifier_error_with_status_and_excerpt() -> None:
    with webhook_server(status=500, answer=b"invalid_payload\n" + b"x" * 1000) as server:
        with pytest.raises(NotifierError, match=r"slack webhook at 127\.0\.0\.1 answered HTTP "
                                                r"500: invalid_payload x+…$") as caught:
            SlackNotifier(server.url, allowed_hosts=LOOPBACK).send(alert())
    assert "secret" not in str(caught.value) and len(str(caught.value)) < 300
    assert len(server.posts) == 1


def test_a_redirect_is_not_followed() -> None:
    with webhook_server() as target, webhook_server(status=302, answer=b"") as server:
        server.location = target.url
        with pytest.raises(NotifierError, match="answered HTTP 302"):
            TeamsNotifier(server.url, allowed_hosts=LOOPBACK).send(alert())
    assert len(server.posts) == 1 and target.posts == []


def test_an_unreachable_webhook_is_a_notifier_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook/secret"
    with pytest.raises(NotifierError, match=r"teams webhook at 127\.0\.0\.1 could not be "
                                            "reached") as caught:
        TeamsNotifier(url, allowed_hosts=LOOPBACK, timeout_seconds=2).send(alert())
    assert "secret" not in str(caught.value)
    assert caught.value.__cause__ is not None


def test_webhooks_from_env() -> None:
    settings = AlertingSettings(webhook_hosts=("hooks.slack.com", "*.logic.azure.com"))
    assert webhooks_from_env({}, settings) == []
    assert webhooks_from_env({"RECOVERY_SLACK_WEBHOOK_URL": " "}, settings) == []
    notifiers = webhooks_from_env({
        "RECOVERY_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/token",
        "RECOVERY_TEAMS_WEBHOOK_URL": "https://x.westeurope.logic.azure.com/workflows/y",
    }, settings)
    assert [n.name for n in notifiers] == ["slack", "teams"]
    assert "token" not in repr(notifiers[0])
    with pytest.raises(InvalidInputError, match="RECOVERY_TEAMS_WEBHOOK_URL"):
        webhooks_from_env({"RECOVERY_TEAMS_WEBHOOK_URL": "https://evil.example.org/x"}, settings)
    with pytest.raises(InvalidInputError, match=r"RECOVERY_SLACK_WEBHOOK_URL.*https only"):
        webhooks_from_env({"RECOVERY_SLACK_WEBHOOK_URL": "http://hooks.slack.com/x"}, settings)
