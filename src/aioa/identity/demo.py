"""Demo accounts for the generated sample: two orgs × three roles, passwords generated and shown once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aioa.settings import Settings


@dataclass(frozen=True)
class DemoAccount:
    email: str
    org_id: str
    role: str
    team_id: str | None
    usage_user_ids: tuple[str, ...]


# People of the generated world (aioa.generate.world): their usage rows carry these ids.
DEMO_ACCOUNTS = (
    DemoAccount("admin@acme.example", "acme", "admin", None, ()),
    DemoAccount("alice@acme.example", "acme", "user", "acme-platform", ("alice", "alice@acme.example")),
    DemoAccount("amara@acme.example", "acme", "viewer", "acme-web", ("amara", "amara@acme.example")),
    DemoAccount("admin@globex.example", "globex", "admin", None, ()),
    DemoAccount("greta@globex.example", "globex", "user", "globex-data", ("greta", "greta@globex.example")),
    DemoAccount("gina@globex.example", "globex", "viewer", "globex-ml", ("gina", "gina@globex.example")),
)


def create_demo_accounts(settings: Settings) -> list[tuple[DemoAccount, str]]:
    """Create the demo accounts that do not exist yet; returns (account, password) for the new ones only."""
    from aioa.identity import accounts

    existing = {user.email for user in accounts.list_users(settings)}
    created = []
    for account in DEMO_ACCOUNTS:
        if account.email in existing:
            continue
        password = secrets.token_urlsafe(12)
        accounts.create_user(
            settings,
            account.email,
            org_id=account.org_id,
            role=account.role,
            team_id=account.team_id,
            password=password,
            usage_user_ids=account.usage_user_ids,
        )
        created.append((account, password))
    return created
