"""Reading an API connector's section of the sources file, and naming the setting behind a failure.

Whoever runs a connector sees settings, not stack traces: every problem, whether the file says
something wrong or the service refuses what it says, is reported as `section.key: what is wrong`.
A section is read in full before it is judged, so one run of `healthscore sources check` lists
every mistake in it, not just the first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

from ingestion.sources_config import SourceConfigError

PROBE_TIMEOUT_SECONDS = 10


class SectionReader:
    """Typed access to one section; each bad value is recorded and replaced by its default."""

    def __init__(self, name: str, values: dict[str, Any]) -> None:
        self.name = name
        self.values = values
        self.problems: list[str] = []

    def setting(self, key: str) -> str:
        return f"{self.name}.{key}"

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.setting(key)}: {message}")

    def part(self, key: str) -> SectionReader:
        """A nested mapping (e.g. one entity's field mapping), read with the same bookkeeping."""
        nested = SectionReader(self.setting(key), self.mapping(key))
        nested.problems = self.problems
        return nested

    def _raw(self, key: str) -> Any:
        return self.values.get(key)

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self._raw(key)
        if value is None:
            return default
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            self.problem(key, f"expected a non-empty string, got {value!r}")
            return default
        return str(value).strip()

    def number(self, key: str, default: float) -> float:
        value = self._raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            self.problem(key, f"expected a number ≥ 0, got {value!r}")
            return default
        return float(value)

    def mapping(self, key: str, default: dict[str, Any] | None = None) -> dict[str, Any]:
        value = self._raw(key)
        if value is None:
            return dict(default or {})
        if not isinstance(value, dict):
            self.problem(key, f"expected a mapping, got {value!r}")
            return dict(default or {})
        return {str(k): v for k, v in value.items()}

    def text_map(self, key: str, default: dict[str, str] | None = None) -> dict[str, str]:
        """A mapping of source values to our values (text or numbers, kept as text)."""
        value = self.mapping(key, default)
        bad = [
            k
            for k, v in value.items()
            if not isinstance(v, str | int | float) or isinstance(v, bool)
        ]
        if bad:
            self.problem(key, f"values must be text or numbers (see {', '.join(bad)})")
        return {k: str(v) for k, v in value.items() if k not in bad}

    def texts(self, key: str, default: Iterable[str] = ()) -> tuple[str, ...]:
        value = self._raw(key)
        if value is None:
            return tuple(default)
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.problem(key, f"expected a list of strings, got {value!r}")
            return tuple(default)
        return tuple(str(v) for v in value)

    def choices(self, key: str, allowed: Iterable[str], default: Iterable[str]) -> tuple[str, ...]:
        allowed = tuple(allowed)
        chosen = self.texts(key, default)
        unknown = [v for v in chosen if v not in allowed]
        if unknown:
            self.problem(key, f"{', '.join(unknown)} not one of {', '.join(allowed)}")
        return tuple(v for v in chosen if v in allowed)

    def pattern(self, key: str, default: str) -> re.Pattern[str]:
        source = self.text(key, default) or default
        try:
            return re.compile(source)
        except re.error as error:
            self.problem(key, f"not a valid regular expression: {error}")
            return re.compile(default)

    def base_url(self, env_name: str, default: str | None) -> str:
        """`base_url` from the section, else the service's environment variable, else default."""
        value = self.text("base_url") or os.environ.get(env_name) or default
        if not value:
            self.problem("base_url", f"required (or set {env_name})")
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.problem("base_url", f"{value!r} is not an http(s) URL")
        return value.rstrip("/") + "/"

    def secret(self, key: str, default_env: str) -> str:
        """The value of the environment variable that `<key>_env` names; never in the file."""
        env_name = self.text(f"{key}_env", default_env) or default_env
        value = os.environ.get(env_name)
        if not value:
            self.problem(f"{key}_env", f"environment variable {env_name} is unset")
            return ""
        return value

    def finish(self) -> None:
        """Raise every problem found, one per line."""
        if self.problems:
            raise SourceConfigError("\n".join(self.problems))


def explain(error: BaseException, section: str, token_key: str, service: str) -> str | None:
    """The setting to blame for an HTTP failure, or None when no setting explains it."""
    url_key, token_env = f"{section}.base_url", f"{section}.{token_key}_env"
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        where = error.request.url if error.request is not None else "the service"
        return f"{url_key}: cannot reach {_origin(where)} ({type(error).__name__})"
    response = getattr(error, "response", None)
    if not isinstance(error, requests.HTTPError) or response is None:
        return None
    status, url = response.status_code, _origin(response.url)
    if status == 401:
        return f"{token_env}: {service} rejected the credentials (401 from {url})"
    if status == 403:
        return (
            f"{token_env}: the credentials lack a permission or scope this needs (403 from {url})"
        )
    if status == 404:
        return f"{url_key}: {url} answered 404: is this the {service} API?"
    return None


def probe(
    session: requests.Session, url: str, section: str, token_key: str, service: str
) -> tuple[str | None, requests.Response | None]:
    """One GET without retries, so a wrong URL or token fails in seconds: (problem, response)."""
    try:
        response = session.get(url, timeout=PROBE_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as error:
        problem = explain(error, section, token_key, service)
        return problem or f"{section}.base_url: {service} answered {error}", None
    return None, response


def named_failure(failure: BaseException, section: str, token_key: str, service: str) -> None:
    """Raise SourceConfigError naming the setting when an HTTP error underlies `failure`
    (dlt wraps what a resource raises); return quietly when none does."""
    error: BaseException | None = failure
    while error is not None:
        problem = explain(error, section, token_key, service)
        if problem:
            raise SourceConfigError(problem) from failure
        error = error.__cause__ or error.__context__


def _origin(url: str) -> str:
    """Scheme, host and path: query strings can carry tokens and never reach a message."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
