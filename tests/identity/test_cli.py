"""`aioa users`, `aioa keys` and `aioa audit` through the real command line (typer's CliRunner)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from aioa.cli import app
from aioa.identity import accounts, api_keys, store
from aioa.identity.errors import InvalidCredentials, SignInFailed
from tests.identity.conftest import PASSWORD

runner = CliRunner()


def _run(*args: str, stdin: str | None = None, code: int = 0):
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, (result.output, result.stderr)
    return result


def test_users_add_list_disable(ids):
    _run("users", "add", "Ann@Acme.test", "--org", "acme", "--role", "admin", "--team", "ops", "--password-stdin",
         stdin=PASSWORD + "\n")  # fmt: skip
    _run("users", "add", "ben@acme.test", "--org", "acme", "--role", "user", "--usage-id", "u-1", "--usage-id", "ben")
    _run("users", "add", "cy@globex.test", "--org", "globex", "--role", "viewer")
    assert accounts.sign_in(ids, "ann@acme.test", PASSWORD).role == "admin"  # the newline was not part of it

    listed = json.loads(_run("users", "list", "--org", "acme", "--json").stdout)
    assert [(user["email"], user["role"], user["team_id"]) for user in listed] == [
        ("ann@acme.test", "admin", "ops"),
        ("ben@acme.test", "user", None),
    ]
    assert listed[1]["usage_user_ids"] == ["u-1", "ben"]
    assert "cy@globex.test" in _run("users", "list").stdout

    _run("users", "add", "dee@acme.test", "--org", "acme", "--role", "owner", code=2)
    _run("users", "add", "ann@acme.test", "--org", "acme", "--role", "user", code=2)

    _run("users", "disable", "ann@acme.test")
    with pytest.raises(SignInFailed):
        accounts.sign_in(ids, "ann@acme.test", PASSWORD)
    assert json.loads(_run("users", "list", "--json").stdout)[0]["disabled"] is True
    _run("users", "disable", "nobody@acme.test", code=2)


def test_keys_create_list_revoke(ids):
    created = json.loads(
        _run(
            "keys",
            "create",
            "--org",
            "acme",
            "--scope",
            "read",
            "--scope",
            "route",
            "--name",
            "ci",
            "--expires",
            "30",
            "--json",
        ).stdout  # fmt: skip
    )
    assert created["key"].startswith("aioa_") and created["scopes"] == ["read", "route"]
    assert created["org_id"] == "acme" and created["name"] == "ci" and created["expires_at"]
    assert api_keys.authenticate_key(ids, created["key"]).subject == created["id"]

    listed = _run("keys", "list", "--json").stdout
    assert created["key"] not in listed
    [row] = json.loads(listed)
    assert (row["id"], row["prefix"]) == (created["id"], created["key"][:12])

    _run("keys", "create", "--org", "acme", "--scope", "everything", "--json", code=2)
    _run("keys", "revoke", created["id"])
    with pytest.raises(InvalidCredentials, match="revoked"):
        api_keys.authenticate_key(ids, created["key"])
    _run("keys", "revoke", "no-such-key", code=2)


def test_audit_verify_and_export(ids):
    _run("users", "add", "ann@acme.test", "--org", "acme", "--role", "admin")
    _run("users", "add", "bo@globex.test", "--org", "globex", "--role", "admin")
    _run("keys", "create", "--org", "acme", "--scope", "ingest", "--json")
    verdict = json.loads(_run("audit", "verify", "--json").stdout)
    assert (verdict["ok"], verdict["entries"], verdict["first_bad_seq"]) == (True, 3, None)

    exported = json.loads(_run("audit", "export", "--org", "acme", "--json").stdout)
    assert [(entry["seq"], entry["action"]) for entry in exported] == [(1, "user.add"), (3, "key.create")]
    lines = _run("audit", "export").stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3]

    with store.session_scope(ids) as session:
        session.execute(text("UPDATE audit_log SET org_id = 'acme' WHERE seq = 2"))
    broken = json.loads(_run("audit", "verify", "--json", code=1).stdout)
    assert (broken["ok"], broken["first_bad_seq"], broken["entries"]) == (False, 2, 1)
    assert "entry 2" in _run("audit", "verify", code=1).stderr
