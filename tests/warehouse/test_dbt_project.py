"""The dbt project's hand-written YAML documents every model and column it builds, and its docs build."""

from __future__ import annotations

import duckdb

from aioa.warehouse.dbt import project_yaml
from aioa.warehouse.dbt.runner import run_dbt, target_path
from tests.warehouse.conftest import copy_home


def test_yaml_documents_exactly_the_models_and_columns_the_project_builds(built_home):
    """Each model's YAML (next to its SQL) lists the columns the built model has, each with a description: a
    column added to a model's SQL fails here until someone describes it."""
    undocumented, stale = [], []
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as connection:
        for layer in project_yaml.LAYERS:
            declared = {model["name"]: model for model in project_yaml.models(layer)}
            built = sorted(path.stem for path in (project_yaml.MODELS_DIR / layer).glob("*.sql"))
            assert sorted(declared) == built, f"{layer}: a model without YAML or YAML without a model"
            for name, model in declared.items():
                columns = [
                    row[0]
                    for row in connection.execute(
                        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                        "order by ordinal_position",
                        [layer, name],
                    ).fetchall()
                ]
                described = {column["name"] for column in model["columns"] if column["description"]}
                assert model["description"], name
                undocumented += [f"{name}.{column}" for column in columns if column not in described]
                stale += [f"{name}.{column['name']}" for column in model["columns"] if column["name"] not in columns]
    assert undocumented == [] and stale == []


def test_docs_generate_and_semantic_layer_parse(built_home, tmp_path):
    settings = copy_home(built_home, tmp_path)
    result = run_dbt(settings, "docs", "generate")
    assert result.ok, result.log_tail
    import json

    catalog = json.loads((target_path(settings) / "catalog.json").read_text())
    manifest = json.loads((target_path(settings) / "manifest.json").read_text())
    assert "model.aioa.agg_usage_daily" in catalog["nodes"]
    metrics = {node["name"] for node in manifest["metrics"].values()}
    assert {"spend", "tokens", "calls", "cache_hit_rate", "error_rate", "handoff_success_rate", "savings"} <= metrics
    undocumented = [
        f"{node['name']}.{column}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for column, spec in node["columns"].items()
        if not spec.get("description")
    ]
    assert undocumented == []


def test_every_model_column_carries_its_description_in_the_warehouse(built_home):
    """persist_docs (with the project's one-loop DuckDB column-comment macro) puts each description on the column."""
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as connection:
        rows = connection.execute("""
            select schema_name, table_name, column_name, comment from duckdb_columns()
            where schema_name in ('staging', 'intermediate', 'marts')
        """).fetchall()
        tables = connection.execute("""
            select table_name, comment from duckdb_tables() where schema_name = 'marts'
            union all select view_name, comment from duckdb_views() where schema_name in ('staging', 'intermediate')
        """).fetchall()
    assert len(rows) > 400
    assert [(schema, table, column) for schema, table, column, comment in rows if not comment] == []
    comments = {(table, column): comment for _, table, column, comment in rows}
    assert comments[("agg_usage_daily", "calls")] == project_yaml.doc_blocks()["calls"]  # the docs block, rendered
    assert [table for table, comment in tables if not comment] == []


def test_value_rules_fail_exactly_the_models_with_nulls_or_out_of_range_values(built_home, tmp_path):
    """Not-null and range rules are one test per model; each failing row names its column."""
    settings = copy_home(built_home, tmp_path)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute(
            "update marts.fct_handoffs set propensity = 1.5 "
            "where handoff_id = (select min(handoff_id) from marts.fct_handoffs)"
        )
        connection.execute(
            "update marts.agg_usage_daily set cache_read_tokens = -1 "
            "where usage_key = (select min(usage_key) from marts.agg_usage_daily)"
        )
        connection.execute(
            "update marts.fct_tool_calls set tool_name = null, org_id = null "
            "where tool_call_key in (select tool_call_key from marts.fct_tool_calls limit 3)"
        )
    result = run_dbt(settings, "test", "--select", "test_name:non_negative", "test_name:not_null_columns")
    assert not result.ok
    failed = {item["node"].split(".")[2]: item["message"] for item in result.failures}
    assert sorted(failed) == ["non_negative_agg_usage_daily", "non_negative_fct_handoffs", "not_null_fct_tool_calls"]
    assert "Got 2 results" in failed["not_null_fct_tool_calls"]  # two columns hold NULLs
    assert "Got 1 result" in failed["non_negative_fct_handoffs"]
    assert result.counts["fail"] == 3 and result.counts["pass"] >= 18
