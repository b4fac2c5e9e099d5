"""One statement per call: scripts of our own run statement by statement, anything else must be one statement."""

from __future__ import annotations

import duckdb
import pytest

from aioa.warehouse.sql import MultipleStatementsError, execute_one, execute_script


def test_a_script_runs_statement_by_statement():
    connection = duckdb.connect()
    execute_script(
        connection,
        """
        -- a comment; with a semicolon
        create table t (x varchar);
        insert into t values ('a;b'), ('c');
        create temp macro twice(v) as v || v;
    """,
    )
    assert connection.execute("select twice(x) from t order by x").fetchall() == [("a;ba;b",), ("cc",)]


def test_execute_one_binds_values_and_refuses_a_second_statement():
    connection = duckdb.connect()
    connection.execute("create table t (x varchar)")
    execute_one(connection, "insert into t values (?)", ["'); drop table t; --"])
    assert execute_one(connection, "select x from t").fetchall() == [("'); drop table t; --",)]
    assert execute_one(connection, "select $v::int + 1", {"v": 41}).fetchone() == (42,)
    for text in ("select 1; drop table t", "select 1; select 2;", "-- nothing"):
        with pytest.raises(MultipleStatementsError):
            execute_one(connection, text)
    assert connection.execute("select count(*) from t").fetchone() == (1,)
