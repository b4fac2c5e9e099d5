"""`/v1/settings` and `/v1/billing/usage` through the real app with authentication on: the org is the caller's own
(a parameter naming another is ignored), roles and key scopes as the permission table says, 422s that name the
field, and billing numbers equal to `usage_export`'s in JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from aioa.identity import accounts, api_keys
from aioa.settings import Settings
from aioa.tenants.billing import COLUMNS, usage_export
from aioa.tenants.settings_doc import tenant_settings

PASSWORD = "correct horse battery staple"
PEOPLE = {"admin": ("acme", "admin"), "viewer": ("acme", "viewer"), "other_admin": ("globex", "admin")}
MONTH = "2026-10"


@pytest.fixture
def api(billing_home: Settings, monkeypatch):
    from apps.api.main import create_app

    monkeypatch.setenv("AIOA_AUTH", "on")
    settings = Settings(home=billing_home.home, auth="on")
    for name, (org, role) in PEOPLE.items():
        accounts.create_user(settings, f"{name}@{org}.test", org_id=org, role=role, password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        headers = {}
        for name, (org, _role) in PEOPLE.items():
            answer = client.post("/v1/auth/token", data={"username": f"{name}@{org}.test", "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            headers[name] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        for scope in ("read", "admin"):
            _info, plaintext = api_keys.create_key(settings, org_id="acme", scopes=[scope], name=f"key-{scope}")
            headers[f"key_{scope}"] = {"Authorization": f"Bearer {plaintext}"}
        yield client, headers, settings


def test_settings_read_is_the_callers_org_and_only_admins_see_rules_and_prices(api):
    client, headers, settings = api
    full = client.get("/v1/settings", headers=headers["admin"])
    assert full.status_code == 200
    assert full.json() == tenant_settings(settings, "acme").model_dump(mode="json")
    assert {"attribution", "price_overrides"} <= set(full.json())
    for reader in ("viewer", "key_read"):
        shared = client.get("/v1/settings", headers=headers[reader])
        assert shared.status_code == 200
        assert set(shared.json()) == {"monthly_budget_usd", "branding", "retention", "quotas"}
    globex = client.get("/v1/settings", headers=headers["other_admin"], params={"org": "acme"})
    assert globex.json() == tenant_settings(settings, "globex").model_dump(mode="json")  # ?org is not honoured
    assert client.get("/v1/settings").status_code == 401


def test_settings_write_is_for_admins_of_their_own_org(api):
    client, headers, settings = api
    globex_before = tenant_settings(settings, "globex")
    for denied in ("viewer", "key_read"):
        answer = client.put("/v1/settings", headers=headers[denied], json={"monthly_budget_usd": 1})
        assert answer.status_code == 403
    changed = client.put(
        "/v1/settings",
        headers=headers["admin"],
        params={"org": "globex"},  # not a parameter of this route: the change goes to the caller's org
        json={"monthly_budget_usd": 2500, "branding": {"primary_color": "#1F77B4"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["monthly_budget_usd"] == "2500"
    assert changed.json()["branding"]["primary_color"] == "#1f77b4"
    assert tenant_settings(settings, "acme").monthly_budget_usd == 2500
    assert tenant_settings(settings, "globex") == globex_before
    by_key = client.put(
        "/v1/settings", headers=headers["key_admin"], json={"quotas": {"ingest_rows_per_day_per_tenant": 10}}
    )
    assert by_key.status_code == 200 and by_key.json()["quotas"]["ingest_rows_per_day_per_tenant"] == 10


def test_a_bad_change_is_a_422_naming_each_field_and_stores_nothing(api):
    client, headers, settings = api
    before = tenant_settings(settings, "acme")
    answer = client.put(
        "/v1/settings", headers=headers["admin"], json={"branding": {"accent_color": "green"}, "colour": 1}
    )
    assert answer.status_code == 422
    problems = answer.json()["detail"]
    assert any(p.startswith("branding.accent_color: must be a hex colour") for p in problems), problems
    assert "colour: is not a setting (unknown key)" in problems
    assert tenant_settings(settings, "acme") == before
    assert client.put("/v1/settings", headers=headers["admin"], json=[1, 2]).status_code == 422


def test_billing_usage_in_json_and_csv_equals_the_export(api):
    client, headers, settings = api
    expected = usage_export(settings, "acme", MONTH)
    assert expected[0]["calls"] > 0
    as_json = client.get("/v1/billing/usage", headers=headers["admin"], params={"month": MONTH})
    assert as_json.status_code == 200 and as_json.json() == expected
    as_csv = client.get("/v1/billing/usage", headers=headers["key_admin"], params={"month": MONTH, "format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="billing-acme-2026-10.csv"' in as_csv.headers["content-disposition"]
    [row] = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(row) == list(COLUMNS)
    assert {
        k: v if k in ("org_id", "month") else (float if k == "cost_usd" else int)(v) for k, v in row.items()
    } == expected[0]


def test_billing_usage_is_the_callers_org_only(api):
    client, headers, settings = api
    globex = client.get("/v1/billing/usage", headers=headers["other_admin"], params={"month": MONTH, "org": "acme"})
    assert globex.status_code == 200
    assert globex.json() == usage_export(settings, "globex", MONTH)
    assert globex.json()[0]["org_id"] == "globex" and globex.json() != usage_export(settings, "acme", MONTH)
    for denied in ("viewer", "key_read"):
        assert client.get("/v1/billing/usage", headers=headers[denied], params={"month": MONTH}).status_code == 403
    assert client.get("/v1/billing/usage", params={"month": MONTH}).status_code == 401


@pytest.mark.parametrize("params", [{"month": "2026-13"}, {"month": "oct"}, {}, {"month": MONTH, "format": "xml"}])
def test_billing_usage_refuses_bad_parameters(api, params):
    client, headers, _ = api
    assert client.get("/v1/billing/usage", headers=headers["admin"], params=params).status_code == 422
