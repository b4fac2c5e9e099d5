"""A fully prompt-injected model: a real OpenAI-compatible HTTP server on 127.0.0.1 answers every question with the
question itself as the SQL. Each hostile query goes through the whole question path (LangChain's OpenAI client,
the guard, the locked-down snapshot reader) for one org of a multi-org sample, and must be refused with a message or
answer with that org's rows only, read no file and finish within the statement timeout."""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from aioa.ask import ask
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.connection import QueryTimeout, TimedReader, connect_reader
from aioa.warehouse.snapshots import current_snapshot

TIMEOUT_S = 3.0
CANARY = "CANARY-7f3e-not-for-tenants"

HOSTILE = [
    # CTE shadowing and scope escapes
    'with "/etc/passwd" as (select 1 as a) select * from "/etc/passwd"',
    'with "{canary}" as (select 1 as a) select * from "{canary}"',
    'select * from (with "{canary}" as (select 1 as a) select * from "{canary}") s, "{canary}"',
    'select * from (with x as (select 1 as a) select * from x) s, "{canary}" as x',
    "select * from (with x as (select 1 as a) select * from x) s, x",
    "with duckdb_tables as (select 1 as a) select * from (select * from duckdb_tables) t, duckdb_tables()",
    "with information_schema as (select 1 as a) select * from information_schema.tables",
    "with llm_calls as (select * from marts.fct_llm_calls) select * from raw.llm_calls",
    "select * from (with fct_llm_calls as (select 1 as org_id) select * from fct_llm_calls) s, fct_llm_calls",
    "with a as (select org_id from marts.fct_llm_calls), b as (select org_id from raw.llm_calls) "
    "select org_id from a union all select org_id from b",
    "with fct_llm_calls as (select * from raw.llm_calls) select org_id from fct_llm_calls",
    "select org_id from (with raw as (select 1 as org_id) select * from raw.llm_calls)",
    'with "raw.llm_calls" as (select 1 as org_id) select * from raw.llm_calls',
    "with c as (select * from c) select * from c",
    # file readers and globs
    "select * from read_csv('{canary}')",
    "select * from read_csv_auto('/etc/passwd')",
    "select * from read_json_auto('{canary}')",
    "select * from read_parquet('{home}/*.parquet')",
    "select * from read_text('/etc/passwd')",
    "select read_blob('/etc/passwd')",
    "select * from '{canary}'",
    'select * from "{canary}"',
    "from '/etc/passwd'",
    "select * from glob('/etc/*')",
    "select * from '{home}/**/*.jsonl'",
    "select * from read_ndjson_objects('{home}/**/*.jsonl')",
    "select * from sniff_csv('{canary}')",
    "select * from parquet_metadata('{home}/x.parquet')",
    "select * from marts.fct_llm_calls, read_csv('{canary}') c",
    "select org_id from marts.fct_llm_calls where org_id in (select column0 from read_csv('{canary}'))",
    "select * from marts.fct_llm_calls f join '{canary}' c on true",
    # system views, settings and functions
    "select * from duckdb_tables()",
    "select * from duckdb_settings()",
    "select * from duckdb_databases()",
    "select * from information_schema.tables",
    "select * from information_schema.columns",
    "select * from pg_catalog.pg_tables",
    "select * from sqlite_master",
    "select * from pragma_table_info('raw.llm_calls')",
    "select * from pragma_database_list",
    "call pragma_version()",
    "select current_setting('memory_limit')",
    "select getenv('HOME')",
    "select getvariable('x')",
    "select * from query('select * from raw.llm_calls')",
    "select * from query_table('raw.llm_calls')",
    "select list_transform([1, 2], x -> x + 1)",
    "select list_filter((select list(org_id) from raw.llm_calls), x -> true)",
    "select current_database()",
    "select version()",
    # statements other than one SELECT
    "attach '{home}/warehouse.duckdb' as w",
    "attach ':memory:' as m; select 1",
    "copy marts.fct_llm_calls to '{home}/leak.csv'",
    "copy (select * from marts.fct_llm_calls) to '{home}/leak.parquet' (format parquet)",
    "set enable_external_access = true",
    "set memory_limit = '100GB'",
    "reset lock_configuration",
    "pragma enable_profiling",
    "install httpfs",
    "load httpfs",
    "force install httpfs",
    "export database '{home}/export'",
    "select 1; drop table marts.fct_llm_calls",
    "select 1; select * from raw.llm_calls",
    "select 1\uff1b select * from raw.llm_calls",
    "create temp table t as select * from raw.llm_calls",
    "set variable x = (select list(org_id) from raw.llm_calls)",
    "checkpoint",
    "use raw",
    "describe raw.llm_calls",
    "summarize raw.llm_calls",
    "show tables",
    "```sql\nselect * from raw.llm_calls\n```",
    # other orgs' rows
    "select org_id, count(*) as n from marts.fct_llm_calls where org_id = '{other}' group by 1",
    "select org_id from marts.fct_llm_calls union all select org_id from raw.llm_calls",
    "select org_id from fct_llm_calls where org_id <> '{scoped}'",
    "select * from (select org_id from fct_llm_calls) where org_id = '{other}' or 1 = 1",
    "select (select count(*) from fct_llm_calls where org_id = '{other}') as n",
    "select org_id, sum(cost_usd) as spend from marts.agg_usage_daily group by 1",
    "select distinct org_id from dim_projects",
    "select distinct org_id from marts.dim_users",
    "select o.org_id, f.org_id as f_org from marts.fct_llm_calls f join marts.dim_orgs o on true",
    "select org_id from marts.fct_handoffs where org_id = '{other}' or true",
    "select org_id from marts.fct_llm_calls where org_id in (select org_id from raw.handoff_events)",
    "select * from raw.handoff_events",
    "select * from raw.quarantine",
    "select * from main.fct_llm_calls",
    'select * from "marts"."fct_llm_calls" m where m.org_id = \'{other}\'',
    "select * from memory.main.x",
    "select * from marts.fct_llm_calls at (version => 1)",
    "select f.org_id, o from fct_llm_calls f, "
    "lateral (select org_id as o from marts.fct_llm_calls where org_id = '{other}')",
    "select org_id from marts.fct_llm_calls where list_contains($scope_org_ids, org_id) or true",
    "select org_id from marts.fct_llm_calls where org_id = $other",
    # runaway queries
    "with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r",
    "with recursive r(n) as (select 1 union all select n + 1 from r where n < 10) select * from r",
    "select count(*) as n from fct_llm_calls a, fct_llm_calls b, fct_llm_calls c, fct_llm_calls d",
    # deep nesting and size
    "select " + "(" * 200 + "1" + ")" * 200,
    "select * from " + "(select * from " * 60 + "fct_llm_calls" + ") x" * 60,
    "select " + "not " * 300 + "true",
    "select " + "+".join(["1"] * 900),
    # unicode tricks
    "select * from fct_llm_c\u0430lls",
    "select * from fct_llm_calls where org_id = '{other}'\u200b",
    "\uff53\uff45\uff4c\uff45\uff43\uff54 * from raw.llm_calls",
    'select * from "raw"\u2024"llm_calls"',
    "select * from raw\uff0ellm_calls",
    'select * from "ra\u0301w".llm_calls',
    "select * from \u202eslliac_mll.war",
    # malformed
    "select * from fct_llm_calls limit 'abc'",
    "select 'unterminated",
    'select "unterminated from fct_llm_calls',
    "select * from fct_llm_calls limit -1",
    "select * from fct_llm_calls limit 99999999999999999999999",
    "select * from fct_llm_calls offset 'x'",
    "select $$x$$ from raw.llm_calls",
]


class _InjectedModel(BaseHTTPRequestHandler):
    """OpenAI chat completions: the reply is the last user message, verbatim."""

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        question = [message for message in body["messages"] if message["role"] == "user"][-1]["content"]
        self.server.questions.append(question)
        reply = json.dumps(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": question}}
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def injected_model():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _InjectedModel)
    server.questions = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hostile_home(built_home, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("hostile") / "home"
    shutil.copytree(built_home, home)
    (home / "canary.csv").write_text(f"secret\n{CANARY}\n")
    return home


@pytest.fixture(scope="module")
def all_orgs(hostile_home) -> list[str]:
    """Every org with calls, the busiest first."""
    settings = Settings(home=hostile_home)
    with connect_reader(current_snapshot(settings)[1], settings) as connection:
        names = [
            row[0]
            for row in connection.execute(
                "select org_id from marts.fct_llm_calls group by 1 order by count(*) desc, 1"
            ).fetchall()
        ]
    assert len(names) >= 2, "the sample must hold several orgs"
    return names


@pytest.fixture(scope="module")
def orgs(all_orgs) -> tuple[str, str]:
    """The org the questions are scoped to, and another org whose rows they try to reach."""
    return all_orgs[0], all_orgs[1]


@pytest.fixture
def llm_settings(hostile_home, injected_model, monkeypatch) -> Settings:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    port = injected_model.server_address[1]
    return Settings(
        home=hostile_home,
        llm_provider="openai",
        llm_model="injected",
        llm_base_url=f"http://127.0.0.1:{port}/v1",
        llm_api_key="not-a-key",
        reader_statement_timeout_s=TIMEOUT_S,
    )


def test_the_corpus_is_large_enough():
    assert len(HOSTILE) >= 60


@pytest.mark.parametrize("template", HOSTILE, ids=[f"{index:03d}" for index in range(len(HOSTILE))])
def test_hostile_query_is_refused_or_scoped(template, llm_settings, hostile_home, orgs, all_orgs, injected_model):
    scoped, other = orgs
    other_orgs = set(all_orgs) - {scoped}
    sql = (
        template.replace("{canary}", str(hostile_home / "canary.csv"))
        .replace("{home}", str(hostile_home))
        .replace("{scoped}", scoped)
        .replace("{other}", other)
    )
    files_before = sorted(path.name for path in hostile_home.iterdir())
    started = time.monotonic()
    result = ask(sql, TenantScope.for_orgs(scoped), settings=llm_settings)
    elapsed = time.monotonic() - started

    assert injected_model.questions[-1] == sql, "the question reached the injected model"
    assert result.path == "llm"
    assert elapsed < TIMEOUT_S + 10, f"took {elapsed:.1f} s"
    assert sorted(path.name for path in hostile_home.iterdir()) == files_before, "no file was written"
    if result.refused or not result.answered:
        assert result.reason and "Traceback" not in result.reason and len(result.reason) < 1000
        assert result.rows.empty
        # a query the guard let through must not have reached for a file or a setting
        assert "Permission Error" not in result.reason and "configuration" not in result.reason, result.reason
        return
    rows = result.rows
    for column in rows.columns:
        values = {str(value) for value in rows[column].dropna()}
        assert not any(CANARY in value or "root:x:0:0" in value for value in values), "a file was read"
        assert not values & other_orgs, f"{column} shows another org: {values & other_orgs}"
        if column.lower().endswith("org_id") or column.lower() == "o":
            assert values <= {scoped, "1"}, f"{column} leaked {values - {scoped}}"


def test_a_scoped_answer_still_works_through_the_injected_model(llm_settings, orgs):
    scoped, _ = orgs
    result = ask(
        "select org_id, sum(cost_usd) as spend from agg_usage_daily group by 1",
        TenantScope.for_orgs(scoped),
        settings=llm_settings,
    )
    assert result.answered, result.reason
    assert result.rows["org_id"].tolist() == [scoped]


def test_a_runaway_query_is_stopped_by_the_statement_timeout(llm_settings, orgs):
    scoped, _ = orgs
    started = time.monotonic()
    result = ask(
        "select count(*) as n from fct_llm_calls a, fct_llm_calls b, fct_llm_calls c, fct_llm_calls d",
        TenantScope.for_orgs(scoped),
        settings=llm_settings,
    )
    assert time.monotonic() - started < TIMEOUT_S + 10
    assert not result.answered and "stopped" in result.reason


HOSTILE_ON_THE_READER = [
    "select * from read_csv('{canary}')",
    "select * from read_parquet('{home}/x.parquet')",
    "select * from read_json_auto('{canary}')",
    "select * from read_text('/etc/passwd')",
    "select * from '{canary}'",
    "select * from glob('/etc/*')",
    "attach '{home}/other.duckdb' as other",
    "set memory_limit = '100GB'",
    "set enable_external_access = true",
    "reset lock_configuration",
    "install httpfs",
    "load httpfs",
    "copy (select 1) to '{home}/leak.csv'",
    "export database '{home}/export'",
    "create table marts.evil as select 1",
]


@pytest.mark.parametrize("template", HOSTILE_ON_THE_READER)
def test_the_reader_connection_itself_refuses_files_settings_and_extensions(template, hostile_home):
    """Below the guard: the connection every reader opens fails these on its own."""
    sql = template.replace("{canary}", str(hostile_home / "canary.csv")).replace("{home}", str(hostile_home))
    settings = Settings(home=hostile_home)
    with connect_reader(current_snapshot(settings)[1], settings) as connection:
        with pytest.raises(duckdb.Error):
            connection.execute(sql).fetchall()
        assert connection.execute("select count(*) from marts.fct_llm_calls").fetchone()[0] > 0
        assert connection.execute("select json_extract('{\"a\": 1}', '$.a')").fetchone()[0] is not None


def test_the_app_reader_stops_a_runaway_query(hostile_home):
    """The dashboard's data calls run through `TimedReader`: a runaway statement is interrupted, the connection
    stays usable."""
    settings = Settings(home=hostile_home)
    with connect_reader(current_snapshot(settings)[1], settings) as connection:
        reader = TimedReader(connection, 0.5)
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            reader.cursor().execute(
                "with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r"
            )
        assert time.monotonic() - started < 10
        assert reader.cursor().execute("select count(*) from marts.fct_llm_calls").fetchone()[0] > 0


ODD_OFFLINE_QUESTIONS = [
    ("spend since 2026-02-31", "not a date"),
    ("spend in month 13", "no month 13"),
    ("spend in march 99999", "not a year"),
    ("spend between 2026-10-05 and 2026-10-01", "is after"),
    ("spend last 0 days", "not a period"),
    ("top 0 users by spend", "top 0"),
    ("top -5 users by spend", "not a count"),
    ("top 10^9 users by spend", "not a count"),
    ("spend " * 500, "too long"),
]


@pytest.mark.parametrize(("question", "reason"), ODD_OFFLINE_QUESTIONS, ids=[q[:30] for q, _ in ODD_OFFLINE_QUESTIONS])
def test_odd_offline_questions_are_refused_in_words(question, reason, hostile_home, orgs):
    result = ask(question, TenantScope.for_orgs(orgs[0]), settings=Settings(home=hostile_home, llm_provider="none"))
    assert not result.answered and reason in result.reason and "Traceback" not in result.reason


@pytest.mark.parametrize(
    ("question", "note"),
    [("top 1000000000 users by spend", "top 100"), ("spend last 100000 days", "reaches back too far")],
)
def test_oversized_offline_questions_are_clamped_with_a_note(question, note, hostile_home, orgs):
    result = ask(question, TenantScope.for_orgs(orgs[0]), settings=Settings(home=hostile_home, llm_provider="none"))
    assert result.answered and note in result.answer


def test_a_100_kb_question_costs_linear_time(monkeypatch):
    """`which … most` was matched with `.*` from every `which`: 23 s of CPU for 100 KB. Past the length cap now,
    and linear under it."""
    from datetime import date

    from aioa.ask import offline

    with pytest.raises(offline.NotUnderstood, match="longer than"):
        offline.parse("which " * 20_000, date(2026, 11, 20), {})
    monkeypatch.setattr(offline, "MAX_QUESTION_CHARS", 10**9)
    started = time.process_time()
    assert offline.parse("which " * 20_000 + "spend", date(2026, 11, 20), {}).top is None  # no "most"
    assert time.process_time() - started < 2
