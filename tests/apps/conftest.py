"""App tests run as the one local operator (AIOA_AUTH=off) unless they test signing in (test_sign_in.py)."""

import pytest
from streamlit.testing.v1 import AppTest

from aioa.identity import accounts
from aioa.settings import Settings

PASSWORD = "correct horse battery"  # the signed-in tests' accounts (test_sign_in.py and the pages' role tests)
PRINCIPAL_KEY = "aioa_principal"  # signin.PRINCIPAL_KEY: the principal a Streamlit session keeps (single sign-on)


def signed_in(app: AppTest, email: str, password: str = PASSWORD) -> AppTest:
    """`app` run once signed in as `email`, its password checked by `accounts.sign_in` (as the sign-in route does).
    AppTest has no browser and so no session cookie: the principal rides in the Streamlit session the way a single
    sign-on principal does, and the app still reads the account again on every run. The form, its route and the
    cookie are tested in a real browser (test_auth_routes.py)."""
    app.session_state[PRINCIPAL_KEY] = accounts.sign_in(Settings(), email, password, client="app-test")
    return app.run()


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
