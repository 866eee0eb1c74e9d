"""Slack delivery through slack-sdk's WebClient.

slack-sdk's default retry handler re-sends a request after a connection error. For
chat.postMessage that is a duplicate whenever the server stored the message and the connection
then dropped, so the client that posts retries only on HTTP 429 (a rate-limited request was not
applied, and Slack says when to come back). Reads (history, user look-up) may also retry
connection errors: repeating them changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from healthscore.alerts.alert import Alert
from healthscore.alerts.channels import Receipt, Rejected
from healthscore.alerts.messages import render_hold_summary, render_message
from healthscore.alerts.routing import Routing
from healthscore.alerts.storm_guard import HoldSummary

# Answers that arrive as ok:false but do not prove the message was not stored.
_UNKNOWN_OUTCOME_ERRORS = {
    "internal_error",
    "fatal_error",
    "request_timeout",
    "service_unavailable",
}
_LOOKUP_MARGIN_S = 300.0  # clock skew between us and Slack around the attempt
_HISTORY_PAGE = 200


class SlackApi:
    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        timeout: float = 30,
        rate_limit_retries: int = 3,
    ) -> None:
        rate_limited = RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries)
        self._timeout = timeout
        self._poster = WebClient(
            token=token, base_url=base_url, timeout=timeout, retry_handlers=[rate_limited]
        )
        self._reader = WebClient(
            token=token,
            base_url=base_url,
            timeout=timeout,
            retry_handlers=[rate_limited, ConnectionErrorRetryHandler(max_retry_count=2)],
        )
        self._user_ids: dict[str, str | None] = {}

    def post(self, channel: str, message: dict[str, Any]) -> str:
        """Post once; the message ts, or Rejected, or another exception for an unknown outcome."""
        try:
            response = self._poster.chat_postMessage(
                channel=channel, unfurl_links=False, unfurl_media=False, **message
            )
        except SlackApiError as exc:
            status, error = exc.response.status_code, exc.response.get("error")
            if status >= 500 or error in _UNKNOWN_OUTCOME_ERRORS:
                raise
            raise Rejected(error or f"HTTP {status}") from exc
        except SlackRequestError as exc:  # refused by the client before anything was sent
            raise Rejected(str(exc)) from exc
        return response["ts"]

    def find(self, channel: str, key: str, attempted_at: dt.datetime) -> str | None:
        """The ts of a message in `channel` stamped with `key`, posted around `attempted_at`."""
        around = attempted_at.replace(tzinfo=dt.UTC).timestamp()
        params: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{around - _LOOKUP_MARGIN_S:.6f}",
            "latest": f"{around + self._timeout + _LOOKUP_MARGIN_S:.6f}",
            "inclusive": True,
            "include_all_metadata": True,
            "limit": _HISTORY_PAGE,
        }
        while True:
            page = self._reader.conversations_history(**params)
            for message in page.get("messages", []):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("alert_id") == key:
                    return message["ts"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
            params["cursor"] = cursor

    def user_id(self, email: str) -> str | None:
        """The Slack user for an e-mail, or None; a failed look-up only costs the mention."""
        key = email.strip().lower()
        if key not in self._user_ids:
            try:
                self._user_ids[key] = self._reader.users_lookupByEmail(email=key)["user"]["id"]
            except SlackApiError:
                self._user_ids[key] = None
            except OSError:
                return None  # transient: try again for the next alert
        return self._user_ids[key]


class _SlackChannel:
    """Render, then post (or, without a token, only record what would be posted)."""

    name: str
    subject: str

    def __init__(self, api: SlackApi | None) -> None:
        self._api = api
        self.dry_run = api is None

    def render(self, subject: Any) -> dict[str, Any]:
        raise NotImplementedError

    def send(self, subject: Any, destination: str | None) -> Receipt:
        message = self.render(subject)
        payload = {"channel": destination, **message}
        if self._api is None or destination is None:
            return Receipt("dry-run", payload)
        return Receipt(self._api.post(destination, message), payload)

    def find(self, key: str, destination: str, attempted_at: dt.datetime) -> str | None:
        if self._api is None:
            return None
        return self._api.find(destination, key, attempted_at)


class SlackAlertChannel(_SlackChannel):
    name = "slack"
    subject = "alert"

    def __init__(
        self, api: SlackApi | None, routing: Routing, record_url_template: str | None = None
    ) -> None:
        super().__init__(api)
        self._routing = routing
        self._record_url_template = record_url_template

    def route(self, alert: Alert) -> str | None:
        return self._routing.channel_for(alert)

    def render(self, alert: Alert) -> dict[str, Any]:
        owner = None
        if self._api is not None and alert.owner_email:
            owner = self._api.user_id(alert.owner_email)
        return render_message(
            alert, owner_slack_id=owner, record_url_template=self._record_url_template
        )


class SlackOpsChannel(_SlackChannel):
    name = "slack_ops"
    subject = "hold"

    def __init__(self, api: SlackApi | None, ops_channel: str | None) -> None:
        super().__init__(api)
        self._ops_channel = ops_channel

    def route(self, summary: HoldSummary) -> str | None:
        return self._ops_channel

    def render(self, summary: HoldSummary) -> dict[str, Any]:
        return render_hold_summary(summary)
