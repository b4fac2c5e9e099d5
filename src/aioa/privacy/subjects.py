"""Who a privacy request is about: from an email to the (org, user id) pairs that carry the person's rows.

The rule (docs/privacy.md): a person is found by their email in three places, and the union is theirs:
1. the identity account with that email: its org and its `usage_user_ids`;
2. the attribution config's users whose `email`, `id` or one of whose `match.names` is that email: (user.org, user.id);
3. the warehouse: rows whose user_id is the email itself (any org: an email is one person's), and `raw.users` rows
   with that email.
`--org` keeps only that org's pairs. User ids are names within an org (two orgs may each have an `alice`), so a
config or account id only means the person in its own org.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from aioa.atomic_files import create_once
from aioa.attribution import load_attribution
from aioa.contracts import FACT_CONTRACTS
from aioa.settings import Settings

# Ids that name nobody in particular (attribution's fallback): never treated as a person's.
NOT_A_PERSON = frozenset({"", "unknown", "(unknown)"})
PSEUDONYM_PREFIX = "deleted-"


@dataclass(frozen=True)
class Subject:
    email: str  # lower-cased
    org: str | None  # the --org restriction, if any
    pairs: tuple[tuple[str, str], ...]  # (org_id, user_id) of the person's rows
    tokens: tuple[str, ...]  # text that identifies them inside paths and free text (longest first)
    account: dict | None = None  # the identity account (no secrets), if any
    config_users: tuple[str, ...] = ()  # attribution config user ids that name the person
    config_file: str | None = None

    @property
    def orgs(self) -> list[str]:
        return sorted({org for org, _ in self.pairs} | ({self.account["org_id"]} if self.account else set()))

    @property
    def email_hash(self) -> str:
        return email_hash(self.email)

    @property
    def found(self) -> bool:
        return bool(self.pairs or self.account)

    def pattern(self) -> str | None:
        """RE2 pattern of the tokens as whole words (letters and digits around them are not part of a token);
        group 1 and 2 are the characters around a match (RE2 has no look-around)."""
        if not self.tokens:
            return None
        return r"(?i)(^|[^a-z0-9])(?:" + "|".join(re.escape(token) for token in self.tokens) + r")([^a-z0-9]|$)"


def email_hash(email: str) -> str:
    """What the audit log keeps of the person: a SHA-256 of the normalised email (someone who knows the email can
    check a deletion happened; the log alone names nobody)."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def pseudonym(settings: Settings, org_id: str | None, email: str) -> str:
    """`deleted-<16 hex>`: stable per (org, person), keyed with the home's secret so it cannot be recomputed from
    a list of emails."""
    message = f"{org_id or ''}\n{email.strip().lower()}".encode()
    return PSEUDONYM_PREFIX + hmac.new(_pseudonym_key(settings), message, hashlib.sha256).hexdigest()[:16]


def pseudonym_key_path(settings: Settings) -> Path:
    return settings.home / "privacy" / "pseudonym.key"


def _pseudonym_key(settings: Settings) -> bytes:
    path = pseudonym_key_path(settings)
    create_once(path, secrets.token_hex(32))  # two first requests at once: the first key written wins
    return bytes.fromhex(path.read_text().strip())


def identity_store_in_use(settings: Settings) -> bool:
    """An identity store is configured or exists (never create one just to look a person up)."""
    return bool(settings.database_url) or (settings.home / "identity.db").exists()


def find_account(settings: Settings, email: str) -> dict | None:
    """The identity account with that email (UserInfo as a dict: no password hash), or None (also when H1's
    identity package or store is absent)."""
    if not identity_store_in_use(settings):
        return None
    try:
        from aioa.identity.accounts import list_users
    except ImportError:
        return None
    for user in list_users(settings):
        if user.email == email:
            return user.to_dict()
    return None


# The person's ids as stored: the email as a user id in any fact table, or a raw.users row with their email.
_STORED_IDS = " union ".join(
    [
        f"select distinct org_id, user_id from raw.{contract.table} where lower(user_id) = $email"
        for contract in FACT_CONTRACTS
    ]
    + ["select distinct org_id, user_id from raw.users where lower(email) = $email"]
)


def resolve_subject(
    settings: Settings, email: str, connection: duckdb.DuckDBPyConnection | None, *, org: str | None = None
) -> Subject:
    """The person behind `email` (see the module docstring); `connection` reads the warehouse (None: no warehouse)."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError(f"{email!r} is not an email address")
    pairs: set[tuple[str, str]] = set()
    tokens: set[str] = {email}
    account = find_account(settings, email)
    if account:
        pairs |= {(account["org_id"], user_id) for user_id in account["usage_user_ids"]}
    config_file = settings.resolved_attribution_file
    config = load_attribution(config_file, settings.default_org)
    config_users = []
    for user in config.users:
        names = {name.strip().lower() for name in user.match.names} | {user.id.lower()}
        if email in names or (user.email or "").strip().lower() == email:
            config_users.append(user.id)
            pairs.add((user.org, user.id))
            tokens |= {Path(home.rstrip("/")).name for home in user.match.homes}
    if connection is not None:
        pairs |= {
            (row_org, user_id) for row_org, user_id in connection.execute(_STORED_IDS, {"email": email}).fetchall()
        }
    pairs = {(row_org, user_id) for row_org, user_id in pairs if user_id not in NOT_A_PERSON and row_org}
    if org is not None:
        pairs = {pair for pair in pairs if pair[0] == org}
        if account and account["org_id"] != org:
            account = None
    tokens |= {user_id for _, user_id in pairs}
    tokens = {token for token in tokens if token.strip() and token.lower() not in NOT_A_PERSON}
    return Subject(
        email=email,
        org=org,
        pairs=tuple(sorted(pairs)),
        tokens=tuple(sorted(tokens, key=lambda token: (-len(token), token))),
        account=account,
        config_users=tuple(config_users),
        config_file=str(config_file) if config_file else None,
    )
