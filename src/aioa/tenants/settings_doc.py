"""Per-tenant settings: one validated document per org (budget, prices, attribution, retention, branding, quotas).

The identity store keeps only what an org's admin has set (`overrides`); what a reader gets is that document laid
over the defaults: the org's entry in the attribution YAML (budget, name, teams, users, projects) and the
settings' limits. Changing settings merges a partial document (a key set to null drops the override and brings the
default back), validates the whole result, stores it and writes the change, key by key, to the audit log.
"""

from __future__ import annotations

import re
import threading
import time
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aioa.attribution.config import AttributionConfig, ProjectMatch, TeamConfig, UserMatch, load_attribution
from aioa.pricing.catalog import PriceOverride
from aioa.settings import Settings

_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _hex_colour(value: str) -> str:
    if not _HEX_COLOUR.match(value):
        raise ValueError(f"must be a hex colour like #1f77b4 or #abc, not {value!r}")
    if len(value) == 4:  # #abc -> #aabbcc
        value = "#" + "".join(digit * 2 for digit in value[1:])
    return value.lower()


HexColour = Annotated[str, AfterValidator(_hex_colour)]


class Branding(_Strict):
    """White-label branding shown in the app and in reports."""

    display_name: str | None = Field(default=None, min_length=1, max_length=80)
    # An https:// (or http://) URL, or a file under <home>/branding/ (relative, e.g. `acme/logo.png`).
    logo: str | None = Field(default=None, max_length=2000)
    primary_color: HexColour | None = None
    accent_color: HexColour | None = None

    @field_validator("logo")
    @classmethod
    def _url_or_branding_file(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("https://", "http://")):
            return value
        path = PurePosixPath(value)
        if "://" in value or path.is_absolute() or ".." in path.parts or "\\" in value or not path.parts:
            raise ValueError(
                f"must be an http(s) URL or a relative path of a file under <home>/branding/ (no `..`), not {value!r}"
            )
        return str(path)


class Retention(_Strict):
    """How long data of the org is kept, in days (None: kept until deleted)."""

    raw_rows_days: int | None = Field(default=None, ge=1)
    calls_days: int | None = Field(
        default=None, ge=1, description="Calls older than this move to the Parquet archive (`aioa archive run`)."
    )
    snapshots_days: int | None = Field(default=None, ge=1)
    audit_days: int | None = Field(default=None, ge=365, description="At least a year: the audit trail is evidence.")


class Quotas(_Strict):
    """This org's limits where they differ from the settings' (`AIOA_API_REQUESTS_PER_MINUTE_*`, ...)."""

    api_requests_per_minute_per_key: int | None = Field(default=None, ge=1)
    api_requests_per_minute_per_tenant: int | None = Field(default=None, ge=1)
    ingest_rows_per_day_per_tenant: int | None = Field(default=None, ge=1)


class TenantUser(_Strict):
    """A user of this org, as in the attribution YAML's `users` (the org is this tenant, never another)."""

    id: str = Field(min_length=1)
    team: str | None = None
    name: str | None = None
    email: str | None = None
    match: UserMatch = Field(default_factory=UserMatch)


class TenantProject(_Strict):
    """A project of this org, as in the attribution YAML's `projects` (the org is this tenant)."""

    id: str = Field(min_length=1)
    team: str | None = None
    name: str | None = None
    group: str | None = None
    match: ProjectMatch = Field(default_factory=ProjectMatch)


class AttributionRules(_Strict):
    """The org's teams, users and projects with the patterns that identify them (the attribution YAML's org
    section). Source bindings and trusted org claims stay in the operator's YAML: they decide which org owns
    which rows, so no tenant may set them for itself."""

    teams: list[TeamConfig] = []
    users: list[TenantUser] = []
    projects: list[TenantProject] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> AttributionRules:
        for kind, entries in (("team", self.teams), ("user", self.users), ("project", self.projects)):
            ids = [entry.id for entry in entries]
            repeated = sorted({entry for entry in ids if ids.count(entry) > 1})
            if repeated:
                raise ValueError(f"{kind} ids must be unique; repeated: {', '.join(repeated)}")
        return self


class TeamLocation(_Strict):
    """Where a team works, for the app's usage map (a place name and its coordinates)."""

    team: str = Field(min_length=1)
    location: str = Field(min_length=1, max_length=120)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class TenantSettings(_Strict):
    """One org's settings. Every section is optional in a stored document; `tenant_settings()` fills the gaps."""

    monthly_budget_usd: Decimal | None = Field(default=None, ge=0, max_digits=20, decimal_places=2)
    # Entries of the price override YAML's `prices` list, validated by the pricing code's own model.
    price_overrides: list[PriceOverride] = []
    attribution: AttributionRules = Field(default_factory=AttributionRules)
    retention: Retention = Field(default_factory=Retention)
    branding: Branding = Field(default_factory=Branding)
    quotas: Quotas = Field(default_factory=Quotas)
    # One entry per team; the app's "Usage map" draws each team's usage at its place (none: no map).
    team_locations: list[TeamLocation] = []

    @field_validator("team_locations")
    @classmethod
    def _one_location_per_team(cls, value: list[TeamLocation]) -> list[TeamLocation]:
        teams = [entry.team for entry in value]
        repeated = sorted({team for team in teams if teams.count(team) > 1})
        if repeated:
            raise ValueError(f"one location per team; repeated: {', '.join(repeated)}")
        return value


class InvalidTenantSettings(ValueError):
    """A settings change that does not validate; `problems` name each field and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid tenant settings: " + "; ".join(problems))
        self.problems = problems


def tenant_settings(settings: Settings, org_id: str) -> TenantSettings:
    """The org's effective settings: its stored document over the YAML's and the settings' defaults."""
    from aioa.identity.accounts import get_tenant_document

    return _validated(_merge(defaults_document(settings, org_id), get_tenant_document(settings, org_id)))


def update_tenant_settings(settings: Settings, org_id: str, changes: dict, *, actor) -> TenantSettings:
    """Merge `changes` into the org's stored document, validate, store and audit (before/after of each changed
    key). Raises InvalidTenantSettings and stores nothing if the result does not validate."""
    from aioa.identity import audit
    from aioa.identity.accounts import get_tenant_document, put_tenant_document

    if not isinstance(changes, dict):
        raise InvalidTenantSettings([f"settings must be a mapping of sections, not {type(changes).__name__}"])
    defaults = defaults_document(settings, org_id)
    stored = get_tenant_document(settings, org_id)
    merged = _merge(stored, changes)
    after = _validated(_merge(defaults, merged))
    # Store what the admin set, in its validated form (e.g. colours normalised), and nothing of the defaults.
    new_stored = _restricted(after.model_dump(mode="json"), merged)
    if new_stored == stored:
        return after
    before = _flatten(_validated(_merge(defaults, stored)).model_dump(mode="json"))
    after_flat = _flatten(after.model_dump(mode="json"))
    changed = {
        key: {"before": before.get(key), "after": after_flat.get(key)}
        for key in sorted(before.keys() | after_flat.keys())
        if before.get(key) != after_flat.get(key)
    }
    put_tenant_document(settings, org_id, new_stored, actor=actor)
    _forget_quotas(settings, org_id)
    audit.record(settings, actor=actor, action="settings.update", org_id=org_id, target=org_id, detail=changed)
    return after


QUOTA_CACHE_S = 10.0
_quota_cache: dict[tuple, tuple[float, Quotas]] = {}
_quota_lock = threading.Lock()


def quota_limits(settings: Settings, org_id: str) -> Quotas:
    """The org's limits, every field filled (its overrides over the settings'). The API asks on every request, so
    answers are kept for QUOTA_CACHE_S seconds per process (a change made in this process shows at once)."""
    from aioa.identity.accounts import get_tenant_document

    defaults = (
        settings.api_requests_per_minute_per_key,
        settings.api_requests_per_minute_per_tenant,
        settings.ingest_rows_per_day_per_tenant,
    )
    key = (settings.identity_url, org_id, defaults)
    now = time.monotonic()
    with _quota_lock:
        cached = _quota_cache.get(key)
    if cached is not None and now - cached[0] < QUOTA_CACHE_S:
        return cached[1]
    overrides = get_tenant_document(settings, org_id).get("quotas", {})
    limits = Quotas.model_validate(dict(zip(Quotas.model_fields, defaults, strict=True)) | overrides)
    with _quota_lock:
        _quota_cache[key] = (now, limits)
    return limits


def _forget_quotas(settings: Settings, org_id: str) -> None:
    with _quota_lock:
        for key in [key for key in _quota_cache if key[:2] == (settings.identity_url, org_id)]:
            del _quota_cache[key]


def defaults_document(settings: Settings, org_id: str) -> dict:
    """What an org's settings are before its admin changes any: the attribution YAML's org entry and the settings'
    limits."""
    config = load_attribution(settings.resolved_attribution_file, settings.default_org)
    org = next((entry for entry in config.orgs if entry.id == org_id), None)
    document: dict[str, Any] = {
        "quotas": {
            "api_requests_per_minute_per_key": settings.api_requests_per_minute_per_key,
            "api_requests_per_minute_per_tenant": settings.api_requests_per_minute_per_tenant,
            "ingest_rows_per_day_per_tenant": settings.ingest_rows_per_day_per_tenant,
        },
        "attribution": _yaml_rules(config, org_id),
    }
    if org is not None:
        if org.monthly_budget_usd is not None:
            document["monthly_budget_usd"] = str(org.monthly_budget_usd)
        if org.name:
            document["branding"] = {"display_name": org.name}
    return document


def stored_budgets(settings: Settings) -> dict[str, Decimal]:
    """Budgets that orgs' admins have set ({org: budget}); orgs without a stored budget are absent."""
    from sqlalchemy import select

    from aioa.identity.models import TenantSettingsRow
    from aioa.identity.store import session_scope

    with session_scope(settings, write=False) as session:
        rows = session.execute(select(TenantSettingsRow.org_id, TenantSettingsRow.document)).all()
    return {
        org_id: Decimal(str(document["monthly_budget_usd"]))
        for org_id, document in rows
        if (document or {}).get("monthly_budget_usd") is not None
    }


def stored_price_overrides(settings: Settings) -> dict[str, list[PriceOverride]]:
    """Price lists that orgs' admins have set ({org: entries}), for the costing (`PriceCatalog(tenant_overrides=…)`).
    Without an identity store: none, and no store is created."""
    if not _has_store(settings):
        return {}
    from sqlalchemy import select

    from aioa.identity.models import TenantSettingsRow
    from aioa.identity.store import session_scope

    with session_scope(settings, write=False) as session:
        rows = session.execute(select(TenantSettingsRow.org_id, TenantSettingsRow.document)).all()
    return {
        org_id: [PriceOverride.model_validate(entry) for entry in document["price_overrides"]]
        for org_id, document in rows
        if (document or {}).get("price_overrides")
    }


def _has_store(settings: Settings) -> bool:
    return settings.database_url is not None or (settings.home / "identity.db").exists()


def with_tenant_budgets(settings: Settings, config: AttributionConfig) -> AttributionConfig:
    """The attribution config with each org's budget as its admin set it (an org only in the store is added with
    its budget). Without an identity store the config is returned unchanged, and no store is created."""
    budgets = stored_budgets(settings) if _has_store(settings) else {}
    budgets.pop(config.default_org, None)  # unmapped usage has no budget
    if not budgets:
        return config
    orgs = [org.model_dump() for org in config.orgs]
    for org in orgs:
        if org["id"] in budgets:
            org["monthly_budget_usd"] = budgets.pop(org["id"])
    orgs += [{"id": org_id, "monthly_budget_usd": budget} for org_id, budget in sorted(budgets.items())]
    return AttributionConfig.model_validate(config.model_dump() | {"orgs": orgs})


def with_tenant_attribution(settings: Settings, config: AttributionConfig) -> AttributionConfig:
    """The attribution config with each org's own rules (tenant settings `attribution`) in place of its YAML section.

    Teams are the org's list. Users and projects the org wrote itself match only rows of files bound to it
    (`bound_files_only`: its `orgs[].sources` and its API inbox), so its patterns can never claim another org's
    rows; entries equal to the YAML's keep matching as the YAML says. A user id another org already has is left
    out (user ids are global). Without an identity store the config is returned unchanged."""
    documents = _stored_documents(settings, "attribution")
    if not documents:
        return config
    data = config.model_dump()
    for org_id, section in sorted(documents.items()):
        if org_id == config.default_org:
            continue  # unmapped usage has no admin of its own
        rules = _validated(_merge(defaults_document(settings, org_id), {"attribution": section})).attribution
        yaml_users = {user["id"]: user for user in data["users"] if user["org"] == org_id}
        yaml_projects = {project["id"]: project for project in data["projects"] if project["org"] == org_id}
        taken = {user["id"] for user in data["users"] if user["org"] != org_id}
        data["users"] = [user for user in data["users"] if user["org"] != org_id] + [
            _own_entry(user.model_dump(), org_id, yaml_users) for user in rules.users if user.id not in taken
        ]
        data["projects"] = [project for project in data["projects"] if project["org"] != org_id] + [
            _own_entry(project.model_dump(), org_id, yaml_projects) for project in rules.projects
        ]
        org = next((entry for entry in data["orgs"] if entry["id"] == org_id), None)
        if org is None:
            org = {"id": org_id}
            data["orgs"].append(org)
        org["teams"] = [team.model_dump() for team in rules.teams]
    return AttributionConfig.model_validate(data)


def _own_entry(entry: dict, org_id: str, yaml_entries: dict[str, dict]) -> dict:
    """A tenant-written user or project as the config holds it: bound files only, unless the YAML has it as is."""
    entry = {**entry, "org": org_id}
    yaml_entry = yaml_entries.get(entry["id"])
    same_as_yaml = yaml_entry is not None and {**yaml_entry, "bound_files_only": False} == {
        **entry,
        "bound_files_only": False,
    }
    return yaml_entry if same_as_yaml else {**entry, "bound_files_only": True}


def _stored_documents(settings: Settings, section: str) -> dict[str, Any]:
    """{org: its stored `section`} for orgs whose admins set it (none without an identity store)."""
    if not _has_store(settings):
        return {}
    from sqlalchemy import select

    from aioa.identity.models import TenantSettingsRow
    from aioa.identity.store import session_scope

    with session_scope(settings, write=False) as session:
        rows = session.execute(select(TenantSettingsRow.org_id, TenantSettingsRow.document)).all()
    return {org_id: document[section] for org_id, document in rows if (document or {}).get(section)}


def _yaml_rules(config: AttributionConfig, org_id: str) -> dict:
    org = next((entry for entry in config.orgs if entry.id == org_id), None)
    drop_org = {"org", "bound_files_only"}  # not a tenant's to set: its own entries are bound-only anyway
    return {
        "teams": [team.model_dump(mode="json") for team in org.teams] if org else [],
        "users": [user.model_dump(mode="json", exclude=drop_org) for user in config.users if user.org == org_id],
        "projects": [
            project.model_dump(mode="json", exclude=drop_org) for project in config.projects if project.org == org_id
        ],
    }


def _merge(base: dict, changes: dict) -> dict:
    """`changes` over `base`: mappings merge key by key, anything else replaces; None removes the key."""
    merged = dict(base)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validated(document: dict) -> TenantSettings:
    try:
        return TenantSettings.model_validate(document)
    except ValidationError as error:
        raise InvalidTenantSettings(describe(error)) from None


def describe(error: ValidationError) -> list[str]:
    """One line per problem: the dotted field (list items by index) and what is wrong, without pydantic's URL."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "is not a setting (unknown key)"
        problems.append(f"{where}: {message}")
    return problems


def _restricted(validated: dict, shape: dict) -> dict:
    """The parts of `validated` at the keys `shape` has (recursing into mappings)."""
    return {
        key: _restricted(validated[key], value) if isinstance(value, dict) else validated[key]
        for key, value in shape.items()
        if key in validated
    }


def _flatten(document: dict, prefix: str = "") -> dict:
    """{"branding": {"primary_color": x}} -> {"branding.primary_color": x}; lists stay whole values."""
    flat = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= _flatten(value, name + ".")
        else:
            flat[name] = value
    return flat
