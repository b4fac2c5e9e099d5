"""`aioa users demo` creates two orgs × three roles once and prints sign-ins that work."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from aioa.cli import app
from aioa.identity import accounts
from aioa.identity.demo import DEMO_ACCOUNTS
from aioa.settings import Settings


def test_demo_accounts_sign_in_with_the_printed_passwords(tmp_path, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    first = CliRunner().invoke(app, ["users", "demo"])
    assert first.exit_code == 0, first.output
    printed = dict(re.findall(r"│ (\S+@\S+\.example)\s+│ (\S+)\s+│", first.output))
    assert set(printed) == {account.email for account in DEMO_ACCOUNTS}
    for account in DEMO_ACCOUNTS:
        principal = accounts.sign_in(Settings(), account.email, printed[account.email])
        assert (principal.org_id, principal.role, principal.team_id) == (account.org_id, account.role, account.team_id)
        assert principal.usage_user_ids == account.usage_user_ids
    again = CliRunner().invoke(app, ["users", "demo"])
    assert again.exit_code == 0 and "exist already" in again.output
    assert not any(password in again.output for password in printed.values())
    assert {(account.org_id, account.role) for account in DEMO_ACCOUNTS} == {
        (org, role) for org in ("acme", "globex") for role in ("admin", "user", "viewer")
    }
