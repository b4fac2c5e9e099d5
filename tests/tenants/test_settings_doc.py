"""Tenant settings: defaults from the attribution YAML and the settings, validated partial updates stored in the
identity store and audited key by key, clear messages for bad input, and budgets flowing into the ingest config."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from aioa.attribution.config import load_attribution
from aioa.identity import audit
from aioa.identity.accounts import get_tenant_document
from aioa.identity.principal import Principal
from aioa.settings import Settings
from aioa.tenants.settings_doc import (
    InvalidTenantSettings,
    TenantSettings,
    tenant_settings,
    update_tenant_settings,
    with_tenant_budgets,
)

ADMIN = Principal(subject="u-admin", kind="user", org_id="acme", role="admin", email="admin@acme.test")

ATTRIBUTION = {
    "orgs": [
        {"id": "acme", "name": "Acme Corp", "monthly_budget_usd": 1500, "teams": [{"id": "platform"}]},
        {"id": "globex", "name": "Globex", "monthly_budget_usd": 400},
    ],
    "users": [
        {"id": "alice", "org": "acme", "team": "platform", "match": {"homes": ["/home/alice"]}},
        {"id": "hank", "org": "globex", "match": {"homes": ["/home/hank"]}},
    ],
    "projects": [{"id": "shop", "org": "acme", "match": {"cwd": ["*/shop*"]}}],
}


@pytest.fixture
def home_settings(settings: Settings) -> Settings:
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "attribution.yaml").write_text(yaml.safe_dump(ATTRIBUTION))
    return Settings(home=settings.home)


def test_defaults_come_from_the_attribution_yaml_and_the_settings(home_settings):
    acme = tenant_settings(home_settings, "acme")
    assert acme.monthly_budget_usd == Decimal("1500")
    assert acme.branding.display_name == "Acme Corp"
    assert [team.id for team in acme.attribution.teams] == ["platform"]
    assert [user.id for user in acme.attribution.users] == ["alice"]  # not globex's hank
    assert acme.attribution.users[0].match.homes == ["/home/alice"]
    assert [project.id for project in acme.attribution.projects] == ["shop"]
    assert acme.quotas.api_requests_per_minute_per_key == home_settings.api_requests_per_minute_per_key == 600
    assert acme.quotas.ingest_rows_per_day_per_tenant == 1_000_000
    assert acme.retention.raw_rows_days is None and acme.price_overrides == []

    unknown = tenant_settings(home_settings, "initech")  # no YAML entry, nothing stored
    assert unknown.monthly_budget_usd is None and unknown.branding.display_name is None
    assert unknown.attribution.users == []


def test_an_update_is_validated_stored_as_set_and_audited_key_by_key(home_settings):
    updated = update_tenant_settings(
        home_settings,
        "acme",
        {
            "monthly_budget_usd": "2000.50",
            "branding": {"primary_color": "#ABC", "accent_color": "#FF7F0E", "logo": "acme/logo.png"},
            "quotas": {"api_requests_per_minute_per_key": 120},
            "retention": {"raw_rows_days": 400},
            "price_overrides": [{"model": "claude-opus-*", "input_mtok": 12, "output_mtok": 60}],
        },
        actor=ADMIN,
    )
    assert updated.monthly_budget_usd == Decimal("2000.50")
    assert updated.branding.primary_color == "#aabbcc" and updated.branding.accent_color == "#ff7f0e"
    assert updated.branding.display_name == "Acme Corp"  # the section merged, the YAML default stays
    assert updated.quotas.api_requests_per_minute_per_key == 120
    assert updated.quotas.api_requests_per_minute_per_tenant == 3000  # not overridden
    assert updated.price_overrides[0].output_mtok == Decimal(60)
    assert tenant_settings(home_settings, "acme") == updated

    stored = get_tenant_document(home_settings, "acme")
    assert stored["branding"] == {"primary_color": "#aabbcc", "accent_color": "#ff7f0e", "logo": "acme/logo.png"}
    assert "attribution" not in stored and "display_name" not in stored["branding"]  # defaults are not copied in
    assert stored["quotas"] == {"api_requests_per_minute_per_key": 120}

    entry = [e for e in audit.export(home_settings, org_id="acme") if e["action"] == "settings.update"][-1]
    assert entry["actor"].startswith("user:u-admin") and entry["target"] == "acme"
    assert entry["detail"]["monthly_budget_usd"] == {"before": "1500", "after": "2000.50"}
    assert entry["detail"]["branding.primary_color"] == {"before": None, "after": "#aabbcc"}
    assert entry["detail"]["quotas.api_requests_per_minute_per_key"] == {"before": 600, "after": 120}
    assert "branding.display_name" not in entry["detail"]  # unchanged keys are not listed
    assert tenant_settings(home_settings, "globex").monthly_budget_usd == Decimal("400")  # other org untouched


def test_null_drops_an_override_and_brings_the_default_back(home_settings):
    update_tenant_settings(
        home_settings, "acme", {"monthly_budget_usd": 90, "branding": {"accent_color": "#000"}}, actor="cli"
    )
    reverted = update_tenant_settings(
        home_settings, "acme", {"monthly_budget_usd": None, "branding": {"accent_color": None}}, actor="cli"
    )
    assert reverted.monthly_budget_usd == Decimal("1500") and reverted.branding.accent_color is None
    assert get_tenant_document(home_settings, "acme") == {"branding": {}}


def test_an_unchanged_update_writes_nothing(home_settings):
    update_tenant_settings(home_settings, "acme", {"monthly_budget_usd": 90}, actor="cli")
    entries = len(audit.export(home_settings))
    update_tenant_settings(home_settings, "acme", {"monthly_budget_usd": "90"}, actor="cli")
    assert len(audit.export(home_settings)) == entries


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"branding": {"primary_color": "red"}}, "branding.primary_color: must be a hex colour like #1f77b4"),
        ({"branding": {"accent_color": "#12345"}}, "branding.accent_color: must be a hex colour"),
        ({"budget": 5}, "budget: is not a setting (unknown key)"),
        ({"monthly_budget_usd": -1}, "monthly_budget_usd: Input should be greater than or equal to 0"),
        ({"monthly_budget_usd": "lots"}, "monthly_budget_usd: Input should be a valid decimal"),
        ({"price_overrides": [{"model": "x", "input_mtok": 1}]}, "price_overrides.0.output_mtok: Field required"),
        (
            {"price_overrides": [{"model": "x", "input_mtok": 1, "output_mtok": 2, "colour": 1}]},
            "price_overrides.0.colour: is not a setting",
        ),
        ({"branding": {"logo": "../../etc/passwd"}}, "branding.logo: must be an http(s) URL or a relative path"),
        ({"branding": {"logo": "/etc/passwd"}}, "branding.logo: must be an http(s) URL or a relative path"),
        ({"branding": {"logo": "file:///etc/passwd"}}, "branding.logo: must be an http(s) URL or a relative path"),
        ({"retention": {"audit_days": 30}}, "retention.audit_days: Input should be greater than or equal to 365"),
        (
            {"quotas": {"ingest_rows_per_day_per_tenant": 0}},
            "quotas.ingest_rows_per_day_per_tenant: Input should be greater than or equal to 1",
        ),
        (
            {"attribution": {"sources": [{"system": "otel", "paths": ["/"]}]}},
            "attribution.sources: is not a setting (unknown key)",
        ),
        (
            {"attribution": {"users": [{"id": "x", "org": "globex"}]}},
            "attribution.users.0.org: is not a setting (unknown key)",
        ),
        ({"attribution": {"teams": [{"id": "a"}, {"id": "a"}]}}, "attribution: team ids must be unique; repeated: a"),
    ],
)
def test_bad_settings_are_refused_with_a_message_naming_the_field(home_settings, changes, problem):
    before = get_tenant_document(home_settings, "acme")
    entries = len(audit.export(home_settings))
    with pytest.raises(InvalidTenantSettings) as error:
        update_tenant_settings(home_settings, "acme", changes, actor=ADMIN)
    assert any(line.startswith(problem) for line in error.value.problems), error.value.problems
    assert get_tenant_document(home_settings, "acme") == before
    assert len(audit.export(home_settings)) == entries  # nothing stored, nothing audited


def test_logos_may_be_urls_or_files_under_the_branding_folder():
    assert TenantSettings.model_validate({"branding": {"logo": "https://cdn.acme.test/logo.svg"}}).branding.logo
    assert TenantSettings.model_validate({"branding": {"logo": "acme/./logo.png"}}).branding.logo == "acme/logo.png"


def test_tenant_budgets_reach_the_ingest_config(home_settings):
    config = load_attribution(home_settings.resolved_attribution_file)
    assert with_tenant_budgets(home_settings, config) is config  # no identity store yet: unchanged
    assert not (home_settings.home / "identity.db").exists()  # and none was created

    update_tenant_settings(home_settings, "acme", {"monthly_budget_usd": 2500}, actor="cli")
    update_tenant_settings(home_settings, "initech", {"monthly_budget_usd": 70}, actor="cli")
    merged = with_tenant_budgets(home_settings, config)
    budgets = {org.id: org.monthly_budget_usd for org in merged.orgs}
    assert budgets == {"acme": Decimal(2500), "globex": Decimal(400), "initech": Decimal(70)}
    assert merged.orgs[0].teams == config.orgs[0].teams and merged.users == config.users


def test_quota_limits_are_the_overrides_over_the_settings(home_settings):
    from aioa.tenants.settings_doc import quota_limits

    limits = quota_limits(home_settings, "acme")
    assert limits.model_dump() == {
        "api_requests_per_minute_per_key": 600,
        "api_requests_per_minute_per_tenant": 3000,
        "ingest_rows_per_day_per_tenant": 1_000_000,
    }
    update_tenant_settings(home_settings, "acme", {"quotas": {"api_requests_per_minute_per_tenant": 50}}, actor="cli")
    assert quota_limits(home_settings, "acme").api_requests_per_minute_per_tenant == 50  # no stale cache here
    assert quota_limits(home_settings, "acme").api_requests_per_minute_per_key == 600
    assert quota_limits(home_settings, "globex").api_requests_per_minute_per_tenant == 3000
    tighter = Settings(home=home_settings.home, ingest_rows_per_day_per_tenant=10)
    assert quota_limits(tighter, "acme").ingest_rows_per_day_per_tenant == 10  # defaults are part of the cache key
