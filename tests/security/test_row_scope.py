"""Row narrowing inside an org: a User reads their team's rows and their own, a Viewer their team's, a scope with no
team and no user ids nothing; never another team's rows or another org's.

The sample warehouse (four orgs; org `acme` has teams acme-platform (alice, arjun) and acme-web (amara, andre, zoe);
zoe also logs calls in the `default` org) is read through every reader with scopes that `scope_for` derives from
principals, and each number is compared with a pandas computation over the unscoped rows (raw.llm_calls,
raw.handoffs; marts.fct_llm_calls where a column such as project_group exists only in the marts).
"""

from __future__ import annotations

import inspect
import itertools
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from aioa import metrics
from aioa.analytics import DIMENSIONS, Filters, queries
from aioa.ask import ask
from aioa.ask.guard import MART_TABLES, UNSCOPED_TABLES
from aioa.ask.service import run_sql
from aioa.identity.permissions import scope_for
from aioa.identity.principal import Principal
from aioa.reports.usage import REPORT_KINDS, usage_report
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.ml_tables import write_ml_tables
from aioa.warehouse.relations import ORG_TOTALS, RELATION_COLUMNS, SCOPING_COLUMNS, row_columns
from aioa.warehouse.snapshots import open_snapshot

ORG = "acme"
TEAMS = ("acme-platform", "acme-web")
APPROX = {"rel": 1e-9, "abs": 1e-9}


@dataclass(frozen=True)
class Case:
    principal: Principal
    teams: frozenset[str]  # the rows of these teams …
    users: frozenset[str]  # … or of these users (of the org) are the ones it may read

    @property
    def scope(self) -> TenantScope:
        return scope_for(self.principal)


def _person(role: str, team: str | None, usage_ids: tuple[str, ...] = ()) -> Principal:
    return Principal(f"{role}-{team}", "user", ORG, role, team_id=team, usage_user_ids=usage_ids)


CASES = {
    # a User of acme-platform who also logs as zoe (whose calls are acme-web's, and the default org's)
    "user": Case(_person("user", "acme-platform", ("zoe",)), frozenset({"acme-platform"}), frozenset({"zoe"})),
    # a Viewer reads their team's rows only: their usage ids (alice, of the other team) do not count
    "viewer": Case(_person("viewer", "acme-web", ("alice",)), frozenset({"acme-web"}), frozenset()),
    "user_without_team": Case(_person("user", None, ("amara",)), frozenset(), frozenset({"amara"})),
    "empty": Case(_person("viewer", None), frozenset(), frozenset()),
}
NARROWED = ("user", "viewer", "user_without_team")
ADMIN = _person("admin", None)


def visible(frame: pd.DataFrame, case: Case) -> pd.DataFrame:
    return frame[(frame["org_id"] == ORG) & (frame["team_id"].isin(case.teams) | frame["user_id"].isin(case.users))]


@pytest.fixture(scope="module")
def home(built_home: Path, tmp_path_factory) -> Path:
    """The sample with the ML tables a reader may show: per-user anomalies, a per-org table, a global table."""
    from ml.anomalies.run import run_detection

    home = tmp_path_factory.mktemp("row-scope") / "home"
    shutil.copytree(built_home, home)
    settings = Settings(home=home)
    run_detection(settings, track=False)
    write_ml_tables(
        settings,
        {
            "budget_projections": pd.DataFrame({"org_id": ["acme", "globex"], "projected_usd": [10.0, 20.0]}),
            "routing_evaluation": pd.DataFrame({"router": ["router"], "apgr": [0.5]}),
        },
    )
    return home


@pytest.fixture(scope="module")
def connection(home):
    connection, _ = open_snapshot(Settings(home=home))
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def rows(connection) -> dict[str, pd.DataFrame]:
    """The unscoped rows the expected numbers are computed from."""
    read = {
        "calls": "select * from raw.llm_calls",
        "handoffs": "select * from raw.handoffs",
        "facts": "select * from marts.fct_llm_calls",  # project_group, total_tokens, day
        "handoff_facts": "select * from marts.fct_handoffs",  # savings_usd
        "anomalies": "select * from ml.anomalies",
    }
    frames = {name: connection.execute(sql).df() for name, sql in read.items()}
    frames["facts"]["day"] = pd.to_datetime(frames["facts"]["day"])
    return frames


def _settings(home: Path) -> Settings:
    return Settings(home=home, llm_provider="none")


# --- the map every reader narrows by ----------------------------------------------------------------------------


def test_scope_for_gives_each_case_its_rows():
    assert CASES["user"].scope == TenantScope(("acme",), ("acme-platform",), ("zoe",))
    assert CASES["viewer"].scope == TenantScope(("acme",), ("acme-web",), ())
    assert CASES["empty"].scope == TenantScope(("acme",), (), ())
    assert not scope_for(ADMIN).rows_narrowed


def test_the_relation_map_matches_the_warehouse(connection):
    actual = {
        f"{schema}.{table}": frozenset(columns) & SCOPING_COLUMNS
        for schema, table, columns in connection.execute(
            "select table_schema, table_name, list(column_name) from information_schema.columns "
            "where table_schema in ('marts', 'raw') group by all"
        ).fetchall()
    }
    for relation, columns in RELATION_COLUMNS.items():
        assert actual[relation] == columns, relation
    marts = {relation.removeprefix("marts.") for relation in actual if relation.startswith("marts.")}
    assert marts == MART_TABLES  # every mart is allow-listed for questions and listed in the map
    assert {"time_spine_daily"} == UNSCOPED_TABLES and actual["marts.time_spine_daily"] == frozenset()
    assert row_columns("marts.dim_projects") == frozenset() and {"marts.dim_projects"} == ORG_TOTALS
    for column in ("team_id", "user_id"):  # the metrics registry groups by team/user only where rows narrow
        dimension = next(item for item in metrics.DIMENSIONS.values() if item.column == column)
        assert all(column in row_columns(f"marts.{table}") for table in dimension.tables), column


# --- each reader against pandas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(REPORT_KINDS))
@pytest.mark.parametrize("name", [*NARROWED, "empty"])
def test_usage_report_every_kind(connection, rows, name, kind):
    case = CASES[name]
    report = usage_report(connection, kind, scope=case.scope)
    calls = visible(rows["calls"], case)
    key = {
        "daily": calls["ts_utc"].dt.strftime("%Y-%m-%d"),
        "monthly": calls["ts_utc"].dt.strftime("%Y-%m"),
        "session": calls["session_id"],
        "project": calls["project_id"],
        # a `<synthetic>` error counts for the model that failed: the marts' attribution (the same dbt rule)
        "model": calls["call_key"].map(rows["facts"].set_index("call_key")["model"]).fillna(calls["model"]),
    }[kind]
    expected = (
        calls.assign(key=key, ok=calls["status"] == "ok", error=calls["status"] == "error")
        .groupby("key", dropna=False)
        .agg(cost_usd=("cost_usd", "sum"), calls=("ok", "sum"), errors=("error", "sum"), input=("input_tokens", "sum"))
    )
    key_name = REPORT_KINDS[kind][0]
    got = {row[key_name]: (row["cost_usd"], row["calls"], row["errors"], row["input_tokens"]) for row in report}
    assert set(got) == set(expected.index)
    for value, row in expected.iterrows():
        assert got[value][0] == pytest.approx(row["cost_usd"], **APPROX)
        assert got[value][1:] == (row["calls"], row["errors"], row["input"]), (kind, value)
    if name != "empty":
        assert len(report) > 0


@pytest.mark.parametrize("name", NARROWED)
def test_kpis(connection, rows, name):
    case = CASES[name]
    result = queries.kpis(connection, Filters(), case.scope)["current"]
    facts, handoffs = visible(rows["facts"], case), visible(rows["handoff_facts"], case)
    assert result["spend_usd"] == pytest.approx(facts["cost_usd"].sum(), **APPROX)
    assert result["tokens"] == facts["total_tokens"].sum()
    assert result["calls"] == len(facts)
    assert result["savings_usd"] == pytest.approx(handoffs["savings_usd"].sum(), **APPROX)
    assert result["spend_usd"] > 0


@pytest.mark.parametrize("dimension", sorted(DIMENSIONS))
@pytest.mark.parametrize("name", NARROWED)
def test_spend_by_every_dimension(connection, rows, name, dimension):
    case = CASES[name]
    column = DIMENSIONS[dimension]
    frame = queries.spend_by(connection, Filters(), case.scope, dimension)
    facts = visible(rows["facts"], case)
    expected = facts.groupby(column, dropna=False).agg(cost_usd=("cost_usd", "sum"), calls=("cost_usd", "size"))
    got = frame.set_index(column.replace("_id", ""))
    if column == "day":
        got.index = pd.to_datetime(got.index)
    assert sorted(got.index, key=str) == sorted(expected.index, key=str)
    assert got["calls"].to_dict() == expected["calls"].to_dict()
    for value, cost in expected["cost_usd"].items():
        assert got["cost_usd"].fillna(0).loc[value] == pytest.approx(cost, **APPROX)  # SQL: NULL if all unpriced


@pytest.mark.parametrize("by", [None, "team", "user", "project"])
@pytest.mark.parametrize("name", NARROWED)
def test_daily_usage(connection, rows, name, by):
    case = CASES[name]
    frame = queries.daily_usage(connection, Filters(), case.scope, by)
    facts = visible(rows["facts"], case)
    series = facts[DIMENSIONS[by]] if by else "all"
    expected = facts.assign(series=series).groupby(["day", "series"]).agg(cost=("cost_usd", "sum"), n=("day", "size"))
    got = frame.assign(day=pd.to_datetime(frame["day"])).set_index(["day", "series"])
    assert sorted(got.index) == sorted(expected.index)
    assert got["calls"].to_dict() == expected["n"].to_dict()
    assert got["cost_usd"].sum() == pytest.approx(expected["cost"].sum(), **APPROX)


@pytest.mark.parametrize("name", NARROWED)
def test_detail_calls(connection, rows, name):
    case = CASES[name]
    frame = queries.detail_calls(connection, Filters(), case.scope, limit=100_000)
    calls = visible(rows["calls"], case)
    assert len(frame) == len(calls)
    assert frame["cost_usd"].sum() == pytest.approx(calls["cost_usd"].sum(), **APPROX)
    assert set(zip(frame["source_file"], frame["source_line"], strict=True)) == set(
        zip(calls["source_file"], calls["source_line"], strict=True)
    )
    for team in TEAMS:  # drilling into another team's number gives nothing
        drilled = queries.detail_calls(connection, Filters(), case.scope, dimension="team", value=team, limit=100_000)
        assert len(drilled) == (calls["team_id"] == team).sum()


@pytest.mark.parametrize("name", NARROWED)
def test_sessions_timeline(connection, rows, name):
    case = CASES[name]
    frame = queries.sessions_timeline(connection, Filters(), case.scope, limit=100_000)
    calls = visible(rows["calls"], case)
    assert set(frame["item"]) == set(calls["session_id"])  # (acme's sessions each belong to one team and user)
    assert frame["cost_usd"].sum() == pytest.approx(calls["cost_usd"].sum(), **APPROX)
    assert set(frame["user_id"]) == set(calls["user_id"])


@pytest.mark.parametrize("name", NARROWED)
def test_projects_overview_and_lifecycle(connection, rows, name):
    case = CASES[name]
    facts = visible(rows["facts"], case)
    expected = facts.groupby("project_id").agg(
        cost=("cost_usd", "sum"), calls=("cost_usd", "size"), users=("user_id", "nunique"), first=("day", "min")
    )
    last_day = facts["day"].max()
    recent = Filters(start=last_day - timedelta(days=29), end=last_day)
    for filters in (Filters(), recent):
        overview = queries.projects_overview(connection, filters, case.scope).set_index("project_id")
        assert set(overview["org_id"]) == {ORG}
        for project, row in overview.iterrows():
            # lifetime totals are the rows this scope may read, not dim_projects' totals over every team
            assert row["lifetime_cost_usd"] == pytest.approx(expected.loc[project, "cost"], **APPROX)
            assert pd.Timestamp(row["first_active_day"]) == expected.loc[project, "first"]
        if filters == Filters():
            assert sorted(overview.index) == sorted(expected.index)
            assert overview["calls"].to_dict() == expected["calls"].to_dict()
            assert overview["users"].to_dict() == expected["users"].to_dict()
    lifecycle = queries.project_lifecycle(connection, Filters(), case.scope)
    assert lifecycle.groupby("project_id")["cost_usd"].sum().to_dict() == pytest.approx(
        expected["cost"].to_dict(), **APPROX
    )
    assert (lifecycle.groupby("project_id")["life_week"].min() == 0).all()


@pytest.mark.parametrize("name", NARROWED)
def test_handoffs(connection, rows, name):
    case = CASES[name]
    handoffs = visible(rows["handoffs"], case)
    summary = queries.handoff_summary(connection, Filters(), case.scope)
    expected = handoffs.groupby(["target_model", "task_type"]).size()
    assert summary.set_index(["target_model", "task_type"])["handoffs"].to_dict() == expected.to_dict()
    assert set(queries.handoff_task_types(connection, case.scope)) == set(handoffs["task_type"].dropna())
    if name != "user_without_team":
        assert len(handoffs) > 0


def test_org_level_tables_give_a_narrowed_scope_no_rows_and_an_admin_the_org(connection, rows):
    admin = scope_for(ADMIN)
    assert len(queries.mcp_tools(connection, Filters(), admin)) > 0
    mcp_calls = connection.execute("select org_id, team_id, user_id from marts.fct_tool_calls where is_mcp").df()
    assert len(queries.quarantined_input(connection, admin)) > 0
    budget = queries.ml_table(connection, admin, "budget_projections")
    assert budget["org_id"].tolist() == [ORG]
    org_anomalies = rows["anomalies"][rows["anomalies"]["org_id"] == ORG]
    assert len(queries.ml_table(connection, admin, "anomalies")) == len(org_anomalies) > 0
    for name in (*NARROWED, "empty"):
        scope = CASES[name].scope
        # the MCP aggregate carries team and user: a narrowed scope reads exactly its own MCP calls
        own_tools = visible(mcp_calls, CASES[name])
        assert queries.mcp_tools(connection, Filters(), scope)["calls"].sum() == len(own_tools), name
        assert queries.quarantined_input(connection, scope).empty, name
        assert queries.latest_quality_checks(connection, scope).empty, name
        # anomalies are about an org's totals (their drivers name any of its users): org-level, like the rest
        for table in ("anomalies", "budget_projections", "routing_evaluation"):
            assert queries.ml_table(connection, scope, table).empty, (name, table)


# --- every reader at once: no other team's or org's ids, nothing for an empty scope, team scopes add up ---------

NOT_FRAMES = ("table_exists", "handoff_task_types")  # a bool, a list (read below as a frame)
PARAMETER_VALUES = {"dimension": tuple(DIMENSIONS), "by": (None, *DIMENSIONS), "table": ("anomalies",)}


def _all_reads(connection):
    """(label, result) of every page query of `aioa.analytics.queries` for a scope, with every dimension."""

    def reads(scope: TenantScope):
        for name, function in inspect.getmembers(queries, inspect.isfunction):
            if function.__module__ != queries.__name__ or name.startswith("_") or name in NOT_FRAMES:
                continue
            signature = inspect.signature(function)
            extra = [parameter for parameter in PARAMETER_VALUES if parameter in signature.parameters]
            for values in itertools.product(*(PARAMETER_VALUES[parameter] for parameter in extra)):
                kwargs = dict(zip(extra, values, strict=True))
                args = (connection, Filters(), scope) if "filters" in signature.parameters else (connection, scope)
                yield f"{name}({kwargs})", function(*args, **kwargs)
        for kind in REPORT_KINDS:
            yield f"usage_report({kind})", pd.DataFrame(usage_report(connection, kind, scope=scope))
        yield "handoff_task_types", pd.DataFrame({"task_type": queries.handoff_task_types(connection, scope)})

    return reads


def _foreign_ids(rows, case: Case) -> set[str]:
    """Ids of rows the case may not read: other orgs' and the other team's users and teams."""
    calls = rows["calls"]
    allowed = visible(calls, case)
    others = calls[~calls.index.isin(allowed.index)]
    foreign = set(others["user_id"].dropna()) - set(allowed["user_id"])
    foreign |= set(others["team_id"].dropna()) - set(allowed["team_id"].dropna())
    return foreign | {"globex", "initech"}


@pytest.mark.parametrize("name", NARROWED)
def test_no_reader_shows_another_teams_or_orgs_ids(connection, rows, name):
    case = CASES[name]
    foreign = _foreign_ids(rows, case)
    assert {"globex", "initech"} < foreign and (name == "user" or "alice" in foreign)
    read = 0
    for label, result in _all_reads(connection)(case.scope):
        if isinstance(result, dict) or result is None:
            continue
        for column in result.columns:
            cells = {value for value in result[column] if isinstance(value, str)}
            assert not cells & foreign, f"{label}: {column} shows {sorted(cells & foreign)}"
        read += 1
    assert read > 30


def test_a_scope_with_no_team_and_no_user_sees_nothing(connection):
    scope = CASES["empty"].scope
    for label, result in _all_reads(connection)(scope):
        if isinstance(result, dict):  # kpis (per period), filter_options
            values = [
                value for item in result.values() for value in (item.values() if isinstance(item, dict) else [item])
            ]
            assert all(value in (0, None, []) for value in values), label
        else:
            assert result is None or result.empty, label


def test_team_scopes_add_up_to_the_org(connection, rows):
    """Every acme row has a team: the teams' narrowed totals add up to the org's, and overlap nowhere."""
    assert rows["calls"].loc[rows["calls"]["org_id"] == ORG, "team_id"].notna().all()
    admin = scope_for(ADMIN)
    teams = [scope_for(_person("viewer", team)) for team in TEAMS]

    def totals(scope: TenantScope) -> dict[str, float]:
        kpis = queries.kpis(connection, Filters(), scope)["current"]
        return {
            "spend": kpis["spend_usd"],
            "tokens": kpis["tokens"],
            "calls": kpis["calls"],
            "savings": kpis["savings_usd"],
            "report": sum(row["cost_usd"] for row in usage_report(connection, "daily", scope=scope)),
            "handoffs": queries.handoff_summary(connection, Filters(), scope)["handoffs"].sum(),
            "sessions": len(queries.sessions_timeline(connection, Filters(), scope, limit=100_000)),
            "projects_spend": queries.projects_overview(connection, Filters(), scope)["cost_usd"].sum(),
        }

    org, parts = totals(admin), [totals(scope) for scope in teams]
    for key, value in org.items():
        assert sum(part[key] for part in parts) == pytest.approx(value, **APPROX), key
        assert all(0 < part[key] < value for part in parts), key
    users = [set(queries.spend_by(connection, Filters(), scope, "user")["user"]) for scope in teams]
    assert users[0] and users[1] and not users[0] & users[1]


# --- questions and SQL -------------------------------------------------------------------------------------------

QUESTIONS = (
    "spend by user",
    "spend by user for all teams",
    "spend by team",
    "spend by org",
    "top 5 users by tokens",
    "spend by project",
    "handoffs by user",
    "sessions by user",
    "spend for alice",
    "spend for globex",
    "total spend of every team including acme-platform and acme-web",
)

# (question, case) -> the filter the answer must have applied: a value the case can see, or none at all
NAMED_ROWS = {
    ("spend for alice", "user"): ("user_id", "alice"),
    ("spend for alice", "viewer"): (None, None),
    ("spend for globex", "user"): (None, None),
    ("spend for globex", "viewer"): (None, None),
    (QUESTIONS[-1], "user"): ("team_id", "acme-platform"),  # the longest team name it can see
    (QUESTIONS[-1], "viewer"): ("team_id", "acme-web"),
}


@pytest.mark.parametrize("name", ["user", "viewer"])
def test_offline_questions_answer_from_the_scopes_rows_only(connection, rows, home, name):
    case = CASES[name]
    facts = visible(rows["facts"], case)
    foreign = _foreign_ids(rows, case)
    answered = 0
    for question in QUESTIONS:
        result = ask(question, case.scope, connection=connection, settings=_settings(home))
        if not result.answered:
            continue
        answered += 1
        for column in result.rows.columns:
            cells = {value for value in result.rows[column] if isinstance(value, str)}
            assert not cells & foreign, f"{question}: {sorted(cells & foreign)}"
        if question.startswith("spend by user"):
            assert result.rows.set_index("user_id")["spend"].to_dict() == pytest.approx(
                facts.groupby("user_id")["cost_usd"].sum().to_dict(), **APPROX
            )
        if (question, name) in NAMED_ROWS:  # a name it cannot see filters nothing: the answer is its own rows
            column, value = NAMED_ROWS[question, name]
            named = facts if column is None else facts[facts[column] == value]
            assert result.rows["spend"].sum() == pytest.approx(named["cost_usd"].sum(), **APPROX), question
    assert answered >= 8
    # the MCP aggregate carries team and user: answered from the scope's own MCP calls
    mcp = ask("mcp calls by server", case.scope, connection=connection, settings=_settings(home))
    mcp_calls = connection.execute("select org_id, team_id, user_id from marts.fct_tool_calls where is_mcp").df()
    assert mcp.answered and mcp.rows["mcp_calls"].sum() == len(visible(mcp_calls, case)) > 0


HOSTILE_SQL = (
    "select user_id, team_id, sum(cost_usd) as spend from fct_llm_calls group by all",
    "select user_id, team_id, cost_usd from fct_llm_calls union all select user_id, team_id, cost_usd "
    "from marts.fct_llm_calls",
    "select team_id, user_id, total from (select team_id, user_id, sum(cost_usd) as total from agg_usage_daily "
    "where team_id <> 'nobody' group by all) as t",
    "with every_team as (select * from fct_handoffs) select team_id, user_id, count(*) as n from every_team "
    "group by all",
    "select user_id, team_id from dim_users",
    "select team_id, org_id from dim_teams",
    "select a.user_id, a.team_id from fct_sessions a where exists (select 1 from fct_llm_calls b "
    "where b.team_id = 'acme-platform')",
    "select user_id, team_id from fct_tool_calls where user_id in (select user_id from fct_llm_calls)",
    "select user_id, team_id, sum(cost_usd) as spend from agg_usage_hourly group by all "
    "intersect select user_id, team_id, sum(cost_usd) from agg_usage_hourly group by all",
    "select * from agg_mcp_tools_daily",  # carries team and user: narrowed, not refused
)
REFUSED_SQL = (
    "select * from dim_projects",  # its lifetime totals count every team's calls
    "select org_id, count(*) from fct_llm_calls where org_id in (select org_id from dim_orgs) group by 1",
    "select * from dim_models",
    "select count(*) from raw.llm_calls",
    "select * from fct_llm_calls union all select * from fct_llm_calls, dim_orgs",
)


@pytest.mark.parametrize("name", [*NARROWED, "empty"])
def test_sql_cannot_reach_other_teams(connection, rows, home, name):
    case = CASES[name]
    facts = visible(rows["facts"], case)
    settings = Settings(home=home, llm_provider="none", ask_row_limit=100_000)
    for sql in HOSTILE_SQL:
        result = run_sql(sql, case.scope, connection, settings)
        assert result.answered, (sql, result.reason)
        frame = result.rows
        if "user_id" in frame:
            assert set(frame["user_id"].dropna()) <= set(facts["user_id"]) | case.users, sql
        assert set(frame["team_id"].dropna()) <= case.teams | set(facts["team_id"]), sql
        if name == "empty":
            assert frame.empty, sql
    spend = run_sql(HOSTILE_SQL[0], case.scope, connection, settings).rows
    assert spend["spend"].sum() == pytest.approx(facts["cost_usd"].sum(), **APPROX)
    union = run_sql(HOSTILE_SQL[1], case.scope, connection, settings).rows
    assert len(union) == 2 * len(facts)
    for sql in REFUSED_SQL:
        result = run_sql(sql, case.scope, connection, settings)
        assert result.refused and result.reason.startswith("Refused:"), sql
    calendar = run_sql("select * from time_spine_daily order by 1 limit 3", case.scope, connection, settings)
    assert calendar.answered and len(calendar.rows) == 3  # no tenant data: the same for everyone
