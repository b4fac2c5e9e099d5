"""Why a caller was not let in. Every error here is an `Unauthenticated` (HTTP 401) with a message safe to show."""

from __future__ import annotations


class Unauthenticated(Exception):
    """No usable credentials (HTTP 401). The message says what was wrong, never which secret was close."""


class InvalidToken(Unauthenticated):
    """An access or refresh token that is malformed, expired, revoked, signed by an unknown key, or whose user is
    gone or disabled."""


class InvalidCredentials(Unauthenticated):
    """An API key that is unknown, revoked or expired, or a user id that no longer names an enabled account."""


class SignInFailed(Unauthenticated):
    """Wrong email or password, or a disabled account (one message for all, so sign-in does not reveal which)."""


class AccountLocked(SignInFailed):
    """Too many failed sign-ins: the account is locked for `retry_after_s` seconds (HTTP 429/423 with Retry-After)."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SignInRateLimited(AccountLocked):
    """Too many sign-in attempts from one client (ip) in a minute, whatever the accounts tried."""
