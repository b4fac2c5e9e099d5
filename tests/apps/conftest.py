"""App tests run as the one local operator (AIOA_AUTH=off) unless they test signing in (test_sign_in.py)."""

import pytest

from aioa.identity import accounts
from aioa.settings import Settings

PASSWORD = "correct horse battery"  # the signed-in tests' accounts (test_sign_in.py and the pages' role tests)


@pytest.fixture(autouse=True)
def _local_operator(monkeypatch):
    monkeypatch.setenv("AIOA_AUTH", "off")


@pytest.fixture
def signed_home(built_home, tmp_path, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    monkeypatch.setenv("AIOA_AUTH", "on")
    monkeypatch.setenv("AIOA_DATABASE_URL", f"sqlite:///{tmp_path / 'identity.db'}")
    settings = Settings()
    accounts.create_user(settings, "boss@acme.example", org_id="acme", role="admin", password=PASSWORD)
    accounts.create_user(
        settings,
        "alice@acme.example",
        org_id="acme",
        role="user",
        team_id="acme-platform",
        password=PASSWORD,
        usage_user_ids=("alice",),
    )
    accounts.create_user(
        settings, "amara@acme.example", org_id="acme", role="viewer", team_id="acme-web", password=PASSWORD
    )
    return built_home
