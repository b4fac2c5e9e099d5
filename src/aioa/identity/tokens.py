"""Access and refresh tokens.

Access tokens are short-lived JWTs signed with Ed25519 (`EdDSA`), the key named by `kid` in the header. The public
keys are published by `jwks()`. Rotation adds a new signing key and keeps the old one for verification until the
tokens it signed have expired, so nobody is logged out; `retire_signing_key` drops a (compromised) key at once.
The private keys live in the identity store (`signing_keys.private_pem`): the operator must protect that store
(file permissions, encryption at rest) like any signing secret.

Refresh tokens are opaque random strings stored as SHA-256 digests (256 random bits: nothing to brute-force), in
families (one per sign-in). Each use spends the token and returns a new pair; presenting a spent token again means
it was stolen (or replayed), and the whole family is revoked, which also stops its access tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import bindparam, delete, or_, select, update

from aioa.identity import audit, clock, lookups
from aioa.identity.accounts import principal_of_user
from aioa.identity.errors import InvalidCredentials, InvalidToken
from aioa.identity.models import RefreshToken, SigningKey, User
from aioa.identity.principal import Principal, local_operator
from aioa.identity.store import engine_for, session_scope
from aioa.settings import Settings

ALGORITHM = "EdDSA"
ALLOWED_ALGORITHMS = (ALGORITHM,)  # fixed: never taken from the token
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub")
LEEWAY_S = 5  # clock skew between hosts

_private_keys: dict[str, Ed25519PrivateKey] = {}  # parsed once per kid (a kid's key never changes)
_public_keys: dict[str, object] = {}
_verified: dict[tuple, tuple[str, dict]] = {}  # (token, identity store, audience, issuer) -> (kid, claims)
MAX_VERIFIED = 4096  # only tokens whose signature verified: cleared when full


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = 0  # seconds the access token lives


def issue_tokens(settings: Settings, principal: Principal) -> TokenPair:
    """A new sign-in session (refresh-token family) for an enabled user account."""
    if principal.kind != "user":
        raise ValueError("tokens are issued to user accounts only (API keys are used as they are)")
    family_id = secrets.token_hex(16)
    with session_scope(settings) as session:
        user = session.get(User, principal.subject)
        if user is None or user.disabled:
            raise InvalidCredentials("unknown or disabled user")
        refresh = _new_refresh_token(session, settings, user.id, family_id)
        fresh = principal_of_user(user)
        # Expired tokens are only kept a day (to tell "expired" from "unknown"); the table does not grow forever.
        session.execute(delete(RefreshToken).where(RefreshToken.expires_at < clock.now() - timedelta(days=1)))
    pair = TokenPair(_access_token(settings, fresh, family_id), refresh, expires_in=settings.access_token_ttl_s)
    audit.record(settings, actor=fresh, action="token.issue", target=fresh.email, detail={"session": family_id})
    return pair


def verify_access_token(settings: Settings, token: str) -> Principal:
    """The principal of a valid access token, from its (still enabled) account. Raises InvalidToken.

    The algorithm list is fixed (EdDSA), the key is the one its `kid` names if that key still verifies, and
    exp/iat/nbf/iss/aud/sub are required. The signature is checked once per token (`_verified_claims`), its time
    claims and its key on every call; the three rows read (the key, the account, the session) come from `lookups`
    (at most LOOKUP_TTL_S old, dropped by any write here)."""
    url = settings.identity_url
    _kid, claims = _verified_claims(settings, token)
    if claims.get("kind") != "user":
        raise InvalidToken("token is not a user access token")
    user = lookups.cached((url, "user", claims["sub"]), lambda: _read(settings, _USER, id=claims["sub"]))
    if user is None or user.disabled:
        raise InvalidToken("the token's account is gone or disabled")
    if claims.get("org") != user.org_id:
        raise InvalidToken("the token's account moved to another org")
    session_id = claims.get("sid")
    if session_id and lookups.cached(
        (url, "session_revoked", session_id), lambda: _read(settings, _REVOKED, family_id=session_id) is not None
    ):
        raise InvalidToken("this session was signed out")
    return replace(principal_of_user(user), session_id=session_id)


# Built once: constructing a select() costs more than running it on SQLite.
_KEY = select(SigningKey.public_jwk, SigningKey.active, SigningKey.verify_until).where(
    SigningKey.kid == bindparam("kid")
)
_USER = select(User.__table__).where(User.id == bindparam("id"))
_REVOKED = (
    select(RefreshToken.id)
    .where(RefreshToken.family_id == bindparam("family_id"), RefreshToken.revoked_at.isnot(None))
    .limit(1)
)


def _read(settings: Settings, query, **values):
    """The first row of a prebuilt query (None when there is none)."""
    with engine_for(settings).connect() as connection:
        return connection.execute(query, values).first()


def _verified_claims(settings: Settings, token: str) -> tuple[str, dict]:
    """The key id and claims of a token whose signature verified. The same token string verifies the same way every
    time, so its claims are kept (`_verified`, by token, identity store, audience and issuer): a repeated token costs a dictionary
    lookup instead of Ed25519 and PyJWT's parsing (~0.25 ms). Its key (retired?), expiry and not-before are still
    checked on every call."""
    memo_key = (token, settings.identity_url, settings.jwt_audience, settings.jwt_issuer)
    verified = _verified.get(memo_key)
    if verified is not None:
        kid, claims = verified
        _verification_key(settings, kid)
        now = time.time()  # PyJWT's clock
        if claims["exp"] <= now - LEEWAY_S:
            raise InvalidToken("token has expired")
        if claims["nbf"] > now + LEEWAY_S:
            raise InvalidToken("token is not yet valid")
        return verified
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("malformed token") from None
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise InvalidToken(f"token algorithm {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("token has no key id (kid)")
    claims = _decode(settings, token, _verification_key(settings, kid))
    if len(_verified) >= MAX_VERIFIED:
        _verified.clear()
    _verified[memo_key] = (kid, claims)
    return kid, claims


def _decode(settings: Settings, token: str, key) -> dict:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=list(ALLOWED_ALGORITHMS),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_S,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token has expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("token is not yet valid") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("token is for another audience") from None
    except jwt.InvalidIssuerError:
        raise InvalidToken("token is from another issuer") from None
    except jwt.MissingRequiredClaimError as error:
        raise InvalidToken(f"token lacks the {error.claim!r} claim") from None
    except jwt.PyJWTError:
        raise InvalidToken("token signature or format is invalid") from None


def refresh_tokens(settings: Settings, refresh_token: str) -> TokenPair:
    """Spend a refresh token for a new pair in the same family. A spent token presented again revokes the family."""
    now = clock.now()
    outcome, family_id, org_id, fresh, refresh = "invalid", None, None, None, None
    with session_scope(settings) as session:
        row = session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)).with_for_update()
        )
        if row is not None:
            family_id = row.family_id
            user = session.get(User, row.user_id)
            org_id = user.org_id if user is not None else None
            if row.revoked_at is not None:
                outcome = "revoked"
            elif row.expires_at <= now:
                outcome = "expired"
            elif row.spent_at is not None or not _spend(session, row.id, now):
                outcome = "reused"
                _revoke_family(session, row.family_id, now)
            elif user is None or user.disabled:
                outcome = "disabled"
                _revoke_family(session, row.family_id, now)
            else:
                outcome = "ok"
                refresh = _new_refresh_token(session, settings, user.id, row.family_id)
                fresh = principal_of_user(user)
    if outcome == "reused":
        audit.record(settings, actor="system", action="token.reuse_revoked", org_id=org_id, target=family_id)
    if outcome != "ok":
        raise InvalidToken(
            {
                "invalid": "unknown refresh token",
                "revoked": "this refresh token was revoked",
                "reused": "this refresh token was already used; its session is revoked",
                "expired": "this refresh token has expired",
                "disabled": "the account is disabled",
            }[outcome]
        )
    pair = TokenPair(_access_token(settings, fresh, family_id), refresh, expires_in=settings.access_token_ttl_s)
    audit.record(settings, actor=fresh, action="token.refresh", target=fresh.email, detail={"session": family_id})
    return pair


def revoke_family(settings: Settings, refresh_token: str) -> bool:
    """Sign out: revoke the token's whole family (its access tokens stop verifying). False for an unknown token."""
    with session_scope(settings) as session:
        row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(refresh_token)))
        if row is None:
            return False
        _revoke_family(session, row.family_id, clock.now())
        user = session.get(User, row.user_id)
        actor = principal_of_user(user) if user is not None else "system"
    audit.record(settings, actor=actor, action="token.revoke", target=row.family_id)
    return True


def jwks(settings: Settings) -> dict:
    """The JSON Web Key Set: every public key that still verifies tokens (the active one and recently rotated)."""
    _active_key(settings)
    now = clock.now()
    with session_scope(settings, write=False) as session:
        rows = session.scalars(
            select(SigningKey)
            .where(or_(SigningKey.active.is_(True), SigningKey.verify_until > now))
            .order_by(SigningKey.created_at.desc())
        )
        return {"keys": [dict(row.public_jwk) for row in rows]}


def rotate_signing_key(settings: Settings, *, actor: Principal | str | None = None) -> str:
    """A new active signing key; the previous ones verify until the tokens they signed have expired."""
    now = clock.now()
    keep_until = now + timedelta(seconds=settings.access_token_ttl_s + LEEWAY_S)
    with session_scope(settings) as session:
        retiring = list(session.scalars(select(SigningKey).where(SigningKey.active.is_(True))))
        for row in retiring:
            row.active, row.verify_until = False, keep_until
        kid = _add_key(session, now)
    audit.record(
        settings,
        actor=actor or local_operator(),
        action="signing_key.rotate",
        target=kid,
        detail={"previous": [row.kid for row in retiring], "previous_verify_until": keep_until.isoformat()},
    )
    return kid


def retire_signing_key(settings: Settings, kid: str, *, actor: Principal | str | None = None) -> None:
    """Stop trusting a key now (it leaked): tokens it signed stop verifying; the next issue makes a new key."""
    with session_scope(settings) as session:
        row = session.get(SigningKey, kid)
        if row is None:
            raise LookupError(f"no signing key {kid}")
        row.active, row.verify_until = False, clock.now()
    audit.record(settings, actor=actor or local_operator(), action="signing_key.retire", target=kid)


def _access_token(settings: Settings, principal: Principal, family_id: str) -> str:
    kid, private_key = _active_key(settings)
    now = int(clock.now().timestamp())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": principal.subject,
        "iat": now,
        "nbf": now,
        "exp": now + settings.access_token_ttl_s,
        "jti": secrets.token_hex(8),
        "sid": family_id,
        "kind": principal.kind,
        "org": principal.org_id,
        "team": principal.team_id,
        "role": principal.role,
        "email": principal.email,
    }
    return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid})


def _sign_claims(settings: Settings, claims: dict, *, headers: dict | None = None) -> str:
    """Sign arbitrary claims with the active key (tests build expired, early or foreign-audience tokens)."""
    kid, private_key = _active_key(settings)
    return jwt.encode(claims, private_key, algorithm=ALGORITHM, headers={"kid": kid, **(headers or {})})


def _active_key(settings: Settings) -> tuple[str, Ed25519PrivateKey]:
    """The newest active signing key, created on first use."""
    query = select(SigningKey).where(SigningKey.active.is_(True)).order_by(SigningKey.created_at.desc()).limit(1)
    with session_scope(settings, write=False) as session:
        row = session.scalar(query)
    if row is None:
        with session_scope(settings) as session:
            row = session.scalar(query)  # another process may have made it meanwhile
            if row is None:
                _add_key(session, clock.now())
                row = session.scalar(query)
    if row.kid not in _private_keys:
        _private_keys[row.kid] = serialization.load_pem_private_key(row.private_pem.encode("ascii"), password=None)
    return row.kid, _private_keys[row.kid]


def _verification_key(settings: Settings, kid: str):
    row = lookups.cached((settings.identity_url, "signing_key", kid), lambda: _read(settings, _KEY, kid=kid))
    if row is None:
        raise InvalidToken("token was signed by an unknown key")
    if not row.active and (row.verify_until is None or row.verify_until <= clock.now()):
        raise InvalidToken("token was signed by a retired key")
    if kid not in _public_keys:
        _public_keys[kid] = jwt.PyJWK(row.public_jwk, algorithm=ALGORITHM).key
    return _public_keys[kid]


def _add_key(session, now: datetime) -> str:
    private_key = Ed25519PrivateKey.generate()
    kid = f"{now:%Y%m%d}-{secrets.token_hex(6)}"
    public_jwk = {**OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "alg": ALGORITHM}
    public_jwk["use"] = "sig"
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    session.add(
        SigningKey(kid=kid, algorithm=ALGORITHM, private_pem=pem, public_jwk=public_jwk, created_at=now, active=True)
    )
    session.flush()
    return kid


def _new_refresh_token(session, settings: Settings, user_id: str, family_id: str) -> str:
    plaintext = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        RefreshToken(
            id=secrets.token_hex(8),
            token_hash=_digest(plaintext),
            family_id=family_id,
            user_id=user_id,
            issued_at=now,
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    return plaintext


def _spend(session, token_id: str, now: datetime) -> bool:
    """Mark the token spent if nobody did first (two requests racing with one token: only one wins)."""
    result = session.execute(
        update(RefreshToken).where(RefreshToken.id == token_id, RefreshToken.spent_at.is_(None)).values(spent_at=now)
    )
    return result.rowcount == 1


def _revoke_family(session, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
