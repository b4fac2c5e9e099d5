"""KPIs saved per team in the identity store: a User saves for their own team, an Admin for any team of their org
or the whole org, a Viewer for none; the org is always the principal's; a bad formula is never stored; saves and
deletes are audited."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from aioa.analytics import kpi_store
from aioa.analytics.kpi_formula import FormulaError
from aioa.identity import store
from aioa.identity.permissions import Forbidden
from aioa.identity.principal import Principal, local_operator

ADMIN = Principal("boss", "user", "acme", "admin", email="boss@acme.example")
ALICE = Principal("alice", "user", "acme", "user", team_id="acme-platform", email="alice@acme.example")
AMARA = Principal("amara", "user", "acme", "viewer", team_id="acme-web")
GABE = Principal("gabe", "user", "globex", "admin")


def _names(settings, principal, teams, org=None) -> list[tuple[str, str]]:
    return [(kpi.team_id, kpi.name) for kpi in kpi_store.list_kpis(settings, principal, teams, org_id=org)]


def test_each_role_saves_where_the_permission_table_lets_it(settings):
    kpi_store.save_kpi(settings, ALICE, team_id="acme-platform", name="Cost per session", formula="spend / sessions")
    with pytest.raises(Forbidden):
        kpi_store.save_kpi(settings, ALICE, team_id="acme-web", name="Theirs", formula="calls")
    with pytest.raises(Forbidden):
        kpi_store.save_kpi(settings, AMARA, team_id="acme-web", name="Mine", formula="calls")
    kpi_store.save_kpi(settings, ADMIN, team_id="acme-web", name="Errors", formula="100 * error_calls / calls")
    kpi_store.save_kpi(settings, ADMIN, team_id=kpi_store.ORG_WIDE, name="Spend", formula="spend", unit="usd")
    assert _names(settings, ALICE, ("acme-platform",)) == [("", "Spend"), ("acme-platform", "Cost per session")]
    assert _names(settings, AMARA, ("acme-web",)) == [("", "Spend"), ("acme-web", "Errors")]
    assert _names(settings, GABE, ("acme-web", "acme-platform")) == []  # another org reads none of acme's
    with pytest.raises(Forbidden):
        _names(settings, GABE, ("acme-web",), org="acme")
    assert _names(settings, local_operator(), ("acme-web",), org="acme") == [("", "Spend"), ("acme-web", "Errors")]


def test_saving_again_replaces_and_bad_input_stores_nothing(settings):
    kpi_store.save_kpi(settings, ALICE, team_id="acme-platform", name="K", formula="spend", unit="usd")
    saved = kpi_store.save_kpi(settings, ALICE, team_id="acme-platform", name="K", formula="spend / calls")
    assert (saved.formula, saved.unit, saved.updated_by) == ("spend / calls", "number", "alice@acme.example")
    with pytest.raises(FormulaError):
        kpi_store.save_kpi(settings, ALICE, team_id="acme-platform", name="Bad", formula="__import__('os')")
    with pytest.raises(ValueError, match="unknown unit"):
        kpi_store.save_kpi(settings, ALICE, team_id="acme-platform", name="Bad", formula="spend", unit="eur")
    assert [kpi.formula for kpi in kpi_store.list_kpis(settings, ALICE, ("acme-platform",))] == ["spend / calls"]
    assert kpi_store.delete_kpi(settings, ALICE, team_id="acme-platform", name="K")
    assert not kpi_store.delete_kpi(settings, ALICE, team_id="acme-platform", name="K")
    with store.session_scope(settings, write=False) as session:
        actions = (
            session.execute(text("select action from audit_log where action like 'kpi.%' order by seq")).scalars().all()
        )
    assert actions == ["kpi.save", "kpi.save", "kpi.delete"]
