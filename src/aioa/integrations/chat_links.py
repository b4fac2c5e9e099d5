"""Who a chat user is: a Slack (team id, user id) or Teams (tenant id, user id) linked to an account of the identity
store, whose org, team and role the bot answers with. Links live in their own small store (SQLite at
<home>/integrations.db by default, `AIOA_INTEGRATIONS_STORE_URL` for PostgreSQL); the account itself stays in the
identity store, so disabling it there silences the bot too."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from aioa.identity.principal import Principal
from aioa.settings import Settings

PROVIDERS = ("slack", "teams")

metadata = sa.MetaData()
chat_links = sa.Table(
    "chat_links",
    metadata,
    sa.Column("provider", sa.String(16), primary_key=True),
    sa.Column("workspace_id", sa.String(200), primary_key=True),  # Slack team id, Teams (Entra) tenant id
    sa.Column("chat_user_id", sa.String(200), primary_key=True),
    sa.Column("account_id", sa.String(32), nullable=False),  # users.id of the identity store
    sa.Column("linked_at", sa.DateTime, nullable=False),
)
_engines: dict[str, sa.Engine] = {}


class NotLinked(LookupError):
    """The chat user has no linked account (or it is disabled)."""


def _engine(settings: Settings) -> sa.Engine:
    from aioa.integrations.config import IntegrationSettings

    url = IntegrationSettings().integrations_store_url or f"sqlite:///{settings.home / 'integrations.db'}"
    if url not in _engines:
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        metadata.create_all(engine)
        _engines[url] = engine
    return _engines[url]


def link(settings: Settings, provider: str, workspace_id: str, chat_user_id: str, email: str) -> str:
    """Link a chat user to the account with `email`; the account id. Relinking replaces the account."""
    from aioa.identity.models import User
    from aioa.identity.store import session_scope

    if provider not in PROVIDERS:
        raise ValueError(f"unknown chat provider {provider!r}: use {' or '.join(PROVIDERS)}")
    with session_scope(settings, write=False) as session:
        account = session.scalars(sa.select(User).where(User.email == email.strip().lower())).first()
    if account is None:
        raise NotLinked(f"no account {email}: create it first (`aioa users add`)")
    key = {"provider": provider, "workspace_id": workspace_id, "chat_user_id": chat_user_id}
    with _engine(settings).begin() as connection:
        connection.execute(sa.delete(chat_links).filter_by(**key))
        connection.execute(sa.insert(chat_links).values(**key, account_id=account.id, linked_at=datetime.now(UTC)))
    return account.id


def unlink(settings: Settings, provider: str, workspace_id: str, chat_user_id: str) -> bool:
    key = {"provider": provider, "workspace_id": workspace_id, "chat_user_id": chat_user_id}
    with _engine(settings).begin() as connection:
        return connection.execute(sa.delete(chat_links).filter_by(**key)).rowcount > 0


def principal_for_chat(settings: Settings, provider: str, workspace_id: str, chat_user_id: str) -> Principal:
    """The linked account's principal (its org, team and role); NotLinked when there is none or it is disabled."""
    from aioa.identity.accounts import principal_for
    from aioa.identity.errors import Unauthenticated

    key = {"provider": provider, "workspace_id": workspace_id, "chat_user_id": chat_user_id}
    with _engine(settings).connect() as connection:
        account_id = connection.execute(sa.select(chat_links.c.account_id).filter_by(**key)).scalar()
    if account_id is None:
        raise NotLinked(
            f"this {provider} user is not linked to an aioa account: ask an admin to run "
            f"`aioa integrations link-chat {provider} {workspace_id} {chat_user_id} EMAIL`"
        )
    try:
        return principal_for(settings, account_id)
    except Unauthenticated:
        raise NotLinked("the linked aioa account is disabled or gone") from None


def list_links(settings: Settings) -> list[dict]:
    with _engine(settings).connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(chat_links)).fetchall()]


def links_of_account(settings: Settings, account_id: str, *, delete: bool = False) -> list[dict]:
    """The chat users linked to one account (privacy export); with `delete` they are also unlinked. Never creates
    the store: no store, no links."""
    from aioa.integrations.config import IntegrationSettings

    if not IntegrationSettings().integrations_store_url and not (settings.home / "integrations.db").exists():
        return []
    with _engine(settings).begin() as connection:
        theirs = chat_links.c.account_id == account_id
        links = [dict(row._mapping) for row in connection.execute(sa.select(chat_links).where(theirs)).fetchall()]
        if delete:
            connection.execute(sa.delete(chat_links).where(theirs))
    return links
