"""Cross-tenant isolation: what org A sees does not depend on whether org B's data exists.

Two homes are built from the same generated sample: one with every org, one from a copy of the sample in which
org B's input is really absent (its users' Claude config dirs deleted, its handoff lines and OTel records cut out).
Every page query of `aioa.analytics` (found by introspection, so a new query is covered without editing this file)
and every offline question template, scoped to org A, must return exactly the same result in both.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aioa import metrics
from aioa.analytics import DIMENSIONS, Filters, queries
from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from aioa.pipeline import SourcePaths, run_pipeline
from aioa.settings import Settings
from aioa.warehouse.access import TenantScope
from aioa.warehouse.dbt.runner import run_dbt
from aioa.warehouse.ml_tables import GLOBAL_TABLES, ML_TABLES, write_ml_tables
from aioa.warehouse.snapshots import open_snapshot, publish_snapshot
from tests.ingest.transcripts import assistant, write_jsonl

ORG_A, ORG_B = "acme", "globex"
SCOPE_A = TenantScope.for_orgs(ORG_A)

# Values for each extra parameter of a page query; a new query with another required parameter fails
# `test_every_page_query_is_scoped_and_has_values` until its values are added here.
PARAMETER_VALUES: dict[str, tuple] = {
    "dimension": tuple(DIMENSIONS),
    "by": (None, *DIMENSIONS),
    "table": tuple(sorted(ML_TABLES)),
    "value": (None, "checkout-api"),
}
# Columns that describe the run rather than the data (when a line was quarantined, when a check ran).
RUN_COLUMNS = {"detected_at", "checked_at", "loaded_at", "last_loaded_at", "ingest_run_id", "first_seen", "last_seen"}


def page_queries() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(function)
        for name, function in inspect.getmembers(queries, inspect.isfunction)
        if function.__module__ == queries.__name__ and not name.startswith("_")
    }


# --- building the two homes -------------------------------------------------------------------------------------


def _org_b_identity(attribution: dict) -> tuple[set[str], list[str]]:
    """Org B's user names (ids, emails, logged names) and config dirs, from the attribution file."""
    names, config_dirs = {ORG_B}, []
    for user in attribution["users"]:
        if user["org"] == ORG_B:
            names |= {
                user["id"],
                *([user["email"]] if user.get("email") else []),
                *user.get("match", {}).get("names", []),
            }
            config_dirs += user.get("match", {}).get("config_dirs", [])
    return names, config_dirs


def _names_org_b(attributes: list[dict], names: set[str]) -> bool:
    return any(
        item["key"] in ("user.id", "user.email", "organization.id") and item["value"].get("stringValue") in names
        for item in attributes
    )


def _without_org_b_records(document: dict, names: set[str]) -> dict | None:
    """An OTel export line without the resources and records that name one of org B's users or org B."""
    for resources_key, scopes_key, records_key in (
        ("resourceLogs", "scopeLogs", "logRecords"),
        ("resourceSpans", "scopeSpans", "spans"),
    ):
        if resources_key not in document:
            continue
        kept_resources = []
        for resource in document[resources_key]:
            if _names_org_b(resource.get("resource", {}).get("attributes", []), names):
                continue
            for scope in resource[scopes_key]:
                scope[records_key] = [
                    record for record in scope[records_key] if not _names_org_b(record.get("attributes", []), names)
                ]
            resource[scopes_key] = [scope for scope in resource[scopes_key] if scope[records_key]]
            if resource[scopes_key]:
                kept_resources.append(resource)
        document[resources_key] = kept_resources
        return document if kept_resources else None
    raise AssertionError(f"unexpected OTel line with keys {sorted(document)}")


def remove_org_b(sample: Path, target: Path) -> Path:
    """A copy of the sample without org B's input: files deleted, lines and records cut out."""
    shutil.copytree(sample, target)
    names, config_dirs = _org_b_identity(yaml.safe_load((target / "attribution.yaml").read_text()))
    for config_dir in config_dirs:
        shutil.rmtree(target / config_dir)
    for path in sorted((target / "handoffs").rglob("*.jsonl")):
        lines = path.read_text().splitlines()
        kept = [line for line in lines if not {json.loads(line).get(key) for key in ("user_id", "user")} & names]
        path.write_text("".join(line + "\n" for line in kept))
    for path in sorted((target / "otel").glob("*.jsonl")):
        documents = [_without_org_b_records(json.loads(line), names) for line in path.read_text().splitlines()]
        kept = [json.dumps(document) for document in documents if document is not None]
        if kept:
            path.write_text("".join(line + "\n" for line in kept))
        else:
            path.unlink()
    return target


def _detect_anomalies(home: Path) -> None:
    """ml.anomalies (per-org rows) and a global ml table, so the ML reads compare real rows."""
    from ml.anomalies.run import run_detection

    settings = Settings(home=home)
    run_detection(settings, track=False)
    write_ml_tables(settings, {"routing_evaluation": pd.DataFrame({"router": ["router"], "apgr": [0.5]})})


@pytest.fixture(scope="module")
def homes(built_home: Path, sample_dir: Path, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """{"with_b": (home, sample), "without_b": (home, sample)}, both with the marts, quality results and ML tables."""
    root = tmp_path_factory.mktemp("cross-tenant")
    with_b = root / "with-b"
    shutil.copytree(built_home, with_b)
    without_sample = remove_org_b(sample_dir, root / "sample-without-b" / "sample")
    without_b = root / "without-b"
    without_b.mkdir()
    shutil.copy(without_sample / "attribution.yaml", without_b / "attribution.yaml")
    run_pipeline(Settings(home=without_b), SourcePaths.from_sample(without_sample), include_ml=False)
    for home in (with_b, without_b):
        _detect_anomalies(home)
    return {"with_b": (with_b, sample_dir), "without_b": (without_b, without_sample)}


@pytest.fixture(scope="module")
def connections(homes):
    opened = {name: open_snapshot(Settings(home=home))[0] for name, (home, _) in homes.items()}
    yield opened
    for connection in opened.values():
        connection.close()


# --- comparing results ------------------------------------------------------------------------------------------


def _comparable(result, sample: Path):
    """The result without what differs between two builds of the same data: run timestamps, the sample's path, and
    the order of rows that tie on the query's ORDER BY (e.g. two models with the same error rate)."""
    if isinstance(result, pd.DataFrame):
        frame = result.drop(columns=[column for column in result.columns if column in RUN_COLUMNS])
        for column in frame.columns:
            if frame[column].dtype == object:
                frame[column] = frame[column].map(
                    lambda value: value.replace(str(sample), "<sample>") if isinstance(value, str) else value
                )
        floats = [column for column in frame.columns if pd.api.types.is_float_dtype(frame[column])]
        keys = [column for column in frame.columns if column not in floats] + floats
        if keys and not frame.empty:
            frame = frame.sort_values(
                keys,
                kind="mergesort",
                na_position="last",
                key=lambda values: values.astype(str) if values.dtype == object else values,
            )
        return frame.reset_index(drop=True)
    return result


# Sums of doubles depend on the order DuckDB adds them in (threads, row order), so two builds of the same rows can
# differ in the last bit (observed: 27.16028625 vs 27.160286250000013). Floats are compared to 1e-12 relative; one
# call of another org (at least ~1e-6 USD or one token on totals of ~100 USD) is orders of magnitude larger.
FLOAT_TOLERANCE = {"rtol": 1e-12, "atol": 1e-12}


def _same(left, right) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=FLOAT_TOLERANCE["rtol"], abs_tol=FLOAT_TOLERANCE["atol"])
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    return left == right


def assert_same(with_b, without_b, homes, label: str) -> None:
    left, right = _comparable(with_b, homes["with_b"][1]), _comparable(without_b, homes["without_b"][1])
    if isinstance(left, pd.DataFrame) and isinstance(right, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, check_exact=False, **FLOAT_TOLERANCE, obj=label)
    else:
        assert _same(left, right), f"{label}: {left!r} != {right!r}"


def _calls(name: str, signature: inspect.Signature, filters: list[Filters]):
    """Every combination of filters and parameter values for one page query."""
    extra = [
        parameter
        for parameter in signature.parameters.values()
        if parameter.name not in ("connection", "filters", "scope")
        and (parameter.default is inspect.Parameter.empty or parameter.name in PARAMETER_VALUES)
    ]
    choices = [PARAMETER_VALUES[parameter.name] for parameter in extra]
    for values in itertools.product(*choices):
        kwargs = dict(zip([parameter.name for parameter in extra], values, strict=True))
        if "filters" in signature.parameters:
            for chosen in filters:
                yield f"{name}({chosen}, {kwargs})", chosen, kwargs
        else:
            yield f"{name}({kwargs})", None, kwargs


# --- the tests --------------------------------------------------------------------------------------------------


def test_org_b_is_really_absent_from_one_home_and_present_in_the_other(connections):
    def rows(name: str, sql: str) -> int:
        return connections[name].execute(sql, [ORG_B]).fetchone()[0]

    for sql in (
        "select count(*) from marts.fct_llm_calls where org_id = ?",
        "select count(*) from marts.fct_handoffs where org_id = ?",
        "select count(*) from marts.dim_projects where org_id = ? and lifetime_tokens > 0",  # (config stays)
        "select count(*) from ml.anomalies where org_id = ?",
    ):
        assert rows("with_b", sql) > 0, sql
        assert rows("without_b", sql) == 0, sql
    for connection in connections.values():
        assert (
            connection.execute("select count(*) from marts.fct_llm_calls where org_id = ?", [ORG_A]).fetchone()[0]
            > 1000
        )


def test_every_page_query_is_scoped_and_has_values():
    signatures = page_queries()
    unscoped = sorted(name for name, signature in signatures.items() if "scope" not in signature.parameters)
    assert unscoped == ["table_exists"], "a page query without a tenant scope"
    for name, signature in signatures.items():
        for parameter in signature.parameters.values() if name != "table_exists" else ():
            if (
                parameter.name not in ("connection", "filters", "scope")
                and parameter.default is inspect.Parameter.empty
            ):
                assert parameter.name in PARAMETER_VALUES, (
                    f"add values for {name}({parameter.name}) to PARAMETER_VALUES"
                )


def test_every_page_query_gives_org_a_the_same_answer_without_org_b(connections, homes):
    last_day = (
        connections["with_b"]
        .execute("select max(day) from marts.agg_usage_daily where org_id = ?", [ORG_A])
        .fetchone()[0]
    )
    filters = [Filters(), Filters(start=last_day - timedelta(days=29), end=last_day)]
    compared = 0
    for name, signature in page_queries().items():
        if "scope" not in signature.parameters:
            continue
        function = getattr(queries, name)
        for label, chosen, kwargs in _calls(name, signature, filters):
            results = {}
            for home, connection in connections.items():
                args = (connection, chosen, SCOPE_A) if chosen is not None else (connection, SCOPE_A)
                results[home] = function(*args, **kwargs)
            assert_same(results["with_b"], results["without_b"], homes, label)
            compared += 1
    assert compared > 60
    non_empty = queries.ml_table(connections["with_b"], SCOPE_A, "anomalies")
    assert len(non_empty) > 0 and set(non_empty["org_id"]) == {ORG_A}  # the ML comparison compared real rows


def _template_questions() -> list[str]:
    """One question per metric × dimension the offline parser can answer, plus time, top-N and trend forms."""
    first_word = {}
    for word, column in metrics.dimension_words().items():
        first_word.setdefault(column, word)
    questions = []
    for metric in metrics.askable_metrics().values():
        word = metric.synonyms[0]
        questions.append(f"{word} this month")
        questions.append(f"{word} this month vs last month")
        questions.append(f"daily {word} trend over the last 30 days")
        for column in sorted(metrics.table_dimensions(metric.table)):
            dimension = first_word[column]
            questions.append(f"{word} by {dimension}")
            questions.append(f"top 3 {dimension}s by {word} last month")
    return questions


def _without_ties_at_the_cut(rows: pd.DataFrame) -> pd.DataFrame:
    """A top-N answer without the rows whose value equals the last row's (any of those may have made the cut)."""
    if rows.empty:
        return rows
    values = rows[rows.columns[-1]].astype(float)
    return rows[~np.isclose(values, values.iloc[-1], rtol=FLOAT_TOLERANCE["rtol"], atol=FLOAT_TOLERANCE["atol"])]


def test_every_offline_question_gives_org_a_the_same_answer_without_org_b(homes, connections):
    from aioa.ask import ask

    questions = _template_questions()
    assert len(questions) > 80
    answered = 0
    settings = {name: Settings(home=home) for name, (home, _) in homes.items()}  # once: each reads env and .env
    for question in questions:
        results = {
            name: ask(question, SCOPE_A, connection=connections[name], settings=settings[name]) for name in homes
        }
        left, right = results["with_b"], results["without_b"]
        assert (left.answered, left.refused, left.reason, left.answer, left.sql) == (
            right.answered,
            right.refused,
            right.reason,
            right.answer,
            right.sql,
        ), question
        if left.sql and " limit " in left.sql:  # top-N: which of the rows tied at the cut comes first is arbitrary
            value = left.rows.columns[-1]
            assert_same(left.rows[[value]], right.rows[[value]], homes, question)
            assert_same(_without_ties_at_the_cut(left.rows), _without_ties_at_the_cut(right.rows), homes, question)
        else:
            assert_same(left.rows, right.rows, homes, question)
        answered += left.answered
    assert answered >= len(questions) * 0.9  # the comparison is of answers, not of refusals


def test_a_scoped_reader_gets_no_global_rows_and_operators_get_them(connections):
    for table in sorted(GLOBAL_TABLES):
        assert queries.ml_table(connections["with_b"], TenantScope.all_orgs(), table).shape[0] == 1
        assert queries.ml_table(connections["with_b"], SCOPE_A, table).empty
    assert not queries.latest_quality_checks(connections["with_b"], TenantScope.all_orgs()).empty
    assert queries.latest_quality_checks(connections["with_b"], SCOPE_A).empty
    everything = queries.quarantined_input(connections["with_b"], TenantScope.all_orgs())
    own = queries.quarantined_input(connections["with_b"], SCOPE_A)
    assert set(own["org_id"]) == {ORG_A} and len(own) < len(everything)
    # a line whose org is unknown (a line of a file that mixes orgs) is for operators only
    assert everything["org_id"].isna().any() and not own["org_id"].isna().any()


def test_the_quarantine_command_takes_a_scope(homes, monkeypatch):
    from typer.testing import CliRunner

    from aioa.cli import app

    monkeypatch.setenv("AIOA_HOME", str(homes["with_b"][0]))
    scoped = CliRunner().invoke(app, ["quarantine", "--org", ORG_A, "--json", "--limit", "1000"])
    everything = CliRunner().invoke(app, ["quarantine", "--json", "--limit", "1000"])
    assert scoped.exit_code == 0 and everything.exit_code == 0
    scoped_rows, all_rows = json.loads(scoped.stdout), json.loads(everything.stdout)
    assert {row["org_id"] for row in scoped_rows} == {ORG_A}
    assert len(scoped_rows) == sum(row["org_id"] == ORG_A for row in all_rows) < len(all_rows)


# --- one project name in two orgs -------------------------------------------------------------------------------

SHARED_PROJECT_CONFIG = {
    "orgs": [{"id": "north", "name": "North"}, {"id": "south", "name": "South"}],
    "users": [
        {"id": "nina", "org": "north", "match": {"config_dirs": ["nina/.claude"]}},
        {"id": "sam", "org": "south", "match": {"config_dirs": ["sam/.claude"]}},
    ],
    "projects": [
        {"id": "api", "org": "north", "group": "north-platform", "match": {"cwd": ["/home/nina/src/api*"]}},
        {"id": "api", "org": "south", "group": "south-shop", "match": {"cwd": ["/home/sam/src/api*"]}},
    ],
}


@pytest.fixture(scope="module")
def shared_project_home(tmp_path_factory) -> Path:
    """Two orgs that each have a project `api`: North's three calls cost more than South's one."""
    root = tmp_path_factory.mktemp("shared-project")
    for user, outputs in (("nina", (4000, 3000, 2000)), ("sam", (100,))):
        cwd = f"/home/{user}/src/api"
        write_jsonl(
            root / user / ".claude" / "projects" / f"-home-{user}-src-api" / "session.jsonl",
            [
                assistant(
                    f"msg_{user}_{index}",
                    f"req_{user}_{index}",
                    output=output,
                    cwd=cwd,
                    session=f"{user}-s1",
                    ts=f"2026-03-02T10:0{index}:00.000Z",
                )
                for index, output in enumerate(outputs)
            ],
        )
    home = root / "home"
    home.mkdir()
    (home / "attribution.yaml").write_text(yaml.safe_dump(SHARED_PROJECT_CONFIG))
    # the pipeline's steps that make the marts (ingest, `dbt build`, publish) without the Dagster run and the
    # quality suites around them, which this test does not read: 14 instead of 34 CPU-s
    settings = Settings(home=home)
    ingest(ClaudeCodeSource(), [root / "nina" / ".claude", root / "sam" / ".claude"], settings, publish=False)
    built = run_dbt(settings, "build")
    assert built.ok, built.log_tail
    publish_snapshot(settings)
    return home


def test_a_project_name_shared_by_two_orgs_keeps_their_costs_apart(shared_project_home):
    connection, _ = open_snapshot(Settings(home=shared_project_home))
    with connection:
        own = dict(
            connection.execute(
                "select org_id, sum(cost_usd) from marts.fct_llm_calls where project_id = 'api' group by 1"
            ).fetchall()
        )
        assert set(own) == {"north", "south"} and own["north"] > 10 * own["south"] > 0
        projects = connection.execute(
            "select org_id, project_group, lifetime_cost_usd, lifetime_tokens, is_configured from marts.dim_projects "
            "where project_id = 'api' order by org_id"
        ).fetchall()
        assert [(org, group, configured) for org, group, _, _, configured in projects] == [
            ("north", "north-platform", True),
            ("south", "south-shop", True),
        ]
        assert [cost for _, _, cost, _, _ in projects] == pytest.approx([own["north"], own["south"]], rel=1e-12)
        groups = connection.execute(
            "select distinct org_id, project_group from marts.fct_llm_calls order by 1"
        ).fetchall()
        assert groups == [("north", "north-platform"), ("south", "south-shop")]
        models = connection.execute("select org_id, model, calls from marts.dim_models order by 1").fetchall()
        assert models == [("north", "claude-opus-4-6", 3), ("south", "claude-opus-4-6", 1)]

        for org in ("north", "south"):
            overview = queries.projects_overview(connection, Filters(), TenantScope.for_orgs(org))
            assert overview[["org_id", "project_group", "project_id", "calls"]].values.tolist() == [
                [org, f"{org}-platform" if org == "north" else "south-shop", "api", 3 if org == "north" else 1]
            ]
            assert overview["cost_usd"].iloc[0] == pytest.approx(own[org], rel=1e-12)
            assert overview["lifetime_cost_usd"].iloc[0] == pytest.approx(own[org], rel=1e-12)
            lifecycle = queries.project_lifecycle(connection, Filters(), TenantScope.for_orgs(org))
            assert lifecycle[["org_id", "project_id", "life_week"]].values.tolist() == [[org, "api", 0]]
            assert lifecycle["cost_usd"].sum() == pytest.approx(own[org], rel=1e-12)
        both = queries.projects_overview(connection, Filters(), TenantScope.all_orgs())
        assert both[["org_id", "project_id"]].values.tolist() == [["north", "api"], ["south", "api"]]
        assert both["cost_usd"].tolist() == pytest.approx([own["north"], own["south"]], rel=1e-12)
