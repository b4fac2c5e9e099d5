"""The API over a real snapshot: a copy of the built sample home (orgs acme, globex, initech), real accounts and API
keys in its identity store, and access tokens from the API's own password sign-in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from aioa.settings import Settings

ORG, OTHER = "acme", "globex"
PASSWORD = "correct horse battery staple"

# name -> (org, role, team, usage user ids); people sign in with the password flow
PEOPLE = {
    "admin": (ORG, "admin", None, ()),
    "user": (ORG, "user", "acme-platform", ("alice",)),
    "viewer": (ORG, "viewer", "acme-web", ()),
    "other_admin": (OTHER, "admin", None, ()),
}
KEYS = {"key_read": "read", "key_ingest": "ingest", "key_route": "route", "key_admin": "admin"}


@dataclass
class Api:
    home: Path
    settings: Settings
    client: TestClient
    headers: dict[str, dict[str, str]]  # principal name -> Authorization header


def names_by_org(home: Path) -> dict[str, set[str]]:
    """Each org's own names (org, team, user and project ids) from the home's attribution file."""
    config = yaml.safe_load((home / "attribution.yaml").read_text())
    names = {org["id"]: {org["id"], *(team["id"] for team in org.get("teams", []))} for org in config["orgs"]}
    for entry in config["users"] + config["projects"]:
        names[entry["org"]].add(entry["id"])
    return names


def foreign_names(home: Path, own: str) -> set[str]:
    """Names only other orgs have: their org, team and user ids, and their project ids that `own` does not also
    use (a project id is a name within an org: globex's otto works on a `core-ledger` too)."""
    from aioa.warehouse.snapshots import open_snapshot

    names = names_by_org(home)
    connection, _ = open_snapshot(Settings(home=home))
    with connection:
        own_projects = {
            row[0]
            for row in connection.execute(
                "select project_id from marts.dim_projects where org_id = ?", [own]
            ).fetchall()
        }
    return set().union(*(values for org, values in names.items() if org != own)) - own_projects - names[own]


def strings_in(value) -> set[str]:
    """Every string value (and key) of a JSON document."""
    if isinstance(value, dict):
        return set(value) | set().union(*(strings_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(strings_in(item) for item in value))
    return {value} if isinstance(value, str) else set()


def copy_home(built_home: Path, target: Path) -> Path:
    shutil.copytree(built_home, target, ignore=shutil.ignore_patterns("identity.db*", "inbox"))
    return target


@pytest.fixture
def operator_settings(built_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A test's own copy of the built home, read as the operator (AIOA_AUTH=off: every org, no sign-in)."""
    home = copy_home(built_home, tmp_path / "home")
    monkeypatch.setenv("AIOA_HOME", str(home))
    monkeypatch.setenv("AIOA_AUTH", "off")
    return Settings(home=home)


def publish_without_a_day(settings: Settings, org: str, day: str) -> None:
    """Delete `org`'s calls of `day` from the warehouse and publish a new snapshot (checked to be a new version)."""
    from aioa.warehouse.connection import connect
    from aioa.warehouse.snapshots import current_snapshot, publish_snapshot

    writer = connect(settings)
    writer.execute("delete from raw.llm_calls where org_id = ? and ts_utc::date = ?", [org, day])
    writer.execute("checkpoint")
    writer.close()
    old_version = current_snapshot(settings)[0]
    assert publish_snapshot(settings) != old_version


@contextmanager
def serving(home: Path, environment: dict[str, str] | None = None) -> Iterator[Api]:
    """The API on `home`, authentication on, every principal of PEOPLE and KEYS signed in (`environment`: more
    settings, e.g. AIOA_ROUTING_EXPLORATION_RATE)."""
    from apps.api.main import create_app

    from aioa.identity import accounts, api_keys

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIOA_HOME", str(home))
        patch.setenv("AIOA_AUTH", "on")
        patch.delenv("AIOA_DATABASE_URL", raising=False)
        patch.delenv("AIOA_REDIS_URL", raising=False)
        for name, value in (environment or {}).items():
            patch.setenv(name, value)
        settings = Settings(home=home)
        for name, (org, role, team, usage_ids) in PEOPLE.items():
            accounts.create_user(
                settings,
                f"{name}@{org}.test",
                org_id=org,
                role=role,
                team_id=team,
                password=PASSWORD,
                usage_user_ids=usage_ids,
            )
        with TestClient(create_app(settings)) as client:
            headers = {}
            for name, (org, *_rest) in PEOPLE.items():
                headers[name] = sign_in(client, f"{name}@{org}.test")
            for name, scope in KEYS.items():
                _info, plaintext = api_keys.create_key(settings, org_id=ORG, scopes=[scope], name=name)
                headers[name] = {"Authorization": f"Bearer {plaintext}"}
            yield Api(home, settings, client, headers)


def sign_in(client: TestClient, email: str) -> dict[str, str]:
    """The Authorization header of an access token from the password flow."""
    answer = client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def api(built_home: Path, tmp_path_factory) -> Iterator[Api]:
    """One home per test module, authentication on, every principal of PEOPLE and KEYS signed in."""
    with serving(copy_home(built_home, tmp_path_factory.mktemp("api") / "home")) as served:
        yield served
