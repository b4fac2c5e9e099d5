"""The authenticated caller: a person (local account or single sign-on) or a machine (API key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["admin", "user", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "user", "viewer")
PrincipalKind = Literal["user", "api_key", "local_operator"]


@dataclass(frozen=True)
class Principal:
    """Identity facts, never chosen by a request: `org_id`, `team_id` and `role` come from the account, the key or
    the identity provider's claims mapped by configuration."""

    subject: str  # user id, key id, or "operator"
    kind: PrincipalKind
    org_id: str | None  # None only for the local operator (AIOA_AUTH=off, or the CLI on its own machine)
    role: Role
    email: str | None = None
    team_id: str | None = None
    # A user's ids as they appear in usage logs (user_id of raw.llm_calls): their own rows.
    usage_user_ids: tuple[str, ...] = ()
    # API keys carry scopes (`ingest`, `read`, `route`, `admin`); people have every scope their role allows.
    key_scopes: frozenset[str] | None = None
    session_id: str | None = field(default=None, compare=False)

    @property
    def is_operator(self) -> bool:
        return self.kind == "local_operator"


def local_operator() -> Principal:
    """The operator on their own machine (CLI, or AIOA_AUTH=off on 127.0.0.1): every org, admin rights."""
    return Principal(subject="operator", kind="local_operator", org_id=None, role="admin")
