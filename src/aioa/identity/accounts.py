"""Accounts: local users with argon2 passwords, federated (single sign-on) users, teams, tenant settings documents.

Sign-in is guarded twice: an account locks after `signin_max_failures` consecutive failures for `signin_lockout_s`,
and one client (ip) may try `signin_per_minute_per_client` times a minute whatever accounts it tries (spraying one
password over many accounts). Every sign-in, failure and lockout is in the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from aioa.identity import audit, clock
from aioa.identity.errors import AccountLocked, InvalidCredentials, SignInFailed, SignInRateLimited
from aioa.identity.models import RefreshToken, SignInWindow, Team, TenantSettingsRow, User
from aioa.identity.principal import ROLES, Principal, local_operator
from aioa.identity.store import session_scope
from aioa.settings import Settings

# argon2id with the library's current defaults (RFC 9106 low-memory profile); hashes made with other parameters are
# re-hashed at the next good sign-in (tests swap this for cheaper parameters).
HASHER = PasswordHasher()
MIN_PASSWORD_CHARS = 8
_SIGNIN_WINDOW = timedelta(minutes=1)
_FAILED = "wrong email or password"  # one message for unknown, wrong, disabled and password-less accounts


@dataclass(frozen=True)
class UserInfo:
    id: str
    email: str
    org_id: str
    role: str
    team_id: str | None
    usage_user_ids: tuple[str, ...]
    disabled: bool
    federated_issuer: str | None
    created_at: datetime
    last_signin_at: datetime | None

    def to_dict(self) -> dict:
        """JSON-ready: datetimes as ISO-8601 text."""
        plain = {
            name: value.isoformat() if isinstance(value, datetime) else value for name, value in asdict(self).items()
        }
        return {**plain, "usage_user_ids": list(self.usage_user_ids)}


def create_user(
    settings: Settings,
    email: str,
    *,
    org_id: str,
    role: str,
    team_id: str | None = None,
    password: str | None = None,
    usage_user_ids: Iterable[str] = (),
    actor: Principal | str | None = None,
) -> UserInfo:
    """A local account (no password: it can only sign in through single sign-on). Raises ValueError for a bad
    role, a short password or an email already taken."""
    email = _normal_email(email)
    _check_fields(email, org_id, role)
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
    password_hash = HASHER.hash(password) if password is not None else None
    with session_scope(settings) as session:
        if session.scalar(select(User.id).where(User.email == email)):
            raise ValueError(f"a user with email {email} exists")
        user = _new_user(email, org_id=org_id, role=role, team_id=team_id, usage_user_ids=usage_user_ids)
        user.password_hash = password_hash
        _ensure_team(session, org_id, team_id)
        session.add(user)
    info = _info(user)
    audit.record(
        settings,
        actor=actor or local_operator(),
        action="user.add",
        org_id=org_id,
        target=email,
        detail={"user_id": info.id, "role": role, "team_id": team_id, "password": password is not None},
    )
    return info


def list_users(settings: Settings, org_id: str | None = None) -> list[UserInfo]:
    with session_scope(settings, write=False) as session:
        query = select(User).order_by(User.org_id, User.email)
        if org_id is not None:
            query = query.where(User.org_id == org_id)
        return [_info(user) for user in session.scalars(query)]


def disable_user(settings: Settings, email: str, *, actor: Principal | str | None = None) -> UserInfo:
    """Disable the account and revoke its refresh tokens (its access tokens stop verifying at once)."""
    email = _normal_email(email)
    with session_scope(settings) as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            raise LookupError(f"no user with email {email}")
        user.disabled = True
        now = clock.now()
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    info = _info(user)
    audit.record(
        settings,
        actor=actor or local_operator(),
        action="user.disable",
        org_id=user.org_id,
        target=email,
        detail={"user_id": user.id},
    )
    return info


def sign_in(settings: Settings, email: str, password: str, *, client: str | None = None) -> Principal:
    """The principal of a local account whose password matches. Raises SignInRateLimited (this client tried too
    often), AccountLocked (too many failures on this account) or SignInFailed."""
    email = _normal_email(email)
    if client is not None:
        _take_signin_attempt(settings, client, email)
    with session_scope(settings) as session:
        user = session.scalar(select(User).where(User.email == email).with_for_update())
        outcome, detail = _check_password(settings, user, password)
        if user is not None and outcome == "ok":
            user.failed_signins, user.locked_until, user.last_signin_at = 0, None, clock.now()
            if HASHER.check_needs_rehash(user.password_hash):
                user.password_hash = HASHER.hash(password)
        principal = principal_of_user(user) if user is not None else None
        org_id = user.org_id if user is not None else None
    action = {"ok": "signin.ok", "locked": "signin.locked", "locked_now": "signin.lockout"}.get(
        outcome, "signin.failed"
    )
    audit.record(
        settings,
        actor=principal or f"anonymous <{email}>",
        action=action,
        org_id=org_id,
        target=email,
        detail={"client": client, **detail},
    )
    if outcome == "ok":
        return principal
    if outcome in ("locked", "locked_now"):
        raise AccountLocked("too many failed sign-ins; try again later", retry_after_s=detail["retry_after_s"])
    raise SignInFailed(_FAILED)


def principal_for(settings: Settings, user_id: str) -> Principal:
    """The principal of an enabled account (raises InvalidCredentials for an unknown or disabled one)."""
    with session_scope(settings, write=False) as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            raise InvalidCredentials("unknown or disabled user")
        return principal_of_user(user)


def find_or_create_federated(
    settings: Settings, *, issuer: str, subject: str, email: str, org_id: str, role: str, team_id: str | None = None
) -> Principal:
    """The account of an identity-provider user (issuer + subject), created on first sign-in. Org, team and role
    come from the provider's claims each time (the provider is the source of truth). An email that belongs to a
    local account is refused, never linked: linking by email would let a provider take over a local account."""
    email = _normal_email(email)
    _check_fields(email, org_id, role)
    with session_scope(settings) as session:
        user = session.scalar(select(User).where(User.issuer == issuer, User.subject == subject).with_for_update())
        created = user is None
        if created:
            if session.scalar(select(User.id).where(User.email == email)):
                raise SignInFailed(f"{email} already has an account that does not sign in through {issuer}")
            user = _new_user(email, org_id=org_id, role=role, team_id=team_id)
            user.issuer, user.subject = issuer, subject
            session.add(user)
        elif user.disabled:
            raise SignInFailed("this account is disabled")
        else:
            user.email, user.org_id, user.role, user.team_id = email, org_id, role, team_id
        user.last_signin_at = clock.now()
        _ensure_team(session, org_id, team_id)
        principal = principal_of_user(user)
    audit.record(
        settings,
        actor=principal,
        action="signin.federated",
        target=email,
        detail={"issuer": issuer, "created": created, "role": role, "team_id": team_id},
    )
    return principal


def list_teams(settings: Settings, org_id: str) -> list[str]:
    with session_scope(settings, write=False) as session:
        return list(session.scalars(select(Team.team_id).where(Team.org_id == org_id).order_by(Team.team_id)))


def get_tenant_document(settings: Settings, org_id: str) -> dict:
    """The org's settings document as stored ({} when none was saved)."""
    with session_scope(settings, write=False) as session:
        row = session.get(TenantSettingsRow, org_id)
        return dict(row.document) if row is not None else {}


def put_tenant_document(settings: Settings, org_id: str, document: dict, *, actor: Principal | str) -> None:
    """Replace the org's settings document (validated by the caller) and audit which keys changed."""
    before = get_tenant_document(settings, org_id)
    with session_scope(settings) as session:
        row = session.get(TenantSettingsRow, org_id)
        if row is None:
            row = TenantSettingsRow(org_id=org_id)
            session.add(row)
        row.document, row.updated_at = document, clock.now()
        row.updated_by = audit.actor_name(actor) if isinstance(actor, Principal) else actor
    changed = sorted(key for key in before.keys() | document.keys() if before.get(key) != document.get(key))
    audit.record(
        settings, actor=actor, action="settings.put", org_id=org_id, target=org_id, detail={"changed": changed}
    )


def _check_password(settings: Settings, user: User | None, password: str) -> tuple[str, dict]:
    """Outcome of one attempt on a (row-locked) account: ok, failed, locked (already), locked_now (this failure
    locked it). Unknown and password-less accounts still cost one hash, so timing does not tell them apart."""
    now = clock.now()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        return "locked", {"retry_after_s": _seconds_until(user.locked_until, now)}
    if user is None or user.password_hash is None:
        _verify(_dummy_hash(), password)
        return "failed", {"reason": "unknown account" if user is None else "no password"}
    good = _verify(user.password_hash, password)
    if good and not user.disabled:
        return "ok", {}
    if not good:
        user.failed_signins += 1
    if user.failed_signins >= settings.signin_max_failures:
        user.failed_signins, user.locked_until = 0, now + timedelta(seconds=settings.signin_lockout_s)
        return "locked_now", {"retry_after_s": settings.signin_lockout_s, "failures": settings.signin_max_failures}
    return "failed", {"reason": "disabled" if good else "wrong password", "failures": user.failed_signins}


def _take_signin_attempt(settings: Settings, client: str, email: str) -> None:
    """Count one attempt in the client's current minute; over the limit raises SignInRateLimited (audited once
    per window)."""
    limit = settings.signin_per_minute_per_client
    now = clock.now()
    for retry in (False, True):  # two first attempts of a new client race to insert its row (PostgreSQL)
        try:
            with session_scope(settings) as session:
                window = session.get(SignInWindow, client, with_for_update=True)
                if window is None:
                    session.execute(delete(SignInWindow).where(SignInWindow.window_start < now - timedelta(hours=1)))
                    window = SignInWindow(client=client, window_start=now, attempts=0)
                    session.add(window)
                elif now - window.window_start >= _SIGNIN_WINDOW:
                    window.window_start, window.attempts = now, 0
                window.attempts += 1
                attempts, retry_after = window.attempts, _seconds_until(window.window_start + _SIGNIN_WINDOW, now)
            break
        except IntegrityError:
            if retry:
                raise
    if attempts <= limit:
        return
    if attempts == limit + 1:
        audit.record(
            settings,
            actor=f"anonymous <{email}>",
            action="signin.rate_limited",
            target=email,
            detail={"client": client, "limit_per_minute": limit},
        )
    raise SignInRateLimited("too many sign-in attempts from this client; try again later", retry_after_s=retry_after)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999))


def _new_user(email: str, *, org_id: str, role: str, team_id: str | None, usage_user_ids: Iterable[str] = ()) -> User:
    return User(
        id=secrets.token_hex(8),
        email=email,
        org_id=org_id,
        team_id=team_id,
        role=role,
        usage_user_ids=list(usage_user_ids),
        disabled=False,
        failed_signins=0,
        created_at=clock.now(),
    )


def _ensure_team(session, org_id: str, team_id: str | None) -> None:
    if team_id and session.get(Team, (org_id, team_id)) is None:
        session.add(Team(org_id=org_id, team_id=team_id, created_at=clock.now()))


def _check_fields(email: str, org_id: str, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if "@" not in email:
        raise ValueError(f"{email!r} is not an email address")
    if not org_id:
        raise ValueError("a user needs an org")


def _normal_email(email: str) -> str:
    return email.strip().lower()


def principal_of_user(user: User) -> Principal:
    return Principal(
        subject=user.id,
        kind="user",
        org_id=user.org_id,
        role=user.role,
        email=user.email,
        team_id=user.team_id,
        usage_user_ids=tuple(user.usage_user_ids or ()),
    )


def _info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        email=user.email,
        org_id=user.org_id,
        role=user.role,
        team_id=user.team_id,
        usage_user_ids=tuple(user.usage_user_ids or ()),
        disabled=user.disabled,
        federated_issuer=user.issuer,
        created_at=user.created_at,
        last_signin_at=user.last_signin_at,
    )
