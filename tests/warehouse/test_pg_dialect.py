"""The readers' DuckDB SQL rewritten for PostgreSQL (server mode): constructs PostgreSQL 15 lacks or reads
differently, the schema prefix, and parameters that stay bound (`$name` and `?`), with a literal % kept literal."""

from __future__ import annotations

import pytest

from aioa.warehouse.pg_dialect import NotTranslatable, to_postgres


@pytest.mark.parametrize(
    ("duckdb", "postgres"),
    [
        (
            "select org_id, model, sum(cost_usd) from marts.agg_usage_daily "
            "where list_contains($scope_org_ids, org_id) group by all",
            "SELECT org_id, model, SUM(cost_usd) FROM p_marts.agg_usage_daily "
            "WHERE org_id = ANY(%(scope_org_ids)s) GROUP BY 1, 2",
        ),
        (
            "select arg_min(source_file, detected_at) from raw.quarantine where $all_orgs",
            "SELECT (ARRAY_AGG(source_file ORDER BY detected_at ASC))[1] FROM p_raw.quarantine WHERE %(all_orgs)s",
        ),
        (
            "select date_diff('week', first_day, day) from marts.x where model like '%opus%' and day = ?",
            "SELECT (CAST(day AS DATE) - CAST(first_day AS DATE)) / 7 FROM p_marts.x "
            "WHERE model LIKE '%%opus%%' AND day = %s",
        ),
        (
            "select time_bucket(interval 15 minutes, ts_utc) from raw.llm_calls",
            "SELECT DATE_BIN(INTERVAL '15 MINUTES', ts_utc, CAST('2000-01-03 00:00:00' AS TIMESTAMP)) "
            "FROM p_raw.llm_calls",
        ),
        (
            "select k, list(struct_pack(model := model, calls := calls) order by calls desc) from t group by k",
            "SELECT k, JSON_AGG(JSON_BUILD_OBJECT('model', model, 'calls', calls) ORDER BY calls DESC NULLS LAST) "
            "FROM t GROUP BY k",
        ),
    ],
)
def test_rewrites(duckdb, postgres):
    assert to_postgres(duckdb, "p_") == postgres


def test_window_aggregates_do_not_join_the_group_by():
    sql = to_postgres("select tool, sum(calls) / sum(sum(calls)) over () from marts.t group by all")
    assert sql.endswith("GROUP BY 1")


def test_the_catalog_is_seen_without_the_prefix():
    sql = to_postgres("select count(*) from information_schema.tables where table_schema = ? and table_name = ?", "p_")
    assert "STARTS_WITH(table_schema, 'p_')" in sql and "SUBSTRING(table_schema FROM 3) AS table_schema" in sql
    assert sql.endswith("WHERE table_schema = %s AND table_name = %s")
    with pytest.raises(NotTranslatable):
        to_postgres("select * from information_schema.routines", "p_")
