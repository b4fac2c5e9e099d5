"""The attribution YAML: orgs with teams, users and projects, each with the patterns that identify them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamConfig(_Strict):
    id: str
    name: str | None = None


# Readers whose lines can name an org (OTel `organization.id`, the handoff log's `org_id`).
OrgClaimSource = Literal["otel", "handoff_log"]


class OrgConfig(_Strict):
    id: str
    name: str | None = None
    monthly_budget_usd: Decimal | None = None
    teams: list[TeamConfig] = []
    # Sources trusted to name this org inside a log line (e.g. a collector only this org can write to). Default
    # deny: an org named by any other source is ignored (the row goes where users/projects say) and flagged.
    accept_claims_from: list[OrgClaimSource] = []


class UserMatch(_Strict):
    homes: list[str] = []  # cwd prefixes, e.g. /home/alice
    config_dirs: list[str] = []  # Claude config dirs (absolute, or a trailing part of the path)
    hosts: list[str] = []  # machine names
    names: list[str] = []  # ids as logged by OTel or handoff logs (user.id, email)


class UserConfig(_Strict):
    id: str
    org: str
    team: str | None = None
    name: str | None = None
    email: str | None = None
    match: UserMatch = Field(default_factory=UserMatch)


class ProjectMatch(_Strict):
    cwd: list[str] = []  # fnmatch globs on the working directory
    names: list[str] = []  # project ids as logged


class ProjectConfig(_Strict):
    id: str
    org: str
    team: str | None = None
    name: str | None = None
    group: str | None = None
    match: ProjectMatch = Field(default_factory=ProjectMatch)


class AttributionConfig(_Strict):
    default_org: str = "default"
    orgs: list[OrgConfig] = []
    users: list[UserConfig] = []
    projects: list[ProjectConfig] = []


def load_attribution(path: Path | None, default_org: str = "default") -> AttributionConfig:
    """Load and validate the attribution file; with no file everything goes to the default org."""
    if path is None or not path.exists():
        return AttributionConfig(default_org=default_org)
    return AttributionConfig.model_validate(yaml.safe_load(path.read_text()) or {})
