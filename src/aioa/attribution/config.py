"""The attribution YAML: orgs with teams, users and projects, each with the patterns that identify them."""

from __future__ import annotations

import fnmatch
import os
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamConfig(_Strict):
    id: str
    name: str | None = None


# Readers whose lines can name an org (OTel `organization.id`, the handoff log's `org_id`).
OrgClaimSource = Literal["otel", "handoff_log"]


# Readers whose files can be bound to an org by where they lie.
BindableSource = Literal["claude_code", "otel", "handoff_log"]
_GLOB_CHARS = frozenset("*?[")


class SourceBinding(_Strict):
    """Ingest locations that belong to one org: every row read from a file under them is that org's.

    A path is absolute (`~` allowed): a folder or file without wildcards means itself and everything under it;
    with wildcards it is a glob on the file's absolute path, where `*` also matches `/` (e.g. `*/acme-otel/*`).
    """

    system: BindableSource
    paths: list[str] = Field(min_length=1)

    @field_validator("paths")
    @classmethod
    def _absolute(cls, paths: list[str]) -> list[str]:
        normalized = []
        for path in paths:
            path = os.path.expanduser(path.strip())
            if not (path.startswith("/") or path.startswith("*")):
                raise ValueError(f"source path {path!r} must be absolute (or a glob starting with `*`)")
            if path.startswith("/"):
                # files are read by their real path: resolve symlinks in the part of the path that exists
                path = os.path.realpath(path)
            normalized.append(path.rstrip("/") or "/")
        return normalized


def is_glob(path: str) -> bool:
    return bool(_GLOB_CHARS & set(path))


class OrgConfig(_Strict):
    id: str
    name: str | None = None
    monthly_budget_usd: Decimal | None = None
    teams: list[TeamConfig] = []
    # Sources trusted to name this org inside a log line (e.g. a collector only this org can write to). Default
    # deny: an org named by any other source is ignored (the row goes where users/projects say) and flagged.
    accept_claims_from: list[OrgClaimSource] = []
    # Ingest locations bound to this org (tamper-proof attribution): rows of files under them are this org's
    # whatever user, project or org their lines name; a name of another org is not used and the line is flagged.
    sources: list[SourceBinding] = []


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
    # Match only rows of files bound to `org` (orgs[].sources, the API inbox): how an org's own rules (tenant
    # settings) apply, so they can never claim another org's rows.
    bound_files_only: bool = False


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
    bound_files_only: bool = False  # as UserConfig.bound_files_only


class AttributionConfig(_Strict):
    default_org: str = "default"
    orgs: list[OrgConfig] = []
    users: list[UserConfig] = []
    projects: list[ProjectConfig] = []

    @model_validator(mode="after")
    def _one_org_per_location(self) -> AttributionConfig:
        owners: dict[tuple[str, str], str] = {}
        for system, path, org in self.source_bindings():
            owner = owners.setdefault((system, path), org)
            if owner != org:
                raise ValueError(f"{system} path {path!r} is bound to both {owner!r} and {org!r}")
        return self

    def source_bindings(self) -> list[tuple[str, str, str]]:
        """(system, path, org) of every bound ingest location, in config order."""
        return [
            (binding.system, path, org.id) for org in self.orgs for binding in org.sources for path in binding.paths
        ]

    def bound_org(self, system: str, path: str | Path) -> str | None:
        """The org a file (absolute real path) is bound to, as the ingest resolves it: the most specific (longest)
        matching path wins, then config order."""
        path = str(path)
        matches = [
            (-len(pattern), index, org)
            for index, (bound_system, pattern, org) in enumerate(self.source_bindings())
            if bound_system == system and path_matches(path, pattern)
        ]
        return min(matches)[2] if matches else None


def path_matches(path: str, pattern: str) -> bool:
    """Whether a file (absolute real path) lies under a bound location (`*` also matches `/`)."""
    if is_glob(pattern):
        return fnmatch.fnmatchcase(path, pattern)
    return path == pattern or path.startswith(pattern.rstrip("/") + "/")


INBOX_SYSTEMS = ("handoff_log", "otel")  # readers of the API's inbox (`<home>/inbox/<org_id>/<source>/`)


def with_inbox_bindings(config: AttributionConfig, inbox: Path) -> AttributionConfig:
    """`config` with each `<inbox>/<org_id>/` folder bound to its org: the API writes there only what that org's
    credentials posted, so a row's org is the folder's, whatever its lines name."""
    folders = sorted(path for path in inbox.iterdir() if path.is_dir()) if inbox.is_dir() else []
    if not folders:
        return config
    data = config.model_dump()
    orgs = {org["id"]: org for org in data["orgs"]}
    for folder in folders:
        org = orgs.get(folder.name)
        if org is None:
            org = orgs[folder.name] = {"id": folder.name, "sources": []}
            data["orgs"].append(org)
        org["sources"] += [{"system": system, "paths": [str(folder)]} for system in INBOX_SYSTEMS]
    return AttributionConfig.model_validate(data)


def load_attribution(path: Path | None, default_org: str = "default") -> AttributionConfig:
    """Load and validate the attribution file; with no file everything goes to the default org."""
    if path is None or not path.exists():
        return AttributionConfig(default_org=default_org)
    return AttributionConfig.model_validate(yaml.safe_load(path.read_text()) or {})
