"""Privacy export and delete in server mode, on the real PostgreSQL server: the pipeline builds the sample into a
throwaway database (the working DuckDB keeps the raw rows and the ingest manifest), the person is
alice@acme.example as in test_privacy.py, with an identity account and a per-user ML table on the server.

One build and one deletion per module; what was on the server before the deletion is read into `before` first, and
every check compares with SQL on the server itself (and on the working warehouse), not with the code under test.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import psycopg2
import pytest
from typer.testing import CliRunner

from aioa.privacy.delete import delete_subject
from aioa.privacy.export import MART_TABLES, export_subject
from aioa.privacy.subjects import email_hash, pseudonym
from aioa.settings import Settings
from tests.conftest import pg_database
from tests.privacy.test_privacy import _mentions as _working_mentions
from tests.privacy.test_privacy import alice_and_bob

pytestmark = pytest.mark.postgres
PREFIX = "srv_"
EMAIL = "alice@acme.example"
USER_ID, ORG = "alice", "acme"
NEEDLES = (USER_ID, EMAIL)
FACTS = ("llm_calls", "tool_calls", "handoffs")
# Calls, tokens and cost per org in the server's raw facts and in the marts people read (the marts' doubles summed
# as exact decimals: a rebuild may add the same rows in another order).
TOTALS = """
select 'raw', org_id, count(*),
       sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens),
       sum(cost_usd)
from srv_raw.llm_calls group by org_id
union all
select 'fct', org_id, count(*),
       sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens + cache_read_tokens),
       sum(cost_usd::numeric(38, 10))
from srv_marts.fct_llm_calls group by org_id
union all
select 'daily', org_id, sum(calls), sum(input_tokens + output_tokens), sum(cost_usd::numeric(38, 10))
from srv_marts.agg_usage_daily group by org_id
union all
select 'handoffs', org_id, count(*), sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)), sum(cost_usd)
from srv_raw.handoffs group by org_id
order by 1, 2
"""
OTHERS = (
    "srv_raw.llm_calls",
    "srv_raw.tool_calls",
    "srv_raw.handoffs",
    "srv_marts.fct_llm_calls",
    "srv_marts.fct_handoffs",
)


def _rows(settings: Settings, sql: str, params=None) -> list[tuple]:
    with psycopg2.connect(settings.postgres_dsn) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _scalar(settings: Settings, sql: str, params=None):
    return _rows(settings, sql, params)[0][0]


def _server_mentions(settings: Settings) -> dict[str, dict[str, int]]:
    """Per needle, the rows of every table and view in the deployment's schemas whose text contains it."""
    hits: dict[str, dict[str, int]] = {needle: {} for needle in NEEDLES}
    relations = _rows(
        settings,
        "select table_schema, table_name from information_schema.tables where table_schema like %s",
        (PREFIX.replace("_", "\\_") + "%",),
    )
    counts = ", ".join("count(*) filter (where strpos(lower(t::text), %s) > 0)" for _ in NEEDLES)
    with psycopg2.connect(settings.postgres_dsn) as connection, connection.cursor() as cursor:
        for schema, table in relations:
            cursor.execute(f'select {counts} from "{schema}"."{table}" as t', NEEDLES)  # names from the catalog
            for needle, count in zip(NEEDLES, cursor.fetchone(), strict=True):
                if count:
                    hits[needle][f"{schema}.{table}"] = count
    return hits


def _files_mentioning(settings: Settings) -> list[str]:
    """Relations (tables, TOAST tables, indexes) of the deployment's schemas whose file on the server's disk has the
    bytes of their user id, dead row versions included (read by the server itself: pg_read_binary_file)."""
    found = []
    with psycopg2.connect(settings.postgres_dsn) as connection, connection.cursor() as cursor:
        cursor.execute("checkpoint")  # the files as the server's buffers have them
        cursor.execute(
            "select c.relname, pg_relation_filepath(c.oid) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname like %s and c.relkind in ('r', 'i', 'm') union all "
            "select c.relname || ' (toast)', pg_relation_filepath(c.reltoastrelid) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname like %s and c.reltoastrelid <> 0",
            (PREFIX + "%", PREFIX + "%"),
        )
        for name, path in cursor.fetchall():
            cursor.execute("select pg_read_binary_file(%s)", (path,))
            if USER_ID.encode() in bytes(cursor.fetchone()[0]).lower():
                found.append(name)
    return sorted(found)


def _statistics_mentioning(settings: Settings) -> list[tuple]:
    return _rows(
        settings,
        "select schemaname, tablename, attname from pg_stats where schemaname like %s"
        " and strpos(lower(concat(most_common_vals::text, histogram_bounds::text)), %s) > 0",
        (PREFIX + "%", USER_ID),
    )


def _others_digest(settings: Settings, alias: str) -> dict[str, str]:
    """A digest of every row of everyone else (not alice, not her pseudonym), per fact table (raw and marts)."""
    return {
        table: hashlib.sha256(
            repr(
                _rows(
                    settings,
                    f"select t::text from {table} as t where org_id <> %s or coalesce(user_id, '') not in (%s, %s)"
                    " order by 1",
                    (ORG, USER_ID, alias),
                )
            ).encode()
        ).hexdigest()
        for table in OTHERS
    }


def _their_counts(settings: Settings, user_id: str) -> dict[str, int]:
    tables = [f"raw.{table}" for table in FACTS] + [f"marts.{mart}" for mart in MART_TABLES] + ["ml.anomalies"]
    return {
        table: _scalar(
            settings, f"select count(*) from {PREFIX}{table} where org_id = %s and user_id = %s", (ORG, user_id)
        )
        for table in tables
    }


@pytest.fixture(scope="module")
def settings(sample_dir: Path, tmp_path_factory):
    """The builder's home (working DuckDB, identity store) on a new database: the sample built without the ML
    assets, plus a per-user ML table on the server, and Alice's and Bob's accounts (a key and a token of hers)."""
    with pg_database("aioa_privacy") as url, pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("privacy-server") / "home"
        home.mkdir()
        shutil.copy(sample_dir / "attribution.yaml", home / "attribution.yaml")
        for name, value in {
            "AIOA_HOME": str(home),
            "AIOA_WAREHOUSE": "postgres",
            "AIOA_POSTGRES_DSN": url,
            "AIOA_POSTGRES_SCHEMA_PREFIX": PREFIX,
        }.items():
            patch.setenv(name, value)
        patch.delenv("AIOA_DATABASE_URL", raising=False)
        patch.delenv("AIOA_ATTRIBUTION_FILE", raising=False)
        settings = Settings(home=home, warehouse="postgres", postgres_dsn=url, postgres_schema_prefix=PREFIX)
        from aioa.pipeline import SourcePaths, run_pipeline
        from aioa.warehouse.ml_tables import write_ml_tables

        assert run_pipeline(settings, SourcePaths.from_sample(sample_dir), include_ml=False).status == "ok"
        anomalies = pd.DataFrame(
            {"org_id": [ORG, ORG, ORG], "user_id": [USER_ID, USER_ID, "bob"], "score": [3.5, 4.0, 2.5]}
        )
        write_ml_tables(settings, {"anomalies": anomalies})
        yield settings


@pytest.fixture(scope="module")
def account(settings: Settings) -> dict:
    return alice_and_bob(settings)


@pytest.fixture(scope="module")
def before(settings: Settings, account: dict) -> dict:
    """The server as it was before the deletion, with column statistics as autovacuum leaves them (ANALYZE)."""
    _rows(settings, "analyze; select 1")
    alias = pseudonym(settings, ORG, EMAIL)
    return {
        "totals": _rows(settings, TOTALS),
        "others": _others_digest(settings, alias),
        "theirs": _their_counts(settings, USER_ID),
        "mentions": _server_mentions(settings),
        "statistics": _statistics_mentioning(settings),
        "working_manifest": _working_manifest(settings),
        "cost": _scalar(
            settings, "select sum(cost_usd) from srv_raw.llm_calls where org_id = %s and user_id = %s", (ORG, USER_ID)
        ),
        "call_keys": {
            row[0]
            for row in _rows(
                settings, "select call_key from srv_raw.llm_calls where org_id = %s and user_id = %s", (ORG, USER_ID)
            )
        },
    }


def _working_manifest(settings: Settings) -> int:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(
            "select count(*) from raw.ingest_manifest where path like '%/claude-code/alice/%'"
        ).fetchone()[0]


@pytest.fixture(scope="module")
def exported(settings: Settings, before: dict) -> dict:
    return export_subject(settings, EMAIL)


@pytest.fixture(scope="module")
def deleted(settings: Settings, exported: dict, before: dict):
    return delete_subject(settings, EMAIL)


def test_export_has_exactly_their_rows_from_the_server(exported: dict, before: dict, settings: Settings) -> None:
    with_users = {
        table
        for (table,) in _rows(
            settings,
            "select table_name from information_schema.columns where table_schema = 'srv_marts'"
            " and column_name in ('org_id', 'user_id') group by table_name having count(*) = 2",
        )
    }
    assert with_users == set(MART_TABLES)
    tables = exported["warehouse"]["tables"]
    assert exported["subject"]["user_ids"] == [{"org_id": ORG, "user_id": USER_ID}]
    for table, count in before["theirs"].items():
        assert len(tables[table]) == count, table
    assert all(before["theirs"][f"raw.{table}"] > 0 for table in FACTS)
    assert before["theirs"]["ml.anomalies"] == 2
    assert {row["call_key"] for row in tables["raw.llm_calls"]} == before["call_keys"]
    assert {(row["org_id"], row["user_id"]) for row in tables["raw.llm_calls"]} == {(ORG, USER_ID)}
    assert {type(row["alternatives"]) for row in tables["raw.handoffs"]} <= {str, type(None)}  # JSON as text, as DuckDB
    assert sum(Decimal(row["cost_usd"]) for row in tables["raw.llm_calls"] if row["cost_usd"]) == before["cost"]
    assert tables["raw.users"] == [
        {"user_id": USER_ID, "org_id": ORG, "team_id": "acme-platform", "name": "Alice", "email": EMAIL}
    ]
    # the manifest is only in the working warehouse: read there
    assert len(tables["raw.ingest_manifest"]) == before["working_manifest"] > 0
    assert exported["account"]["id"] is not None and [key["id"] for key in exported["api_keys"]]


def test_nothing_on_the_server_or_in_the_working_warehouse_mentions_them(
    deleted, settings: Settings, before: dict
) -> None:
    assert {needle: hits != {} for needle, hits in before["mentions"].items()} == {USER_ID: True, EMAIL: True}
    assert before["statistics"]  # ANALYZE kept her id among a column's most common values
    assert _server_mentions(settings) == {USER_ID: {}, EMAIL: {}}
    assert _statistics_mentioning(settings) == []
    assert _files_mentioning(settings) == []  # no dead row version of hers left in a table's or an index's file
    for needle, hits in _working_mentions(settings.warehouse_path).items():
        assert hits == {}, needle
    assert EMAIL.encode() not in settings.warehouse_path.read_bytes()
    assert not list(settings.home.rglob("snapshots/*.duckdb"))  # server mode publishes on the server only


def test_org_totals_are_unchanged(deleted, settings: Settings, before: dict) -> None:
    assert deleted.totals_unchanged and deleted.rebuilt
    assert _rows(settings, TOTALS) == before["totals"]


def test_their_rows_carry_one_pseudonym_and_others_are_untouched(deleted, settings: Settings, before: dict) -> None:
    alias = pseudonym(settings, ORG, EMAIL)
    assert _their_counts(settings, alias) == before["theirs"]
    assert _their_counts(settings, USER_ID) == dict.fromkeys(before["theirs"], 0)
    for table in FACTS:
        assert deleted.rows[f"raw.{table}"] == before["theirs"][f"raw.{table}"]
    assert deleted.rows["ml.anomalies"] == 2
    assert _rows(
        settings, "select org_id, team_id, user_name, email from srv_marts.dim_users where user_id = %s", (alias,)
    ) == [(ORG, "acme-platform", None, None)]
    assert _others_digest(settings, alias) == before["others"]
    assert deleted.snapshot_version == _scalar(settings, "select max(version) from srv_serving.publications")


def test_account_is_anonymised_and_the_audit_log_records_the_deletion(deleted, settings: Settings, account) -> None:
    from aioa.identity import audit
    from aioa.identity.models import User
    from aioa.identity.store import session_scope

    assert deleted.identity == {"accounts_anonymised": 1, "refresh_tokens_deleted": 1, "api_keys_revoked": 1}
    with session_scope(settings, write=False) as session:
        user = session.get(User, account["id"])
        assert user.disabled and user.email == f"{pseudonym(settings, ORG, EMAIL)}@deleted.invalid"
    entries = [entry for entry in audit.export(settings) if entry["action"] == "privacy.delete"]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["org_id"] == ORG and entry["target"] == f"sha256:{email_hash(EMAIL)}"
    assert entry["detail"]["rows"]["raw.llm_calls"] > 0
    assert f"{PREFIX}raw.llm_calls" in entry["detail"]["server"]["vacuumed"]
    assert "alice" not in json.dumps(entry["detail"])
    assert audit.verify(settings).ok


def test_running_delete_again_changes_nothing(deleted, settings: Settings) -> None:
    publications = _rows(settings, "select version from srv_serving.publications order by 1")
    totals = _rows(settings, TOTALS)
    alias = pseudonym(settings, ORG, EMAIL)
    others = _others_digest(settings, alias)
    again = delete_subject(settings, EMAIL)
    assert not again.changed and not again.rebuilt and again.server == {}
    assert _rows(settings, "select version from srv_serving.publications order by 1") == publications
    assert _rows(settings, TOTALS) == totals
    assert _others_digest(settings, alias) == others


def test_cli_export_reads_the_server(deleted, settings: Settings, tmp_path: Path) -> None:
    from aioa.cli import app

    out = tmp_path / "export.json"
    result = CliRunner().invoke(app, ["privacy", "export", "--user", EMAIL, "--out", str(out)])
    assert result.exit_code == 0, result.output
    counts = json.loads(out.read_text())["warehouse"]["row_counts"]
    assert counts["raw.llm_calls"] == 0 and counts["marts.fct_llm_calls"] == 0  # nothing of hers is left
