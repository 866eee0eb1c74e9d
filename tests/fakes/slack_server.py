"""A local Slack Web API for tests, close enough to the real one that slack-sdk cannot tell.

What it imitates (DESIGN §10): errors are HTTP 200 with `{"ok": false, "error": ...}`
(`invalid_auth`, `channel_not_found`, `not_in_channel`, `invalid_blocks` with json-pointer
details, `msg_too_long`, `no_text`, `users_not_found`); posting faster than one message per
`rate_interval` seconds to a channel is HTTP 429 with `Retry-After` and `ratelimited`; Block Kit
limits are checked (≤ 50 blocks, header ≤ 150, section text ≤ 3000, ≤ 10 fields of ≤ 2000, …).

Methods: chat.postMessage, conversations.history (with `include_all_metadata`, `oldest`,
`latest`, `inclusive`, cursor pages), users.lookupByEmail, auth.test.

Faults are scripted per method and consumed in order: a 429, an HTTP 5xx, an `ok:false`, a slow
answer that outlives the client's timeout, or a connection dropped without an answer; the last
three can happen after the message was stored (`stored=True`), which is the case that makes a
blind retry send a duplicate.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

RATELIMIT, HTTP_ERROR, ERROR, SLOW, DROP = "ratelimit", "http_error", "error", "slow", "drop"
_DROP = object()
_BLOCK_TYPES = {"header", "section", "context", "actions", "divider"}


@dataclass
class Fault:
    method: str
    kind: str  # RATELIMIT | HTTP_ERROR | ERROR | SLOW | DROP
    stored: bool = False  # the request was carried out before the failure
    status: int = 500  # HTTP_ERROR
    retry_after: int = 0  # RATELIMIT
    error: str = "internal_error"  # ERROR
    delay: float = 0.0  # seconds before answering (SLOW, or any other kind)


@dataclass
class _Channel:
    id: str
    name: str
    member: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)
    last_post: float = 0.0


class FakeSlack:
    """`with FakeSlack() as slack:` then point slack-sdk at `slack.base_url`."""

    def __init__(self, *, token: str = "xoxb-fake-token", rate_interval: float = 1.0) -> None:
        self.token = token
        self.rate_interval = rate_interval
        self.bot_user_id = "U0BOT0001"
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._channels: dict[str, _Channel] = {}
        self._users: dict[str, str] = {}
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()  # ends scripted delays when the server stops
        self._last_ts = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- test API ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def add_channel(self, channel_id: str, name: str, *, member: bool = True) -> None:
        with self._lock:
            self._channels[channel_id] = _Channel(channel_id, name, member)

    def add_user(self, email: str, user_id: str) -> None:
        with self._lock:
            self._users[email.lower()] = user_id

    def script(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._channels[channel_id].messages]

    def all_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m, channel=c.id) for c in self._channels.values() for m in c.messages]

    def call_count(self, method: str) -> int:
        with self._lock:
            return sum(1 for m, _ in self.calls if m == method)

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    # -- the API ----------------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any], token: str | None) -> Any:
        """(status, body, headers) or _DROP."""
        with self._lock:
            self.calls.append((method, {k: v for k, v in params.items() if k != "token"}))
            fault = next((f for f in self._faults if f.method == method), None)
            if fault is not None:
                self._faults.remove(fault)
        if fault is None:
            return self._carry_out(method, params, token)
        if fault.kind == RATELIMIT:
            self._stopping.wait(fault.delay)
            return (
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(fault.retry_after)},
            )
        if fault.kind == ERROR:
            return 200, {"ok": False, "error": fault.error}, {}
        result = self._carry_out(method, params, token) if fault.stored else None
        self._stopping.wait(fault.delay)
        if fault.kind == DROP:
            return _DROP
        if fault.kind == SLOW and result is not None:
            return result
        status = fault.status if fault.kind == HTTP_ERROR else 503
        return status, "<html><body>Server error</body></html>", {}

    def _carry_out(self, method: str, params: dict[str, Any], token: str | None) -> Any:
        if token is None:
            return _fail("not_authed")
        if token != self.token:
            return _fail("invalid_auth")
        handler = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "conversations.history": self._history,
            "users.lookupByEmail": self._lookup_by_email,
        }.get(method)
        if handler is None:
            return 404, {"ok": False, "error": "unknown_method"}, {}
        with self._lock:
            return handler(params)

    def _auth_test(self, params: dict[str, Any]) -> Any:
        return _ok(
            url="https://fake.slack.test/",
            team="Fake",
            user="healthscore",
            team_id="T0FAKE001",
            user_id=self.bot_user_id,
            bot_id="B0BOT0001",
        )

    def _post_message(self, params: dict[str, Any]) -> Any:
        channel = self._resolve(params.get("channel"))
        if channel is None:
            return _fail("channel_not_found")
        if not channel.member:
            return _fail("not_in_channel")
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        text = params.get("text") or ""
        if not text and not blocks:
            return _fail("no_text")
        if len(text) > 40000:
            return _fail("msg_too_long")
        if blocks is not None:
            errors = block_errors(blocks)
            if errors:
                return _fail("invalid_blocks", errors=errors)
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata is not None and not _valid_metadata(metadata):
            return _fail("invalid_metadata_format")
        now = time.time()
        wait = channel.last_post + self.rate_interval - now
        if wait > 0:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(math.ceil(wait))}
        channel.last_post = now
        self._last_ts = max(now, self._last_ts + 0.000001)
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": "B0BOT0001",
            "text": text,
            "ts": f"{self._last_ts:.6f}",
        }
        if blocks is not None:
            message["blocks"] = blocks
        if metadata is not None:
            message["metadata"] = metadata
        channel.messages.append(message)
        public = {k: v for k, v in message.items() if k != "metadata"}
        return _ok(channel=channel.id, ts=message["ts"], message=public)

    def _history(self, params: dict[str, Any]) -> Any:
        channel = self._channels.get(params.get("channel", ""))
        if channel is None:
            return _fail("channel_not_found")
        if not channel.member:
            return _fail("not_in_channel")
        oldest = float(params.get("oldest") or 0)
        latest = float(params.get("latest") or time.time())
        inclusive = _truthy(params.get("inclusive"))
        with_metadata = _truthy(params.get("include_all_metadata"))
        limit = min(int(params.get("limit") or 100), 999)
        start = int(base64.b64decode(params["cursor"]).decode()) if params.get("cursor") else 0

        def inside(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = [m for m in reversed(channel.messages) if inside(float(m["ts"]))]
        page = found[start : start + limit]
        more = start + limit < len(found)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        messages = [
            m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in page
        ]
        return _ok(
            messages=messages,
            has_more=more,
            pin_count=0,
            response_metadata={"next_cursor": cursor},
        )

    def _lookup_by_email(self, params: dict[str, Any]) -> Any:
        user_id = self._users.get(str(params.get("email", "")).lower())
        if user_id is None:
            return _fail("users_not_found")
        return _ok(user={"id": user_id, "profile": {"email": params["email"]}})

    def _resolve(self, ref: str | None) -> _Channel | None:
        if not ref:
            return None
        if ref in self._channels:
            return self._channels[ref]
        name = ref.removeprefix("#")
        return next((c for c in self._channels.values() if c.name == name), None)


def block_errors(blocks: Any) -> list[str]:
    """Block Kit's limits as Slack reports them: a message and a json-pointer each."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors = []
    if len(blocks) > 50:
        errors.append("no more than 50 items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        errors += _block_errors(block, f"/blocks/{i}")
    return errors


def _block_errors(block: Any, at: str) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
        return [f"unsupported type [json-pointer:{at}/type]"]
    errors = _too_long(block.get("block_id"), 255, f"{at}/block_id")
    kind = block["type"]
    if kind == "header":
        errors += _text_errors(block.get("text"), 150, f"{at}/text", plain_only=True)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(f"must provide text or fields [json-pointer:{at}]")
        if "text" in block:
            errors += _text_errors(block["text"], 3000, f"{at}/text")
        fields = block.get("fields", [])
        if len(fields) > 10:
            errors.append(f"no more than 10 items allowed [json-pointer:{at}/fields]")
        for j, item in enumerate(fields):
            errors += _text_errors(item, 2000, f"{at}/fields/{j}")
    elif kind == "context":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 10:
            errors.append(f"must have 1 to 10 items [json-pointer:{at}/elements]")
        for j, item in enumerate(elements):
            errors += _text_errors(item, 3000, f"{at}/elements/{j}")
    elif kind == "actions":
        elements = block.get("elements") or []
        if not 1 <= len(elements) <= 25:
            errors.append(f"must have 1 to 25 items [json-pointer:{at}/elements]")
        for j, item in enumerate(elements):
            errors += _button_errors(item, f"{at}/elements/{j}")
    return errors


def _button_errors(button: Any, at: str) -> list[str]:
    if not isinstance(button, dict) or button.get("type") != "button":
        return [f"unsupported type [json-pointer:{at}/type]"]
    return [
        *_text_errors(button.get("text"), 75, f"{at}/text", plain_only=True),
        *_too_long(button.get("url"), 3000, f"{at}/url"),
        *_too_long(button.get("action_id"), 255, f"{at}/action_id"),
        *_too_long(button.get("value"), 2000, f"{at}/value"),
    ]


def _text_errors(obj: Any, limit: int, at: str, *, plain_only: bool = False) -> list[str]:
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"must be a valid text object [json-pointer:{at}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if obj["type"] == "plain_text" and "verbatim" in obj:
        return [f"verbatim is not allowed on plain_text [json-pointer:{at}/verbatim]"]
    return _too_long(text, limit, f"{at}/text")


def _too_long(value: Any, limit: int, at: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}]"]
    return []


def _valid_metadata(metadata: Any) -> bool:
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    )


def _truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true"}


def _ok(**body: Any) -> Any:
    return 200, {"ok": True, **body}, {}


def _fail(error: str, **extra: Any) -> Any:
    return 200, {"ok": False, "error": error, **extra}, {}


def _handler_for(slack: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # slack-sdk sends every method as POST
            url = urlsplit(self.path)
            if not url.path.startswith("/api/"):
                self.send_error(404)
                return
            params: dict[str, Any] = dict(parse_qsl(url.query))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params.update(json.loads(body or b"{}"))
            else:
                params.update(parse_qsl(body.decode("utf-8")))
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            result = slack.handle(
                url.path.removeprefix("/api/"), params, token or params.get("token")
            )
            if result is _DROP:
                self.close_connection = True
                return
            status, payload, headers = result
            data = payload if isinstance(payload, str) else json.dumps(payload)
            try:
                self.send_response(status)
                kind = "text/html" if isinstance(payload, str) else "application/json"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data.encode())))
                self.end_headers()
                self.wfile.write(data.encode())
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a SLOW fault); what happened server-side stands

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
