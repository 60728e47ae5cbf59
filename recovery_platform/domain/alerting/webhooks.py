"""Chat alerts over HTTPS webhooks: Slack incoming webhooks and Microsoft Teams Workflows.

A webhook URL is a secret that says where alert texts go, so its host must be on the
configured allowlist (`alerting.webhook_hosts`) before any byte is sent, only https is spoken
(http only to a loopback host that is listed by name, for tests), redirects are never followed
(a 3xx could lead anywhere), and the URL never appears in an error (its path holds the token).
Payloads are Python dicts serialized by `json.dumps`, so quotes, newlines or `</script>` in a
table name or error text stay text and can never break the JSON. Texts go out as Slack
`plain_text`, so an error text cannot mention `@channel` or smuggle a link.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from recovery_platform.domain.alerting.message import AlertMessage, Notifier, NotifierError
from recovery_platform.domain.lakehouse.errors import InvalidInputError
from recovery_platform.domain.lakehouse.vocabulary import AlertSeverity

if TYPE_CHECKING:
    from recovery_platform.domain.lakehouse.table_config import AlertingSettings

__all__ = [
    "SlackNotifier",
    "TeamsNotifier",
    "check_webhook_url",
    "is_loopback",
    "webhooks_from_env",
]

LINK_TITLE = "Open the run in Dagster"
SLACK_HEADER_MAX, SLACK_FIELD_MAX, SLACK_SECTION_MAX, SLACK_FIELDS_MAX = 150, 2000, 3000, 10
TEAMS_TEXT_MAX = 20000
EXCERPT_MAX = 200


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    for pattern in (p.strip().lower().rstrip(".") for p in allowed_hosts):
        if host == pattern:
            return True
        if pattern.startswith("*.") and not is_loopback(host) and host.endswith(pattern[1:]):
            return True
    return False


def check_webhook_url(url: str, allowed_hosts: Iterable[str], *, variable: str = "url") -> str:
    """Return `url` if it may receive alerts, checked before any request is made.

    https only (http to a listed loopback host), no credentials in it, and a host on the
    allowlist: `*.example.com` allows its subdomains; loopback hosts only when listed exactly.

    Raises:
        InvalidInputError (a ValueError): naming `variable` or `alerting.webhook_hosts` and the
            allowed values; never echoes the URL's path (it holds the webhook's token).
    """
    allowed = tuple(allowed_hosts)
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
        _ = parts.port
    except ValueError:
        raise InvalidInputError(variable, "not a valid URL") from None
    if any(ord(c) < 33 or ord(c) == 127 for c in url.strip()):
        raise InvalidInputError(variable, "the URL contains spaces or control characters")
    if not host:
        raise InvalidInputError(variable, "the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(variable, "the URL must not carry a user name or password")
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and is_loopback(host)):
        raise InvalidInputError(variable, f"scheme {scheme!r} refused (https only; http only "
                                "for a loopback host)", allowed=("https",))
    if not _host_allowed(host, allowed):
        raise InvalidInputError("alerting.webhook_hosts",
                                f"webhook host {host!r} (from {variable}) is not allowed",
                                allowed=allowed)
    return url.strip()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is an error: following it would send the alert to a host nobody allowed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _JsonWebhook:
    """POSTs one JSON payload per message; any 2xx answer means accepted."""

    name = "webhook"
    variable = "webhook URL"

    def __init__(self, url: str, *, allowed_hosts: Iterable[str],
                 timeout_seconds: float = 10.0) -> None:
        self.allowed_hosts = tuple(allowed_hosts)
        self._url = check_webhook_url(url, self.allowed_hosts, variable=self.variable)
        self.host = (urlsplit(self._url).hostname or "").rstrip(".")
        self.timeout_seconds = timeout_seconds
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if is_loopback(self.host):  # a proxy from the environment must not see test traffic
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r})"

    def payload(self, message: AlertMessage) -> dict[str, Any]:
        """The JSON body for `message`."""
        raise NotImplementedError

    def send(self, message: AlertMessage) -> None:
        """POST the payload; return once the webhook answered 2xx.

        Raises:
            NotifierError: a non-2xx answer (status and a short body excerpt) or a network/TLS
                error, naming the host but never the URL's secret path.
        """
        check_webhook_url(self._url, self.allowed_hosts, variable=self.variable)
        body = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self._url, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "User-Agent": "recovery-platform-alerts"},
        )
        where = f"{self.name} webhook at {self.host}"
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                status, excerpt = response.status, _excerpt(response.read(EXCERPT_MAX * 2))
        except urllib.error.HTTPError as exc:
            excerpt = _excerpt(exc.read(EXCERPT_MAX * 2) if exc.fp is not None else b"")
            raise NotifierError(f"{where} answered HTTP {exc.code}: {excerpt or exc.reason}") \
                from exc
        except urllib.error.URLError as exc:
            raise NotifierError(f"{where} could not be reached: {exc.reason}") from exc
        except OSError as exc:  # timeouts and resets while reading the answer
            raise NotifierError(f"{where} failed: {type(exc).__name__}: {exc}") from exc
        if not 200 <= status < 300:
            raise NotifierError(f"{where} answered HTTP {status}: {excerpt}")


def _excerpt(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= EXCERPT_MAX else text[: EXCERPT_MAX - 1] + "…"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _link(message: AlertMessage) -> str | None:
    link = message.link
    if link and urlsplit(link).scheme.lower() in ("http", "https"):
        return link
    return None


class SlackNotifier(_JsonWebhook):
    """A Slack incoming webhook: a `text` fallback (notifications) plus Block Kit blocks."""

    name = "slack"
    variable = "RECOVERY_SLACK_WEBHOOK_URL"

    def payload(self, message: AlertMessage) -> dict[str, Any]:
        """Header, facts as fields, the text, and a button to the run (limits of Block Kit)."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": _plain(_cut(message.subject, SLACK_HEADER_MAX))},
        ]
        facts = list(message.facts.items())[:SLACK_FIELDS_MAX]
        if facts:
            blocks.append({"type": "section", "fields": [
                _plain(_cut(f"{label}: {value}", SLACK_FIELD_MAX)) for label, value in facts]})
        if message.text:
            blocks.append({"type": "section",
                           "text": _plain(_cut(message.text, SLACK_SECTION_MAX))})
        link = _link(message)
        if link:
            blocks.append({"type": "actions", "elements": [
                {"type": "button", "text": _plain(LINK_TITLE), "url": link}]})
        return {"text": _slack_escape(message.subject), "blocks": blocks}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def _slack_escape(text: str) -> str:
    """Slack reads `<...>` in `text` as mentions and links; its three escapes make it text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEAMS_COLORS = {AlertSeverity.CRITICAL: "Attention", AlertSeverity.HIGH: "Warning"}


class TeamsNotifier(_JsonWebhook):
    """A Microsoft Teams Workflows webhook, which posts the Adaptive Card it is sent."""

    name = "teams"
    variable = "RECOVERY_TEAMS_WEBHOOK_URL"

    def payload(self, message: AlertMessage) -> dict[str, Any]:
        """A message with one Adaptive Card 1.4: title, facts, text, and a link to the run."""
        body: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": message.subject, "weight": "Bolder",
             "size": "Medium", "wrap": True,
             "color": _TEAMS_COLORS.get(message.severity, "Default")},
        ]
        if message.facts:
            body.append({"type": "FactSet", "facts": [
                {"title": label, "value": value} for label, value in message.facts.items()]})
        if message.text:
            body.append({"type": "TextBlock", "text": _cut(message.text, TEAMS_TEXT_MAX),
                         "wrap": True})
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "body": body,
        }
        link = _link(message)
        if link:
            card["actions"] = [{"type": "Action.OpenUrl", "title": LINK_TITLE, "url": link}]
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
             "content": card}]}


def webhooks_from_env(env: Mapping[str, str], settings: AlertingSettings) -> list[Notifier]:
    """The chat notifiers whose URL variable is set, each checked against the allowlist now.

    Reads RECOVERY_SLACK_WEBHOOK_URL and RECOVERY_TEAMS_WEBHOOK_URL; empty means unset.

    Raises:
        InvalidInputError (a ValueError): a URL that is not https or whose host is not allowed.
    """
    notifiers: list[Notifier] = []
    for kind in (SlackNotifier, TeamsNotifier):
        url = env.get(kind.variable, "").strip()
        if url:
            notifiers.append(kind(url, allowed_hosts=settings.webhook_hosts))
    return notifiers
