"""API keys for machines (ingest agents, CI, scripts): `aioa_<random>`, shown once, stored as a SHA-256 digest.

A plain SHA-256 is enough here, unlike for passwords: the key carries 256 bits from `secrets`, so there is nothing
to guess or to look up in a dictionary, and a fast digest keeps each request's lookup cheap (one indexed equality).
A slow hash (argon2) protects low-entropy secrets chosen by people; it would only add latency to every API call.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update

from aioa.identity import audit, clock, lookups
from aioa.identity.errors import InvalidCredentials
from aioa.identity.models import ApiKey
from aioa.identity.permissions import KEY_SCOPES
from aioa.identity.principal import Principal, local_operator
from aioa.identity.store import engine_for, session_scope
from aioa.settings import Settings

KEY_PREFIX = "aioa_"
SCOPES: tuple[str, ...] = tuple(KEY_SCOPES)  # ingest, read, route, admin
VISIBLE_CHARS = 12  # "aioa_" and 7 random characters: enough to tell keys apart in a listing, useless to guess
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per key


@dataclass(frozen=True)
class KeyInfo:
    id: str
    prefix: str
    org_id: str
    name: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def to_dict(self) -> dict:
        """JSON-ready: datetimes as ISO-8601 text."""
        plain = {
            name: value.isoformat() if isinstance(value, datetime) else value for name, value in asdict(self).items()
        }
        return {**plain, "scopes": list(self.scopes)}


def create_key(
    settings: Settings,
    *,
    org_id: str,
    scopes: Iterable[str],
    name: str | None = None,
    expires_days: int | None = None,
    created_by: Principal | str | None = None,
) -> tuple[KeyInfo, str]:
    """A new key for one org; returns its record and the plaintext key (shown once, never stored)."""
    scopes = tuple(sorted(set(scopes)))
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if not scopes or unknown:
        raise ValueError(f"scopes must be one or more of {', '.join(SCOPES)}" + (f"; not {unknown}" if unknown else ""))
    if not org_id:
        raise ValueError("a key needs an org")
    if expires_days is not None and expires_days < 1:
        raise ValueError("a key expires after one day or more")
    actor = created_by or local_operator()
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    row = ApiKey(
        id=secrets.token_hex(8),
        key_hash=_digest(plaintext),
        prefix=plaintext[:VISIBLE_CHARS],
        org_id=org_id,
        name=name,
        scopes=list(scopes),
        created_at=now,
        created_by=audit.actor_name(actor) if isinstance(actor, Principal) else actor,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    with session_scope(settings) as session:
        session.add(row)
    info = _info(row)
    audit.record(
        settings,
        actor=actor,
        action="key.create",
        org_id=org_id,
        target=info.id,
        detail={
            "scopes": list(scopes),
            "name": name,
            "expires_at": info.to_dict()["expires_at"],
            "prefix": info.prefix,
        },
    )
    return info, plaintext


def list_keys(settings: Settings, org_id: str | None = None) -> list[KeyInfo]:
    with session_scope(settings, write=False) as session:
        query = select(ApiKey).order_by(ApiKey.org_id, ApiKey.created_at)
        if org_id is not None:
            query = query.where(ApiKey.org_id == org_id)
        return [_info(row) for row in session.scalars(query)]


def revoke_key(settings: Settings, key_id: str, *, actor: Principal | str | None = None) -> KeyInfo:
    """Revoke a key (at once: the next request with it is refused). Raises LookupError for an unknown id."""
    with session_scope(settings) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise LookupError(f"no API key with id {key_id}")
        already = row.revoked_at is not None
        if not already:
            row.revoked_at = clock.now()
    info = _info(row)
    if not already:
        audit.record(settings, actor=actor or local_operator(), action="key.revoke", org_id=row.org_id, target=key_id)
    return info


def authenticate_key(settings: Settings, plaintext: str) -> Principal:
    """The principal of a valid key: its org, its scopes, no role of its own (viewer unless it has `admin`)."""
    if not plaintext.startswith(KEY_PREFIX):
        raise InvalidCredentials("not an aioa API key")
    now = clock.now()
    digest = _digest(plaintext)
    # The row is read at most every LOOKUP_TTL_S per key (and again after any write here, e.g. a revocation).
    row = lookups.cached((settings.identity_url, "api_key", digest), lambda: _key_row(settings, digest))
    if row is None:
        raise InvalidCredentials("unknown API key")
    if row.revoked_at is not None:
        raise InvalidCredentials("this API key was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise InvalidCredentials("this API key has expired")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        _touch(settings, row.id, now)
    return Principal(
        subject=row.id,
        kind="api_key",
        org_id=row.org_id,
        role="admin" if "admin" in row.scopes else "viewer",
        key_scopes=frozenset(row.scopes),
    )


_KEY_BY_DIGEST = select(ApiKey.__table__).where(ApiKey.key_hash == bindparam("digest"))  # built once


def _key_row(settings: Settings, digest: str):
    with engine_for(settings).connect() as connection:  # Core, not an ORM session: this runs on every request
        return connection.execute(_KEY_BY_DIGEST, {"digest": digest}).first()


def _touch(settings: Settings, key_id: str, now: datetime) -> None:
    """Record use; the condition makes concurrent requests write once per minute, not once each."""
    stale = now - LAST_USED_RESOLUTION
    with session_scope(settings) as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= stale))
            .values(last_used_at=now)
        )


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        prefix=row.prefix,
        org_id=row.org_id,
        name=row.name,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
