"""Privacy export and delete on the small generated warehouse built by the pipeline (`built_home`, copied).

The person is alice@acme.example: attribution user `alice` of org acme (hundreds of calls in the seed-7 sample), with an
identity account, a refresh token and an API key she created. One deletion runs per module (it rebuilds the marts
through the pipeline job); the tests check its outcome against SQL on the copy taken before.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aioa.privacy.delete import delete_subject
from aioa.privacy.export import MART_TABLES, export_subject
from aioa.privacy.subjects import email_hash, pseudonym
from aioa.settings import Settings
from aioa.warehouse.encryption import open_database
from aioa.warehouse.snapshots import current_snapshot, snapshot_dir

EMAIL = "alice@acme.example"
USER_ID, ORG = "alice", "acme"
NEEDLES = (USER_ID, EMAIL)
FACTS = ("llm_calls", "tool_calls", "handoffs")
TOOL_ERROR = "EACCES: permission denied, open '/home/alice/src/shop/.env'"


def _open(path: Path):
    """A warehouse file or snapshot as the readers open it (a snapshot under the catalog name its views use)."""
    return open_database(path, Settings(home=path.parent), read_only=True)


def _scalar(path: Path, sql: str, params=None):
    with _open(path) as connection:
        return connection.execute(sql, params).fetchone()[0]


def _rows(path: Path, sql: str, params=None) -> list[tuple]:
    with _open(path) as connection:
        return connection.execute(sql, params).fetchall()


def _tables(path: Path) -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in _rows(
            path,
            "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
            " order by all",
        )
    ]


def _mentions(path: Path, needles: tuple[str, ...] = NEEDLES) -> dict[str, dict[str, int]]:
    """Per needle, the rows of every table and view of a DuckDB file whose any column (as text) contains it (one
    scan of each table counts every needle)."""
    hits: dict[str, dict[str, int]] = {needle: {} for needle in needles}
    with _open(path) as connection:
        for schema, table in _tables(path):
            columns = [
                name
                for (name,) in connection.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                    [schema, table],
                ).fetchall()
            ]
            text = " || ' ' || ".join(f"coalesce(cast(\"{column}\" as varchar), '')" for column in columns)
            counts = ", ".join("count_if(contains(row_text, ?))" for _ in needles)
            row = connection.execute(
                f'select {counts} from (select lower({text}) as row_text from "{schema}"."{table}")', list(needles)
            ).fetchone()
            for needle, count in zip(needles, row, strict=True):
                if count:
                    hits[needle][f"{schema}.{table}"] = count
    return hits


def _org_totals(path: Path) -> list[tuple]:
    """Calls, tokens and cost per org in raw and in the marts people read."""
    tokens = "input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens"
    return _rows(
        path,
        f"""
        select 'raw', org_id, count(*), sum({tokens}), sum(cost_usd) from raw.llm_calls group by org_id
        union all
        select 'fct', org_id, count(*), sum({tokens}), sum(cost_usd) from marts.fct_llm_calls group by org_id
        union all
        -- the daily mart's cost is a double: sum it exactly (a rebuild may add its rows in another order)
        select 'daily', org_id, sum(calls), sum(input_tokens + output_tokens), sum(round(cost_usd, 10)::decimal(38, 10))
        from marts.agg_usage_daily group by org_id
        union all
        select 'handoffs', org_id, count(*), sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)),
               sum(cost_usd)
        from raw.handoffs group by org_id
        order by all
        """,
    )


def _others_digest(path: Path, alias: str) -> dict[str, str]:
    """A digest of every row of everyone else (not alice, not her pseudonym), per fact table (raw and marts)."""
    digests = {}
    tables = [
        ("raw", "llm_calls"),
        ("raw", "tool_calls"),
        ("raw", "handoffs"),
        ("marts", "fct_llm_calls"),
        ("marts", "fct_handoffs"),
    ]
    for schema, table in tables:
        rows = _rows(
            path,
            f"select * from {schema}.{table} where org_id <> ? or coalesce(user_id, '') not in (?, ?) order by all",
            [ORG, USER_ID, alias],
        )
        digests[f"{schema}.{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


@pytest.fixture(scope="module")
def home(built_home: Path, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("privacy") / "home"
    shutil.copytree(built_home, target)
    with open_database(target / "warehouse.duckdb", Settings(home=target)) as connection:  # an error naming her home
        connection.execute(
            "insert into raw.tool_results values ('tool-error-1', '2026-11-20 10:00:00', false, ?, ?)",
            [TOOL_ERROR, ORG],
        )
    return target


@pytest.fixture(scope="module")
def settings(home: Path):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIOA_HOME", str(home))
        patch.delenv("AIOA_DATABASE_URL", raising=False)
        patch.delenv("AIOA_ATTRIBUTION_FILE", raising=False)
        yield Settings(home=home)


@pytest.fixture(scope="module")
def account(settings: Settings) -> dict:
    return alice_and_bob(settings)


def alice_and_bob(settings: Settings) -> dict:
    """Alice's identity account, a refresh token of hers and an API key she created; Bob's key stays."""
    from aioa.identity import accounts, api_keys, tokens
    from aioa.identity.store import dispose_all

    dispose_all()
    accounts.create_user(
        settings, EMAIL, org_id=ORG, role="admin", password="correct horse 1", usage_user_ids=[USER_ID]
    )
    accounts.create_user(settings, "bob@acme.example", org_id=ORG, role="admin", password="correct horse 2")
    alice = accounts.sign_in(settings, EMAIL, "correct horse 1")
    bob = accounts.sign_in(settings, "bob@acme.example", "correct horse 2")
    tokens.issue_tokens(settings, alice)
    alice_key, _ = api_keys.create_key(settings, org_id=ORG, scopes=["ingest"], name="alice laptop", created_by=alice)
    bob_key, _ = api_keys.create_key(settings, org_id=ORG, scopes=["read"], created_by=bob)
    return {"id": alice.subject, "key": alice_key.id, "bob_key": bob_key.id}


@pytest.fixture(scope="module")
def before(settings: Settings, account: dict, tmp_path_factory) -> Path:
    """A copy of the warehouse as it was before the deletion."""
    copy = tmp_path_factory.mktemp("before") / "warehouse.duckdb"
    shutil.copyfile(settings.warehouse_path, copy)
    return copy


@pytest.fixture(scope="module")
def exported(settings: Settings, before: Path) -> dict:
    return export_subject(settings, EMAIL)


@pytest.fixture(scope="module")
def deleted(settings: Settings, exported: dict, before: Path):
    return delete_subject(settings, EMAIL)


def test_mart_list_covers_every_mart_with_user_rows(before: Path) -> None:
    with_users = {
        table
        for (table,) in _rows(
            before,
            "select table_name from information_schema.columns where table_schema = 'marts'"
            " and column_name in ('org_id', 'user_id') group by table_name having count(*) = 2",
        )
    }
    assert with_users == set(MART_TABLES)


def test_export_has_exactly_their_rows(exported: dict, before: Path, account: dict) -> None:
    tables = exported["warehouse"]["tables"]
    assert exported["subject"]["user_ids"] == [{"org_id": ORG, "user_id": USER_ID}]
    for table in FACTS:
        expected = _scalar(before, f"select count(*) from raw.{table} where org_id = ? and user_id = ?", [ORG, USER_ID])
        assert expected > 0
        assert len(tables[f"raw.{table}"]) == expected
        assert {(row["org_id"], row["user_id"]) for row in tables[f"raw.{table}"]} == {(ORG, USER_ID)}
    cost = _scalar(before, "select sum(cost_usd) from raw.llm_calls where user_id = ? and org_id = ?", [USER_ID, ORG])
    from decimal import Decimal

    assert sum(Decimal(row["cost_usd"]) for row in tables["raw.llm_calls"] if row["cost_usd"]) == cost
    for mart in MART_TABLES:
        expected = _scalar(
            before, f"select count(*) from marts.{mart} where org_id = ? and user_id = ?", [ORG, USER_ID]
        )
        assert len(tables[f"marts.{mart}"]) == expected
    assert tables["raw.users"] == [
        {"user_id": USER_ID, "org_id": ORG, "team_id": "acme-platform", "name": "Alice", "email": EMAIL}
    ]
    assert [row["error"] for row in tables["raw.tool_results"]] == [TOOL_ERROR]
    manifest = _scalar(before, "select count(*) from raw.ingest_manifest where path like '%/claude-code/alice/%'")
    assert len(tables["raw.ingest_manifest"]) == manifest > 0
    # identity: the account without its password hash, her key without its hash, the audit entries about her
    assert exported["account"]["id"] == account["id"] and exported["account"]["email"] == EMAIL
    text = json.dumps(exported, default=str)
    assert "argon2" not in text and "key_hash" not in text and "password_hash" not in text
    assert [key["id"] for key in exported["api_keys"]] == [account["key"]]
    actions = {entry["action"] for entry in exported["audit_entries"]}
    assert {"user.add", "signin.ok", "key.create"} <= actions
    assert all("bob@" not in entry["actor"] for entry in exported["audit_entries"])


def test_no_row_or_snapshot_mentions_them_after_delete(deleted, settings: Settings, before: Path) -> None:
    assert {needle: hits != {} for needle, hits in _mentions(before).items()} == {USER_ID: True, EMAIL: True}
    snapshots = sorted(snapshot_dir(settings).glob("*.duckdb"))
    assert len(snapshots) == 1  # every older snapshot is gone
    assert snapshots[0] == current_snapshot(settings)[1]
    for path in [settings.warehouse_path, *snapshots]:
        for needle, hits in _mentions(path).items():
            assert hits == {}, (path.name, needle)
        # not even in freed blocks of the files: the warehouse was rewritten before its last publish
        assert EMAIL.encode() not in path.read_bytes()


def test_org_totals_are_unchanged(deleted, settings: Settings, before: Path) -> None:
    assert deleted.totals_unchanged
    _, snapshot = current_snapshot(settings)
    assert _org_totals(snapshot) == _org_totals(before)
    assert _org_totals(settings.warehouse_path) == _org_totals(before)


def test_their_rows_carry_one_pseudonym(deleted, settings: Settings, before: Path) -> None:
    alias = pseudonym(settings, ORG, EMAIL)
    assert alias.startswith("deleted-") and len(alias) == len("deleted-") + 16
    for table in FACTS:
        expected = _scalar(before, f"select count(*) from raw.{table} where org_id = ? and user_id = ?", [ORG, USER_ID])
        assert deleted.rows[f"raw.{table}"] == expected
        assert (
            _scalar(settings.warehouse_path, f"select count(*) from raw.{table} where user_id = ?", [alias]) == expected
        )
    _, snapshot = current_snapshot(settings)
    assert _rows(
        snapshot, "select org_id, team_id, user_name, email from marts.dim_users where user_id = ?", [alias]
    ) == [(ORG, "acme-platform", None, None)]


def test_other_users_rows_are_untouched(deleted, settings: Settings, before: Path) -> None:
    alias = pseudonym(settings, ORG, EMAIL)
    assert _others_digest(settings.warehouse_path, alias) == _others_digest(before, alias)


def test_account_is_disabled_and_anonymised(deleted, settings: Settings, account: dict) -> None:
    from sqlalchemy import select

    from aioa.identity.models import ApiKey, RefreshToken, User
    from aioa.identity.store import session_scope

    assert deleted.identity == {"accounts_anonymised": 1, "refresh_tokens_deleted": 1, "api_keys_revoked": 1}
    with session_scope(settings, write=False) as session:
        user = session.get(User, account["id"])
        assert user.disabled and user.password_hash is None
        assert user.email == f"{pseudonym(settings, ORG, EMAIL)}@deleted.invalid"
        assert session.scalars(select(RefreshToken).where(RefreshToken.user_id == account["id"])).all() == []
        assert session.get(ApiKey, account["key"]).revoked_at is not None
        assert "alice" not in (session.get(ApiKey, account["key"]).created_by or "")
        assert session.get(ApiKey, account["bob_key"]).revoked_at is None


def test_the_audit_log_records_the_deletion(deleted, settings: Settings, before: Path) -> None:
    from aioa.identity import audit

    entries = [entry for entry in audit.export(settings) if entry["action"] == "privacy.delete"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["org_id"] == ORG and entry["target"] == f"sha256:{email_hash(EMAIL)}"
    calls = _scalar(before, "select count(*) from raw.llm_calls where org_id = ? and user_id = ?", [ORG, USER_ID])
    assert entry["detail"]["rows"]["raw.llm_calls"] == calls > 0
    assert "alice" not in json.dumps(entry["detail"])
    assert audit.verify(settings).ok


def test_operator_is_told_what_lies_outside_the_warehouse(deleted, settings: Settings) -> None:
    assert deleted.attribution_users == [USER_ID]  # the attribution file still names her: the next ingest would too
    assert "attribution.yaml" in deleted.files_mentioning
    assert any("/claude-code/alice/" in path for path in deleted.source_files)


def test_running_delete_again_changes_nothing(deleted, settings: Settings) -> None:
    version, _ = current_snapshot(settings)
    digest = hashlib.sha256(repr(_org_totals(settings.warehouse_path)).encode()).hexdigest()
    alias = pseudonym(settings, ORG, EMAIL)
    others = _others_digest(settings.warehouse_path, alias)
    again = delete_subject(settings, EMAIL)
    assert not any(again.rows.values()) and not again.rebuilt and again.snapshots_removed == []
    assert not any(again.identity.values())
    assert not again.changed
    assert current_snapshot(settings)[0] == version
    assert hashlib.sha256(repr(_org_totals(settings.warehouse_path)).encode()).hexdigest() == digest
    assert _others_digest(settings.warehouse_path, alias) == others


def test_cli_delete_needs_yes_and_export_writes_a_file(settings: Settings, deleted, tmp_path: Path) -> None:
    from aioa.cli import app

    refused = CliRunner().invoke(app, ["privacy", "delete", "--user", EMAIL])
    assert refused.exit_code == 2
    out = tmp_path / "export.json"
    result = CliRunner().invoke(app, ["privacy", "export", "--user", EMAIL, "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["warehouse"]["row_counts"]["raw.llm_calls"] == 0  # after the deletion: nothing of hers is left
    assert out.stat().st_mode & 0o077 == 0
