"""Running SQL one statement per call: constant scripts from our own package, and single bound statements.

DuckDB's `execute` runs every statement in the string it is given, so text that carries more than one statement
is a way to smuggle a second one. Scripts we ship (`.sql` files, DDL constants) are split here and run statement
by statement; anything else goes through `execute_one`, which refuses a second statement and takes values as
bound parameters only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

Params = Sequence[object] | Mapping[str, object] | None


class MultipleStatementsError(ValueError):
    """Raised when text given to `execute_one` holds more (or fewer) than one statement."""


def execute_script(connection: duckdb.DuckDBPyConnection, script: str) -> None:
    """Run a trusted constant script (our own `.sql` file or DDL constant) one statement at a time."""
    for statement in connection.extract_statements(script):
        connection.execute(statement)


def execute_one(connection: duckdb.DuckDBPyConnection, sql: str, params: Params = None) -> duckdb.DuckDBPyConnection:
    """Run exactly one statement with bound `params`; text with zero or several statements is refused."""
    statements = connection.extract_statements(sql)
    if len(statements) != 1:
        raise MultipleStatementsError(f"expected exactly one SQL statement, got {len(statements)}")
    return connection.execute(statements[0], params) if params is not None else connection.execute(statements[0])


def sql_string(value: str) -> str:
    """`value` as a SQL string literal, for the few places DuckDB takes no bound parameter (ATTACH's path)."""
    return "'" + value.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier (a database alias such as `warehouse-20261130T…Z`)."""
    return '"' + name.replace('"', '""') + '"'
