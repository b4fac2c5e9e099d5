"""The one HTTP client every integration calls an external API through: a base URL (https, or http to this machine
only), a timeout per call, and retries with exponential backoff on connection errors, timeouts, 429 and 5xx
(a `Retry-After` in seconds is honoured, capped). Other 4xx answers are not retried: they say what to fix."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from aioa.webhooks.urls import check_url

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0


class ApiError(RuntimeError):
    """An external API refused or kept failing; `status_code` is None when it never answered."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), MAX_RETRY_AFTER_S)
        return min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)


class ApiClient:
    """`ApiClient(base_url, headers=..., auth=...)`; `.get(path)`, `.post(path, json=...)` return the parsed JSON."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.service = service
        self.retry = retry or RetryPolicy()
        self._client = httpx.Client(
            base_url=check_url(base_url).rstrip("/"),
            headers={"accept": "application/json", "user-agent": "aioa", **(headers or {})},
            auth=auth,
            timeout=timeout_s,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, *, params: dict | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, *, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None) -> Any:
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                response = self._client.request(method, path, params=params, json=json)
            except httpx.TransportError as error:  # refused, reset, timed out
                if last:
                    raise ApiError(f"{self.service}: {method} {path} failed: {type(error).__name__}: {error}") from None
                time.sleep(self.retry.delay(attempt))
                continue
            if response.status_code in RETRY_STATUS and not last:
                time.sleep(self.retry.delay(attempt, response.headers.get("retry-after")))
                continue
            if response.status_code >= 400:
                raise ApiError(
                    f"{self.service}: {method} {path} answered {response.status_code}: {response.text[:300]}",
                    response.status_code,
                )
            return response.json() if response.content else None
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt
