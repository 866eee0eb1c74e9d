"""Shared machinery for the local CRM servers: threads, routing, fault scripts, counters.

A `FakeServer` is a threaded HTTP/1.1 server on 127.0.0.1 (random port) with keep-alive, so
real client libraries talk to it exactly as they would to the CRM. Subclasses supply the
service (`handle`) and its error-body shape (`error_body`); this module supplies:

- a request log with arrival times (`log`): counts per method/path, statuses, the busiest
  rolling window, and the number of 429s the server itself issued;
- a fault script (`faults`): the next matching request(s) get a scripted status (429 with or
  without Retry-After, 5xx), a delay (a client timeout), a dropped connection (before or after
  the write was applied), or a partial failure (some records of a batch fail);
- a rolling-window rate limiter the services use for their documented limits.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    arrived: float = 0.0  # time.monotonic() when the request line was read

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def params(self, name: str) -> list[str]:
        """A repeated or comma-separated query parameter (`properties=a,b&properties=c`)."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


class Reply(Exception):
    """Raised by a handler to answer early (errors)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


FaultKind = Literal["status", "delay", "drop", "partial"]


@dataclass
class Fault:
    """One scripted misbehaviour for the next `times` requests matching method and path."""

    kind: FaultKind
    method: str | None
    path: re.Pattern[str]
    times: int = 1
    status: int = 0
    retry_after: str | None = None
    seconds: float = 0.0
    after_apply: bool = False  # drop/delay: the write is applied before the misbehaviour
    count: int = 0  # partial: how many records of the batch fail
    code: str = ""  # partial: the error category / status code they fail with
    skip: int = 0  # matching requests to let through untouched before the fault applies

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and bool(self.path.search(path))


class FaultScript:
    """A queue of faults; each request consumes the first fault that matches it."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault that is due; every matching fault still waiting out its
        `skip` counts this request, so each fault's skip counts from when it was added."""
        with self._lock:
            due = None
            for fault in [f for f in self._faults if f.matches(method, path)]:
                if fault.skip:
                    fault.skip -= 1
                elif due is None:
                    due = fault
            if due is not None:
                due.times -= 1
                if due.times <= 0:
                    self._faults.remove(due)
            return due

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.times for f in self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


@dataclass
class Hit:
    """One request, logged on arrival; the outcome is filled in when it is answered."""

    at: float  # time.monotonic() at arrival
    method: str
    path: str
    status: int | None = None  # None: not answered (yet), or the connection was dropped
    fault: FaultKind | None = None
    rate_limited: bool = False  # a 429 the service issued itself (not scripted)
    done: bool = False


class RequestLog:
    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._lock = threading.Lock()

    def add(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests received, optionally only those with this method and a path matching."""
        return sum(
            1
            for hit in list(self.hits)
            if (method is None or hit.method == method)
            and (path is None or re.search(path, hit.path))
        )

    @property
    def rate_limited(self) -> int:
        """429s the service issued because its rate limit was exceeded (scripted ones excluded)."""
        return sum(1 for hit in list(self.hits) if hit.rate_limited)

    def statuses(self, path: str | None = None) -> list[int | None]:
        return [hit.status for hit in list(self.hits) if path is None or re.search(path, hit.path)]

    def max_in_window(self, window: float) -> int:
        """The most requests that arrived within any `window` seconds."""
        times = sorted(hit.at for hit in list(self.hits))
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def wait_for(
        self, count: int, method: str | None = None, path: str | None = None, timeout: float = 10
    ) -> None:
        """Block until `count` matching requests have arrived (answered or not)."""
        deadline = time.monotonic() + timeout
        while self.count(method, path) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count(method, path)} of {count} requests arrived")
            time.sleep(0.01)

    def wait_idle(self, timeout: float = 10) -> None:
        """Block until every request that arrived has been answered or dropped."""
        deadline = time.monotonic() + timeout
        while not all(hit.done for hit in list(self.hits)):
            if time.monotonic() > deadline:
                raise TimeoutError("requests still in flight")
            time.sleep(0.01)

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()


class RollingWindow:
    """Server-side limit: at most `limit` admitted requests in any rolling `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> tuple[bool, int]:
        """(admitted?, remaining in the window after this request)."""
        with self._lock:
            now = time.monotonic()
            while self._admitted and self._admitted[0] <= now - self.window:
                self._admitted.popleft()
            if len(self._admitted) >= self.limit:
                return False, 0
            self._admitted.append(now)
            return True, self.limit - len(self._admitted)


def correlation_id() -> str:
    return str(uuid.uuid4())


class FakeServer:
    """Base class: start/stop as a context manager; `url` is the base URL to configure."""

    #: The path a fault helper targets when none is given (the service's batch write).
    default_fault_path: str = ".*"

    def __init__(self) -> None:
        self.faults = FaultScript()
        self.log = RequestLog()
        self.lock = threading.RLock()  # guards the service's in-memory data
        self._stopping = threading.Event()
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- service hooks -----------------------------------------------------------------------

    def handle(self, request: Request, fault: Fault | None) -> Response:
        """Answer a request; `fault` is a partial-failure fault for batch writes, else None."""
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> tuple[Any, dict[str, str]]:
        """The service's error body (and content type) for a scripted status."""
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def sleep(self, seconds: float) -> None:
        """Sleep that ends early on `release_delays` or stop (hung requests do not outlive it)."""
        if not self._stopping.is_set():
            self._release.wait(seconds)

    def release_delays(self) -> None:
        """Let every request held by a delay fault finish now."""
        self._release.set()
        self._release.clear()

    # -- fault helpers -----------------------------------------------------------------------

    def _fault(self, kind: FaultKind, method: str | None, path: str | None, **kw: Any) -> None:
        pattern = re.compile(path or self.default_fault_path)
        self.faults.add(Fault(kind, method, pattern, **kw))

    def fail_next(
        self,
        status: int,
        *,
        retry_after: float | None = None,
        times: int = 1,
        skip: int = 0,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next matching request(s) with `status` (and Retry-After when given)."""
        header = None if retry_after is None else f"{retry_after:g}"
        self._fault(
            "status", method, path, times=times, skip=skip, status=status, retry_after=header
        )

    def delay_next(
        self,
        seconds: float,
        *,
        after_apply: bool = False,
        times: int = 1,
        skip: int = 0,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Hold the next matching request(s) `seconds` before (or after) processing them."""
        self._fault(
            "delay",
            method,
            path,
            times=times,
            skip=skip,
            seconds=seconds,
            after_apply=after_apply,
        )

    def drop_next(
        self,
        *,
        after_apply: bool = True,
        times: int = 1,
        skip: int = 0,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Close the connection without answering, by default after applying the write."""
        self._fault("drop", method, path, times=times, skip=skip, after_apply=after_apply)

    def partial_next(
        self,
        count: int,
        *,
        code: str = "",
        times: int = 1,
        skip: int = 0,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Make the first `count` records of the next batch write(s) fail individually."""
        self._fault("partial", method, path, times=times, skip=skip, count=count, code=code)

    # -- request processing ------------------------------------------------------------------

    def process(self, request: Request) -> Response | None:
        """Apply the fault script around the service; None means: drop the connection."""
        hit = Hit(request.arrived, request.method, request.path)
        self.log.add(hit)
        fault = self.faults.take(request.method, request.path)
        hit.fault = fault.kind if fault else None
        response = self._respond(request, fault)
        hit.status = response.status if response else None
        hit.rate_limited = bool(response and response.status == 429 and fault is None)
        hit.done = True
        return response

    def _respond(self, request: Request, fault: Fault | None) -> Response | None:
        if fault and fault.kind == "status":
            body, headers = self.error_body(fault.status, "scripted failure")
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return Response(fault.status, body, headers)
        if fault and fault.kind == "drop" and not fault.after_apply:
            return None
        if fault and fault.kind == "delay" and not fault.after_apply:
            self.sleep(fault.seconds)
        try:
            response = self.handle(request, fault if fault and fault.kind == "partial" else None)
        except Reply as reply:
            response = reply.response
        if fault and fault.kind == "drop":
            return None
        if fault and fault.kind == "delay" and fault.after_apply:
            self.sleep(fault.seconds)
        return response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services
    timeout = 15  # idle keep-alive connections close instead of lingering
    fake: FakeServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fake._connections.add(self.connection)

    def finish(self) -> None:
        self.fake._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the request log has everything."""

    def _serve(self) -> None:
        arrival = time.monotonic()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            self.command, parts.path, parse_qs(parts.query), self.headers, body, arrival
        )
        response = self.fake.process(request)
        if response is None:
            self.close_connection = True
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        headers = dict(response.headers)
        if isinstance(response.body, bytes):
            payload = response.body
        elif response.body is None:
            payload = b""
        else:
            payload = json.dumps(response.body).encode()
            headers.setdefault("Content-Type", "application/json;charset=utf-8")
        try:
            self.send_response(response.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client gave up (timeout) before the answer was ready
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve
