"""Single sign-on with any OpenID Connect provider (through Authlib): discovery, the authorisation-code request with
PKCE (S256), state and nonce, the id token's validation, and the mapping of the provider's claims to org, team and role.

A pending sign-in (state, nonce, PKCE verifier, where to go next) travels in a signed cookie that lives 10 minutes (the
identity store has no table for it); its state is spent on the callback (in Redis when `AIOA_REDIS_URL` is set, else in
this process), so a callback cannot be replayed. The org never has a default: a person whose claims and groups name no
org, or no role we know, is refused with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt as pyjwt
import yaml
from authlib.common.security import is_secure_transport
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt as jose_jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, ValidationError

from aioa.atomic_files import create_once
from aioa.identity.errors import Unauthenticated
from aioa.identity.principal import ROLES, Principal, Role
from aioa.settings import Settings

LOGIN_TTL_S = 600  # a sign-in must come back from the provider within 10 minutes
DISCOVERY_TTL_S = 3600  # discovery document and signing keys are fetched again after an hour (or an unknown kid)
HTTP_TIMEOUT_S = 5.0
CLOCK_LEEWAY_S = 60
SCOPES = "openid email profile"
# Asymmetric signatures only: `none` is unsigned, and HS* is keyed with the client secret (or, against a careless
# verifier, with the provider's public key), so anyone holding either could mint an id token.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
GROUPS_FILE = "oidc-groups.yaml"
_PENDING_AUDIENCE = "aioa:oidc-login"


class OidcError(Unauthenticated):
    """The single sign-on could not be completed (provider error, expired or altered sign-in, invalid id token)."""


class ProviderUnavailable(OidcError):
    """The identity provider could not be reached, or its discovery document is unusable."""


class SignInRefused(OidcError):
    """The provider vouched for the person, but their claims name no org, or no role we know."""


# --- Discovery -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    """What discovery told us about the configured provider."""

    issuer: str  # exactly as the provider spells it: id tokens must carry this `iss`
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]  # id token signatures we accept from this provider
    token_endpoint_auth_methods: tuple[str, ...]


_lock = threading.Lock()
_providers: dict[str, tuple[float, Provider]] = {}
_key_sets: dict[str, tuple[float, KeySet]] = {}
_spent_states: dict[str, float] = {}


def configured_issuer(settings: Settings) -> str:
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise ProviderUnavailable(
            "single sign-on is not configured: set AIOA_OIDC_ISSUER and AIOA_OIDC_CLIENT_ID (see docs/sso.md)"
        )
    return settings.oidc_issuer


def discover(settings: Settings, *, refresh: bool = False) -> Provider:
    """The provider's metadata from `<issuer>/.well-known/openid-configuration`, cached for an hour."""
    issuer = configured_issuer(settings)
    with _lock:
        cached = _providers.get(issuer)
    if cached and not refresh and cached[0] > time.monotonic():
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    metadata = _get_json(url, what="discovery document")
    provider = _provider_from(issuer, metadata)
    with _lock:
        _providers[issuer] = (time.monotonic() + DISCOVERY_TTL_S, provider)
    return provider


def _provider_from(issuer: str, metadata: dict[str, Any]) -> Provider:
    announced = metadata.get("issuer")
    if not isinstance(announced, str) or announced.rstrip("/") != issuer.rstrip("/"):
        raise ProviderUnavailable(f"the discovery document at {issuer} names issuer {announced!r}, not {issuer!r}")
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = metadata.get(name)
        if not isinstance(value, str) or not is_secure_transport(value):
            raise ProviderUnavailable(f"the provider's {name} ({value!r}) is missing or not https")
        endpoints[name] = value
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = tuple(alg for alg in offered if alg in ID_TOKEN_ALGORITHMS)
    if not algorithms:
        raise ProviderUnavailable(
            f"the provider signs id tokens only with {offered}; aioa accepts {', '.join(ID_TOKEN_ALGORITHMS)}"
        )
    auth_methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return Provider(
        issuer=announced, algorithms=algorithms, token_endpoint_auth_methods=tuple(auth_methods), **endpoints
    )


def _get_json(url: str, *, what: str) -> dict[str, Any]:
    if not is_secure_transport(url):
        raise ProviderUnavailable(f"the {what} URL {url} is not https (plain http is allowed on loopback only)")
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise ProviderUnavailable(f"could not read the provider's {what} at {url}: {error}") from error
    if not isinstance(body, dict):
        raise ProviderUnavailable(f"the provider's {what} at {url} is not a JSON object")
    return body


def _key_set(provider: Provider, *, refresh: bool = False) -> KeySet:
    with _lock:
        cached = _key_sets.get(provider.jwks_uri)
    if cached and not refresh and cached[0] > time.monotonic():
        return cached[1]
    try:
        key_set = KeySet.import_key_set(_get_json(provider.jwks_uri, what="signing keys (JWKS)"))
    except (JoseError, ValueError, TypeError) as error:
        raise ProviderUnavailable(
            f"the provider's signing keys at {provider.jwks_uri} are unusable: {error}"
        ) from error
    with _lock:
        _key_sets[provider.jwks_uri] = (time.monotonic() + DISCOVERY_TTL_S, key_set)
    return key_set


# --- The pending sign-in ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingLogin:
    """One sign-in between our redirect to the provider and its callback (lives `LOGIN_TTL_S`, used once)."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next_path: str
    expires_at: int  # unix seconds


def start_login(settings: Settings, *, redirect_uri: str, next_path: str = "/") -> tuple[str, PendingLogin]:
    """The provider's authorisation URL (code flow, PKCE S256, state, nonce) and the sign-in to keep until it returns."""
    provider = discover(settings)
    pending = PendingLogin(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),  # 86 characters (RFC 7636: 43-128)
        redirect_uri=redirect_uri,
        next_path=safe_next(next_path),
        expires_at=int(time.time()) + LOGIN_TTL_S,
    )
    with _oauth_client(settings, provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            provider.authorization_endpoint,
            state=pending.state,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
        )
    return url, pending


def seal_pending(settings: Settings, pending: PendingLogin) -> str:
    """The pending sign-in as a signed token for a cookie (HS256 with the session secret, expires with the sign-in)."""
    claims = {
        "aud": _PENDING_AUDIENCE,
        "exp": pending.expires_at,
        "state": pending.state,
        "nonce": pending.nonce,
        "code_verifier": pending.code_verifier,
        "redirect_uri": pending.redirect_uri,
        "next": pending.next_path,
    }
    return pyjwt.encode(claims, session_secret(settings), algorithm="HS256")


def open_pending(settings: Settings, sealed: str | None) -> PendingLogin:
    """The pending sign-in from its cookie; an altered, expired or missing one is refused."""
    if not sealed:
        raise OidcError("no sign-in is pending in this browser (cookies blocked, or it was used already): start again")
    try:
        claims = pyjwt.decode(
            sealed,
            session_secret(settings),
            algorithms=["HS256"],
            audience=_PENDING_AUDIENCE,
            options={"require": ["exp", "aud"]},
        )
        return PendingLogin(
            state=claims["state"],
            nonce=claims["nonce"],
            code_verifier=claims["code_verifier"],
            redirect_uri=claims["redirect_uri"],
            next_path=safe_next(claims["next"]),
            expires_at=int(claims["exp"]),
        )
    except pyjwt.ExpiredSignatureError as error:
        raise OidcError("the sign-in took longer than 10 minutes: start again") from error
    except (pyjwt.InvalidTokenError, KeyError, TypeError, ValueError) as error:
        raise OidcError("the pending sign-in was altered or is not ours: start again") from error


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(char) < 32 for char in target):
        return "/"
    return target


# --- The callback ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FederatedIdentity:
    """A person the provider vouched for, with the org, team and role their claims map to."""

    issuer: str
    subject: str
    email: str
    org_id: str
    role: Role
    team_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def complete_login(settings: Settings, params: Mapping[str, str], pending: PendingLogin) -> FederatedIdentity:
    """The callback: check state (once), exchange the code with the PKCE verifier, validate the id token, map claims."""
    if params.get("error"):
        reason = params.get("error_description") or params["error"]
        raise OidcError(f"the identity provider did not sign you in: {reason}")
    if not hmac.compare_digest(str(params.get("state") or ""), pending.state):
        raise OidcError(
            "the sign-in's state does not match the one this browser started (forged or mixed-up): start again"
        )
    if pending.expires_at < time.time():
        raise OidcError("the sign-in took longer than 10 minutes: start again")
    _spend_state(settings, pending)
    code = params.get("code")
    if not code:
        raise OidcError("the identity provider sent no authorisation code")
    provider = discover(settings)
    with _oauth_client(settings, provider, pending.redirect_uri) as client:
        try:
            token = client.fetch_token(
                provider.token_endpoint,
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.code_verifier,
                redirect_uri=pending.redirect_uri,
            )
        except OAuthError as error:
            raise OidcError(f"the identity provider refused the code: {error.description or error.error}") from error
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"could not reach the provider's token endpoint: {error}") from error
    id_token = token.get("id_token")
    if not id_token:
        raise OidcError("the identity provider returned no id token (is the `openid` scope allowed for this client?)")
    claims = verify_id_token(settings, id_token, nonce=pending.nonce, access_token=token.get("access_token"))
    return identity_from_claims(settings, claims)


def verify_id_token(settings: Settings, id_token: str, *, nonce: str, access_token: str | None = None) -> dict:
    """The id token's claims after checking signature (provider's JWKS, asymmetric algorithms only), iss, aud (our
    client id), azp, exp, iat, nonce and at_hash."""
    provider = discover(settings)
    try:
        try:
            token = jose_jwt.decode(id_token, _key_set(provider), algorithms=list(provider.algorithms))
        except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
            token = jose_jwt.decode(id_token, _key_set(provider, refresh=True), algorithms=list(provider.algorithms))
        options = {
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": settings.oidc_client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        params = {"nonce": nonce, "client_id": settings.oidc_client_id, "access_token": access_token}
        claims = CodeIDToken(token.claims, token.header, options, params)
        claims.validate(leeway=CLOCK_LEEWAY_S)
    except (JoseError, ValueError, TypeError) as error:
        raise OidcError(f"the id token is not valid for this sign-in: {_describe(error)}") from error
    return dict(claims)


def _describe(error: Exception) -> str:
    return getattr(error, "description", None) or str(error) or type(error).__name__


def _spend_state(settings: Settings, pending: PendingLogin) -> None:
    """Mark the sign-in's state used; a second callback with it is a replay."""
    key = hashlib.sha256(pending.state.encode()).hexdigest()
    ttl_s = max(1, pending.expires_at - int(time.time())) + CLOCK_LEEWAY_S
    if settings.redis_url:
        import redis

        try:
            with redis.Redis.from_url(settings.redis_url, socket_timeout=HTTP_TIMEOUT_S) as client:
                fresh = client.set(f"aioa:oidc:spent:{key}", "1", nx=True, ex=ttl_s)
        except redis.RedisError as error:
            raise ProviderUnavailable(f"could not record the sign-in in Redis: {error}") from error
    else:
        now = time.monotonic()
        with _lock:
            for spent, until in list(_spent_states.items()):
                if until < now:
                    del _spent_states[spent]
            fresh = key not in _spent_states
            _spent_states[key] = now + ttl_s
    if not fresh:
        raise OidcError("this sign-in was already used (a replayed callback): start again")


def _oauth_client(settings: Settings, provider: Provider, redirect_uri: str) -> OAuth2Client:
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    if secret is None:
        auth_method = "none"  # a public client: PKCE is its only proof
    elif "client_secret_basic" in provider.token_endpoint_auth_methods:
        auth_method = "client_secret_basic"
    else:
        auth_method = "client_secret_post"
    return OAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=secret,
        token_endpoint_auth_method=auth_method,
        scope=SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT_S,
    )


# --- Claims to org, team and role ------------------------------------------------------------------------------------


class GroupRule(BaseModel):
    """What membership of one provider group grants."""

    model_config = ConfigDict(extra="forbid")
    org: str | None = None
    team: str | None = None
    role: Role | None = None


class GroupMapping(BaseModel):
    """`<home>/oidc-groups.yaml`: provider group name -> org/team/role, and an optional role for everyone mapped."""

    model_config = ConfigDict(extra="forbid")
    groups: dict[str, GroupRule] = {}
    default_role: Role | None = None


def group_mapping(settings: Settings) -> GroupMapping:
    """The group mapping file, validated (an empty mapping when there is none)."""
    path = Path(settings.home) / GROUPS_FILE
    if not path.exists():
        return GroupMapping()
    try:
        return GroupMapping.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError) as error:
        raise SignInRefused(f"{path} is not a valid group mapping: {error}") from error


def identity_from_claims(settings: Settings, claims: Mapping[str, Any]) -> FederatedIdentity:
    """Org, team and role from direct claims (`AIOA_OIDC_ORG_CLAIM`, ...) or else from mapped groups; no default org."""
    subject, issuer = claims.get("sub"), claims.get("iss")
    if not isinstance(subject, str) or not subject or not isinstance(issuer, str):
        raise OidcError("the id token carries no subject or issuer")
    who = claims.get("email") or subject
    mapping = group_mapping(settings)
    groups = _strings(claims.get(settings.oidc_groups_claim))
    rules = [mapping.groups[group] for group in groups if group in mapping.groups]

    org = _one(who, settings.oidc_org_claim, claims.get(settings.oidc_org_claim))
    if org is None:
        org = _agreed(who, "org", [rule.org for rule in rules])
    if org is None:
        raise SignInRefused(
            f"no org for {who}: the provider sent no `{settings.oidc_org_claim}` claim and none of their groups "
            f"({', '.join(groups) or 'none sent in `' + settings.oidc_groups_claim + '`'}) is mapped to an org in "
            f"{GROUPS_FILE}; ask an admin to map them (there is no default org)"
        )
    rules = [rule for rule in rules if rule.org in (None, org)]  # a group of another org grants nothing here
    team = _one(who, settings.oidc_team_claim, claims.get(settings.oidc_team_claim))
    if team is None:
        team = _agreed(who, "team", [rule.team for rule in rules])
    role = _role(who, settings.oidc_role_claim, claims.get(settings.oidc_role_claim), rules, mapping.default_role)
    email = _email(who, claims)
    return FederatedIdentity(
        issuer=issuer, subject=subject, email=email, org_id=org, role=role, team_id=team, claims=dict(claims)
    )


def _email(who: str, claims: Mapping[str, Any]) -> str:
    """The person's email: `email`, else a sign-in name that is one (Entra ID's `preferred_username` is the UPN)."""
    for claim in ("email", "preferred_username", "upn"):
        value = claims.get(claim)
        if isinstance(value, str) and "@" in value:
            return value.strip()
    raise SignInRefused(f"no email address for {who}: let the client read the `email` scope (or claim) at the provider")


def _role(who: str, claim: str, value: Any, rules: list[GroupRule], default: Role | None) -> Role:
    """The strongest known role named by the role claim, else by the mapped groups, else the file's default role."""
    named = [name.strip().lower() for name in _strings(value)]
    if named:
        known = [name for name in named if name in ROLES]
        if not known:
            raise SignInRefused(
                f"unknown role for {who}: `{claim}` is {', '.join(named)}; aioa knows {', '.join(ROLES)}"
            )
        return _strongest(known)
    mapped = [rule.role for rule in rules if rule.role]
    if mapped:
        return _strongest(mapped)
    if default:
        return default
    raise SignInRefused(
        f"no role for {who}: the provider sent no `{claim}` claim and no mapped group grants a role ({GROUPS_FILE})"
    )


def _strongest(roles: list[str]) -> Role:
    return min(roles, key=ROLES.index)  # ROLES lists the strongest first


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str) and item.strip()]
    return []


def _one(who: str, claim: str, value: Any) -> str | None:
    values = _strings(value)
    if len(values) > 1:
        raise SignInRefused(f"`{claim}` names several values for {who} ({', '.join(values)}); it must name one")
    return values[0].strip() if values else None


def _agreed(who: str, what: str, values: list[str | None]) -> str | None:
    named = sorted({value for value in values if value})
    if len(named) > 1:
        raise SignInRefused(f"the groups of {who} map to different {what}s ({', '.join(named)}); map them to one")
    return named[0] if named else None


# --- Accounts --------------------------------------------------------------------------------------------------------


def sign_in(settings: Settings, identity: FederatedIdentity) -> Principal:
    """The account for this provider subject (created on first sign-in), with the org, team and role just mapped."""
    from aioa.identity import accounts

    return accounts.find_or_create_federated(
        settings,
        issuer=identity.issuer,
        subject=identity.subject,
        email=identity.email,
        org_id=identity.org_id,
        role=identity.role,
        team_id=identity.team_id,
    )


def principal_from_claims(settings: Settings, claims: Mapping[str, Any]) -> Principal:
    """For the app: claims already validated by Streamlit's `st.login` (same provider) mapped the same way as the API.
    Every reason not to let the person in is a `SignInRefused` with a message to show."""
    from aioa.identity.errors import SignInFailed

    try:
        issuer = configured_issuer(settings)
        if str(claims.get("iss") or "").rstrip("/") != issuer.rstrip("/"):
            raise SignInRefused(f"the sign-in came from {claims.get('iss')!r}, not the configured provider {issuer!r}")
        return sign_in(settings, identity_from_claims(settings, claims))
    except SignInRefused:
        raise
    except (OidcError, SignInFailed) as error:  # e.g. a disabled account, or the email of a local account
        raise SignInRefused(str(error)) from error


# --- The session secret ----------------------------------------------------------------------------------------------


def session_secret(settings: Settings) -> str:
    """`AIOA_SESSION_SECRET`, else a random key generated once into `<home>/session-secret` (readable by us only)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = Path(settings.home) / "session-secret"
    create_once(path, secrets.token_urlsafe(48))  # another process's, if it got there first
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < 32:
        raise OidcError(f"{path} holds a session secret shorter than 32 characters; delete it to generate a new one")
    return secret


def derived_secret(settings: Settings, purpose: str) -> str:
    """A secret for one purpose (e.g. the app's cookie), derived from the session secret so they never coincide."""
    return hmac.new(session_secret(settings).encode(), purpose.encode(), hashlib.sha256).hexdigest()


def clear_caches() -> None:
    """Forget discovered providers, signing keys and spent states (tests; a provider switched at runtime)."""
    with _lock:
        _providers.clear()
        _key_sets.clear()
        _spent_states.clear()
