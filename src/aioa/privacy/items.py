"""A person's items outside the warehouse: what they saved in the identity store and their chat-user links.

Private items (their "My dashboard" layout, their Slack/Teams links) are removed on delete. Shared items (annotations,
saved views, team KPIs, report templates, rules, silences, org settings) stay for their team; only the authorship is pseudonymised, to the same
`deleted-<hash>` the warehouse rows of that org get. Whose an item is: `is_theirs` of its person column (their
account id, `user:<id> <email>` or the email). raw.git_commits holds no author (see contracts.GIT_COMMIT).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from aioa.analytics.kpi_models import TeamKpi
from aioa.collab.models import Annotation, SavedView
from aioa.dashboards.models import DashboardLayout
from aioa.identity.models import Base, TenantSettingsRow
from aioa.privacy.export import _plain, is_theirs
from aioa.privacy.subjects import Subject, identity_store_in_use, pseudonym
from aioa.reports.render.models import SavedReportTemplate
from aioa.rules.models import RuleRow, Silence
from aioa.settings import Settings


@dataclass(frozen=True)
class PersonalItems:
    model: type[Base]
    person_column: str  # the column that names who saved or wrote the row
    private: bool  # True: the row is theirs alone and is removed; False: shared, its authorship pseudonymised


# One registry of the identity store's tables that name a person (tests/privacy checks it against the models).
IDENTITY_ITEMS = (
    PersonalItems(DashboardLayout, "owner", private=True),
    PersonalItems(Annotation, "author", private=False),
    PersonalItems(SavedView, "created_by", private=False),
    PersonalItems(TeamKpi, "updated_by", private=False),
    PersonalItems(SavedReportTemplate, "updated_by", private=False),
    PersonalItems(RuleRow, "updated_by", private=False),
    PersonalItems(Silence, "created_by", private=False),
    PersonalItems(TenantSettingsRow, "updated_by", private=False),
)


def export_items(settings: Settings, subject: Subject) -> dict[str, list[dict]]:
    """Their identity-store items by table, and their chat links (`chat_links`)."""
    items: dict[str, list[dict]] = {}
    if identity_store_in_use(settings):
        from aioa.identity.store import session_scope

        with session_scope(settings, write=False) as session:
            for entry in IDENTITY_ITEMS:
                items[entry.model.__tablename__] = [_row(row) for row in _theirs(session, entry, subject)]
    items["chat_links"] = _chat_links(settings, subject, delete=False)
    return items


def forget_items(settings: Settings, subject: Subject) -> dict[str, int]:
    """Remove their private items and chat links, pseudonymise the authorship of their shared items; counts."""
    done: dict[str, int] = {}
    if identity_store_in_use(settings):
        from aioa.identity.store import session_scope

        with session_scope(settings) as session:
            for entry in IDENTITY_ITEMS:
                rows = _theirs(session, entry, subject)
                for row in rows:
                    if entry.private:
                        session.delete(row)
                    else:
                        setattr(row, entry.person_column, pseudonym(settings, row.org_id, subject.email))
                done[entry.model.__tablename__] = len(rows)
    done["chat_links"] = len(_chat_links(settings, subject, delete=True))
    return done


def _theirs(session, entry: PersonalItems, subject: Subject) -> list:
    """Their rows of one table (within `--org` when given). The identity store's tables are small and `is_theirs`
    is the one rule for an actor text, so rows are read and matched here."""
    query = sa.select(entry.model)
    if subject.org is not None:
        query = query.where(entry.model.org_id == subject.org)
    return [row for row in session.scalars(query) if is_theirs(getattr(row, entry.person_column), subject)]


def _row(row: Base) -> dict:
    return {column.key: _plain(getattr(row, column.key)) for column in sa.inspect(row).mapper.column_attrs}


def _chat_links(settings: Settings, subject: Subject, *, delete: bool) -> list[dict]:
    """The chat links to their account (removed with `delete`); none without an account or a chat-links store."""
    if subject.account is None:
        return []
    from aioa.integrations.chat_links import links_of_account

    return [
        {name: _plain(value) for name, value in link.items()}
        for link in links_of_account(settings, subject.account["id"], delete=delete)
    ]
