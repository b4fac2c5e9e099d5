"""Privacy export and delete of what a person saved outside the warehouse: their dashboard layout, annotations, saved
views, team KPIs and report templates (identity store, SQLite in tmp_path) and their Slack/Teams links
(<home>/integrations.db). Each is written through its own store's function as the app writes it; no warehouse."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from aioa.contracts import GIT_COMMIT
from aioa.privacy.delete import delete_subject
from aioa.privacy.export import export_subject
from aioa.privacy.items import IDENTITY_ITEMS
from aioa.privacy.subjects import pseudonym
from aioa.settings import Settings

EMAIL, BOB_EMAIL, ORG = "alice@acme.example", "bob@acme.example", "acme"
SHARED = {
    "annotations": "author",
    "saved_views": "created_by",
    "team_kpis": "updated_by",
    "report_templates": "updated_by",
    "rules": "updated_by",
    "silences": "created_by",
}


@pytest.fixture
def settings(tmp_path, monkeypatch):
    from aioa.identity.store import dispose_all

    for name in ("AIOA_DATABASE_URL", "AIOA_ATTRIBUTION_FILE", "AIOA_INTEGRATIONS_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIOA_HOME", str(tmp_path))
    dispose_all()
    yield Settings(home=tmp_path)
    dispose_all()


@pytest.fixture
def saved(settings: Settings) -> dict:
    """Alice and Bob each save one of everything (Bob's must stay as it is); Alice links a Slack and a Teams user."""
    from aioa.analytics.kpi_store import save_kpi
    from aioa.collab.store import add_annotation, save_view
    from aioa.dashboards.layouts import save_layout
    from aioa.identity import accounts, audit
    from aioa.integrations.chat_links import link
    from aioa.reports.render.store import save_template
    from aioa.reports.render.templates import ReportTemplate, Section
    from aioa.rules.incidents import add_silence
    from aioa.rules.store import save_rule

    people = {}
    for email, password in ((EMAIL, "correct horse 1"), (BOB_EMAIL, "correct horse 2")):
        accounts.create_user(settings, email, org_id=ORG, role="admin", password=password)
        principal = accounts.sign_in(settings, email, password)
        name = email.split("@")[0]
        save_layout(settings, principal, [{"kind": "kpi", "metric": "spend_usd"}])
        add_annotation(settings, principal, body=f"release day ({name})", day=date(2026, 11, 2))
        save_view(settings, principal, name=f"{name} costs", page="Costs", query="range=30d")
        save_kpi(settings, principal, team_id="", name=f"{name} cost per call", formula="spend / calls")
        template = ReportTemplate(
            name=f"{name}-review", title="Review", sections=[Section(kind="kpis", metrics=["spend"])]
        )
        save_template(settings, ORG, template, actor=audit.actor_name(principal))
        rule = {"name": f"{name}-mcp-down", "trigger": {"kind": "mcp_server_down", "consecutive_probes": 2}}
        save_rule(
            settings,
            ORG,
            rule | {"actions": [{"type": "notify", "channels": ["json://127.0.0.1:9/x"]}]},
            actor=principal,
        )
        add_silence(settings, ORG, duration=timedelta(hours=1), reason=f"{name} deploys", actor=principal)
        people[email] = principal.subject
        if email == EMAIL:
            accounts.put_tenant_document(settings, ORG, {"currency": "EUR"}, actor=principal)
    link(settings, "slack", "T01", "U-alice", EMAIL)
    link(settings, "teams", "tenant-1", "alice-aad", EMAIL)
    link(settings, "slack", "T01", "U-bob", BOB_EMAIL)
    return people


def _rows(settings: Settings) -> dict[str, list[dict]]:
    """Every row of the item tables and of the chat links, as dicts."""
    from aioa.identity.store import session_scope
    from aioa.integrations.chat_links import list_links

    with session_scope(settings, write=False) as session:
        tables = {
            entry.model.__tablename__: [dict(row._mapping) for row in session.execute(sa.select(entry.model.__table__))]
            for entry in IDENTITY_ITEMS
        }
    return tables | {"chat_links": list_links(settings)}


def _naming(rows: list[dict], *needles: str) -> list[dict]:
    return [row for row in rows if any(needle in str(value).lower() for value in row.values() for needle in needles)]


def test_the_registry_covers_every_identity_table_that_names_a_person() -> None:
    from aioa.identity.models import Base

    person_columns = {"owner", "author", "created_by", "updated_by"}
    naming = {
        table.name
        for table in Base.metadata.sorted_tables
        if person_columns & set(table.columns.keys()) and table.name != "api_keys"  # delete revokes their keys
    }
    assert naming <= {entry.model.__tablename__ for entry in IDENTITY_ITEMS}
    # commits: no author column to export or pseudonymise
    assert not {"author", "author_name", "author_email", "committer"} & {column.name for column in GIT_COMMIT.columns}


def test_export_contains_each_of_their_items(settings: Settings, saved: dict) -> None:
    items = export_subject(settings, EMAIL)["items"]
    alice = saved[EMAIL]
    assert [row["owner"] for row in items["dashboard_layouts"]] == [alice]
    assert [row["body"] for row in items["annotations"]] == ["release day (alice)"]
    assert [row["name"] for row in items["saved_views"]] == ["alice costs"]
    assert [row["name"] for row in items["team_kpis"]] == ["alice cost per call"]
    assert [row["name"] for row in items["report_templates"]] == ["alice-review"]
    assert [row["name"] for row in items["rules"]] == ["alice-mcp-down"]
    assert [row["reason"] for row in items["silences"]] == ["alice deploys"]
    assert [row["document"] for row in items["tenant_settings"]] == [{"currency": "EUR"}]
    assert sorted((row["provider"], row["chat_user_id"]) for row in items["chat_links"]) == [
        ("slack", "U-alice"),
        ("teams", "alice-aad"),
    ]
    for table, column in SHARED.items() | {("tenant_settings", "updated_by")}:
        assert all(EMAIL in row[column] for row in items[table]), table


def test_delete_removes_private_items_and_pseudonymises_shared_ones(settings: Settings, saved: dict) -> None:
    before = _rows(settings)
    report = delete_subject(settings, EMAIL)
    after = _rows(settings)
    alias = pseudonym(settings, ORG, EMAIL)
    assert report.items == {
        "dashboard_layouts": 1,
        "annotations": 1,
        "saved_views": 1,
        "team_kpis": 1,
        "report_templates": 1,
        "rules": 1,
        "silences": 1,
        "tenant_settings": 1,
        "chat_links": 2,
    }
    for table, rows in after.items():
        assert _naming(rows, EMAIL, saved[EMAIL]) == [], table
    # private: gone; shared: kept for the team under her org's pseudonym
    assert [row["owner"] for row in after["dashboard_layouts"]] == [saved[BOB_EMAIL]]
    assert [row["chat_user_id"] for row in after["chat_links"]] == ["U-bob"]
    for table, column in SHARED.items():
        assert len(after[table]) == len(before[table]) == 2, table
        assert sorted(row[column] == alias for row in after[table]) == [False, True], table
    assert [row["updated_by"] for row in after["tenant_settings"]] == [alias]
    # Bob's rows are exactly as they were
    for table, rows in before.items():
        assert _naming(rows, BOB_EMAIL, saved[BOB_EMAIL]) == _naming(after[table], BOB_EMAIL, saved[BOB_EMAIL]), table
    # audited with the counts, and a second run finds nothing more
    from aioa.identity import audit

    entry = [row for row in audit.export(settings) if row["action"] == "privacy.delete"][-1]
    assert entry["detail"]["items"] == {name: count for name, count in report.items.items() if count}
    assert not any(delete_subject(settings, EMAIL).items.values())
