"""`mcp_names(name)` (src/aioa/ingest/sql/macros.sql): the server, tool and plugin of an MCP tool name, NULLs for
other tools; a plugin's server is usually named like the plugin, otherwise the plugin part splits at its first `_`."""

from __future__ import annotations

import duckdb
import pytest

from aioa.ingest.sources import read_sql
from aioa.warehouse.sql import execute_script

CASES = [
    ("Read", (None, None, None)),
    ("mcp__", (None, None, None)),
    ("mcp__github", (None, None, None)),
    ("mcp__github__create_issue", ("github", "create_issue", None)),
    ("mcp__github__a__b", ("github", "a__b", None)),
    ("mcp__plugin_context7_context7__get-library-docs", ("context7", "get-library-docs", "context7")),
    ("mcp__plugin_acme_linear_sync__list_issues", ("linear_sync", "list_issues", "acme")),
    ("mcp__plugin_solo__run", ("solo", "run", "solo")),
    ("mcp__plugin_ab_ab__t", ("ab", "t", "ab")),
    ("mcp__plugin_aa_a__t", ("a", "t", "aa")),
    (None, (None, None, None)),
]


@pytest.fixture(scope="module")
def connection():
    with duckdb.connect() as connection:
        execute_script(connection, read_sql("macros.sql"))
        yield connection


@pytest.mark.parametrize(("name", "expected"), CASES)
def test_mcp_names(connection, name, expected):
    found = connection.execute(
        "select m.server, m.tool, m.plugin from (select mcp_names($name::varchar) as m)", {"name": name}
    ).fetchone()
    assert found == expected
