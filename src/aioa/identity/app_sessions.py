"""The dashboard's sign-in sessions: an opaque random id in an HttpOnly cookie, so a reload or a new tab stays signed in.

A session is a token family of one token in the refresh-token table (`RefreshToken`): the row holds a SHA-256 digest
of the id (taken under its own prefix, so the API's refresh endpoint never accepts the cookie, and the cookie never
names an API token), the account, and when it expires (`app_session_ttl_s`, from sign-in; it is not extended).
It is never rotated: the browser keeps one cookie. Signing out revokes it; `aioa users disable` revokes it with the
account's refresh tokens, and a disabled account or a changed role, team or org shows on the next click because every
run of the app reads the row and its account again (no cache).

The sign-in form carries a CSRF token: an HMAC (derived from the session secret) of a random nonce the server sets
in its own cookie before the form is drawn (signed double submit). A form posted from another site has neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import delete, select, update

from aioa.identity import audit, clock
from aioa.identity.accounts import principal_of_user
from aioa.identity.models import RefreshToken, User
from aioa.identity.principal import Principal
from aioa.identity.store import session_scope
from aioa.settings import Settings

SESSION_COOKIE = "aioa_session"
CSRF_COOKIE = "aioa_csrf"
_DIGEST_PREFIX = b"aioa-app-session:"


def start(settings: Settings, principal: Principal) -> str:
    """A new session for a signed-in local account; returns the id to put in the cookie (shown once, stored
    hashed)."""
    if principal.kind != "user":
        raise ValueError("app sessions are for user accounts")
    session_id = secrets.token_urlsafe(32)
    family_id = secrets.token_hex(16)
    now = clock.now()
    with session_scope(settings) as session:
        session.add(
            RefreshToken(
                id=secrets.token_hex(8),
                token_hash=_digest(session_id),
                family_id=family_id,
                user_id=principal.subject,
                issued_at=now,
                expires_at=now + timedelta(seconds=settings.app_session_ttl_s),
            )
        )
        # Expired sessions are kept a day like refresh tokens, then dropped: the table does not grow forever.
        session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now - timedelta(days=1)))
    audit.record(
        settings, actor=principal, action="app.sign_in", org_id=principal.org_id, detail={"session": family_id}
    )
    return session_id


def principal_for(settings: Settings, session_id: str | None) -> Principal | None:
    """The principal of a live session as the store has it now; None for a missing, unknown, expired or revoked
    session, or a disabled account."""
    if not session_id:
        return None
    with session_scope(settings, write=False) as session:
        row = session.execute(
            select(RefreshToken.family_id, User)
            .join(User, User.id == RefreshToken.user_id)
            .where(
                RefreshToken.token_hash == _digest(session_id),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.spent_at.is_(None),
                RefreshToken.expires_at > clock.now(),
            )
        ).first()
        if row is None or row.User.disabled:
            return None
        return replace(principal_of_user(row.User), session_id=row.family_id)


def end(settings: Settings, session_id: str | None) -> bool:
    """Sign out: revoke the session (every tab holding its cookie is signed out on its next click). False when there
    was no live session."""
    if not session_id:
        return False
    now = clock.now()
    with session_scope(settings) as session:
        row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(session_id)))
        if row is None or row.revoked_at is not None:
            return False
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        user = session.get(User, row.user_id)
        actor = principal_of_user(user) if user is not None else "system"
        org_id = user.org_id if user is not None else None
    audit.record(settings, actor=actor, action="app.sign_out", org_id=org_id, detail={"session": row.family_id})
    return True


def new_csrf_nonce() -> str:
    """The value of the CSRF cookie (one per browser, set before the sign-in form is drawn)."""
    return secrets.token_urlsafe(32)


def csrf_token(settings: Settings, nonce: str) -> str:
    """The token the form carries for the browser whose CSRF cookie holds `nonce`."""
    from aioa.identity.oidc import derived_secret

    key = derived_secret(settings, "app-sign-in-csrf").encode()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()


def csrf_matches(settings: Settings, nonce: str | None, token: str | None) -> bool:
    """Whether a posted form's token belongs to the browser's CSRF cookie."""
    if not nonce or not token:
        return False
    return hmac.compare_digest(csrf_token(settings, nonce), token)


def _digest(session_id: str) -> str:
    return hashlib.sha256(_DIGEST_PREFIX + session_id.encode("utf-8")).hexdigest()
