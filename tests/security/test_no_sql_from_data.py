"""No SQL built from data: every SQL text handed to a database entry point is a constant or a reviewed template.

The checker reads the code with `ast` and reports each call of a SQL entry point (`execute`, `sql`, `query`,
`read_sql`, ...) whose SQL argument is formatted: an f-string, `%` on a string, `.format(...)`, or a `+` with a
non-constant part. It follows a name to its assignments in the same function or module, and a call to a function
of the same module to what that function returns. Each site found must be in ALLOWED with the reason it only
interpolates constants from our own code (contract columns, schema or table names from a registry); a site that
interpolates data (paths, file contents, headers, questions, org ids, URL parameters) must bind it instead.
"""

from __future__ import annotations

import ast
import functools

import duckdb

from aioa.settings import PROJECT_ROOT

SCANNED = ("src", "apps", "ml", "orchestration")
# Database entry points -> position of the SQL argument (`execute_one(connection, sql, params)`: second).
SQL_SINKS = {
    "execute": 0,
    "executemany": 0,
    "sql": 0,
    "query": 0,
    "from_query": 0,
    "read_sql": 0,
    "read_sql_query": 0,
    "exec_driver_sql": 0,
    "execute_one": 1,
    "execute_script": 1,
}
SQL_KEYWORDS = {"sql", "query", "statement", "operation"}

# "path:function" -> why the formatted SQL there only carries constants from our own code. Reviewed by hand;
# a new site fails the test until it binds its values or is reviewed and added here.
_QUERIES = "dimension columns from the DIMENSIONS registry, `where()` clauses whose values are bound `$` parameters"
_PG = "schema from the postgres_schema_prefix setting (validated as a plain identifier), tables and columns from contracts"
ALLOWED: dict[str, str] = {
    "src/aioa/archive/snapshot.py:archived_ranges": "only the tenant filter fragment; org ids bound",
    "src/aioa/ingest/runner.py:_restore_threads": "an int (cast) the run read from DuckDB's own `threads` setting",
    **{
        f"src/aioa/archive/{site}": "tables, keys, day expressions and folders from ARCHIVED_TABLES (a fixed map in "
        "aioa.archive.store); cutoffs, orgs and file URLs bound ($orgs, $files, a registered Arrow table)"
        for site in (
            "run.py:_move",
            "run.py:archive_run",
            "run.py:archived_files_for_stage",
            "run.py:restore_archived_raw",
            "run.py:rewrite_archived",
            "snapshot.py:add_archive_to_snapshot",
            "snapshot.py:snapshot_to_warehouse",
            "snapshot.py:write_archive_views",
        )
    },
    **{
        f"src/aioa/archive/{site}": "the encryption options from aioa.archive.store (constants naming the key, "
        "never the key); the archive file bound ($file); the fresh file's URL our own (.rekey/ and a uuid), quoted "
        "with sql_string"
        for site in ("rekey.py:_readable", "rekey.py:_rewrite")
    },
    "src/aioa/warehouse/encryption.py:add_archive_key": "PRAGMA takes no bound parameter: the key's name is a "
    "constant quoted with sql_string; the derived key is bound into a variable (set variable … = ?) and read with "
    "getvariable, never pasted",
    **{
        site: "ATTACH takes no bound parameter in DuckDB 1.5: the file path is a setting or our own file name, quoted "
        "with sql_string; aliases are constants quoted with sql_identifier; the key is bound into a variable "
        "(set variable … = ?) and read with getvariable, never pasted"
        for site in (
            "ml/anomalies/measure.py:build_dataset",
            "src/aioa/warehouse/dbt/duckdb_encryption.py:Plugin.configure_connection",
            "src/aioa/warehouse/dbt/duckdb_encryption.py:Plugin.configure_cursor",
            "src/aioa/warehouse/encryption.py:AttachedConnection.cursor",
            "src/aioa/warehouse/encryption.py:attach",
            "src/aioa/warehouse/encryption.py:is_encrypted",
            "src/aioa/warehouse/encryption.py:open_database",
        )
    },
    "src/aioa/warehouse/rekey.py:_compare_counts": "schema and table names from the attached file's own catalog "
    "(duckdb_tables), quoted with sql_identifier",
    "src/aioa/privacy/export.py:_archived_rows": "the BY_PAIRS constant; archive file URLs bound ($files)",
    "src/aioa/integrations/cli.py:costs_command": "mart and label columns from COST_TABLES (a literal map), the "
    "tenant_filter fragment; org ids and the limit bound",
    "src/aioa/recommendations/data.py:read_inputs": _QUERIES
    + " (analytics.filters.where, tenant_filter); the short-call "
    "limit bound",
    "src/aioa/analytics/drilldown.py:calls_behind": _QUERIES + "; drill columns from DRILL_COLUMNS (a literal map), "
    "drill values, page size and offset bound",
    "src/aioa/analytics/behaviour.py:active_hours": _QUERIES + "; member column from MEMBER_COLUMNS, its id bound",
    "src/aioa/analytics/behaviour.py:behaviour_by": _QUERIES + "; member column from MEMBER_COLUMNS (a literal map)",
    "src/aioa/analytics/behaviour.py:models_used": _QUERIES + "; member column from MEMBER_COLUMNS (a literal map)",
    "src/aioa/analytics/behaviour.py:tools_used": _QUERIES + "; member column from MEMBER_COLUMNS (a literal map)",
    "src/aioa/analytics/behaviour.py:project_phases": _QUERIES,
    "src/aioa/analytics/behaviour.py:workflow_patterns": _QUERIES + "; kind, lengths, thresholds and limit bound",
    "src/aioa/analytics/compare.py:session_costs": _QUERIES + "; group column from GROUP_COLUMNS, its values bound",
    "src/aioa/analytics/kpi_formula.py:kpi_values": _QUERIES + "; metric SQL, names and marts from the metrics "
    "registry (a formula's names are checked against it by parse_formula)",
    "src/aioa/analytics/queries.py:filter_options": _QUERIES,
    "src/aioa/analytics/queries.py:kpis": _QUERIES + "; measures from the metrics registry, periods bound",
    "src/aioa/analytics/queries.py:spend_by": _QUERIES,
    "src/aioa/analytics/queries.py:handoff_task_types": "only the tenant filter fragment; org ids bound",
    "src/aioa/analytics/queries.py:daily_usage": _QUERIES,
    "src/aioa/analytics/queries.py:detail_calls": _QUERIES + "; drill value and limit bound",
    "src/aioa/analytics/queries.py:projects_overview": _QUERIES,
    "src/aioa/analytics/queries.py:project_lifecycle": _QUERIES,
    "src/aioa/analytics/queries.py:sessions_timeline": _QUERIES + "; limit bound",
    "src/aioa/analytics/queries.py:handoff_summary": _QUERIES,
    "src/aioa/analytics/queries.py:mcp_tools": _QUERIES,
    "src/aioa/analytics/queries.py:quarantined_input": "TenantScope.filter_sql fragment with bound org ids; limit bound",
    "src/aioa/analytics/queries.py:quarantine_reasons": "TenantScope.filter_sql fragment with bound org ids",
    "src/aioa/analytics/queries.py:recent_model_usage": "TenantScope.filter_sql fragment with bound org ids; days bound",
    "src/aioa/analytics/queries.py:spend_vs_budget": _QUERIES,
    "src/aioa/analytics/queries.py:token_mix": _QUERIES,
    "src/aioa/ask/service.py:_latest_day": "TenantScope.filter_sql fragment: a constant with the org ids bound",
    "src/aioa/ask/service.py:_known_values": "columns from a literal tuple; tenant fragment with bound org ids",
    "src/aioa/attribution/apply.py:attribute_rows": "stage_<table> with the table from the source class's `tables`",
    "src/aioa/attribution/apply.py:_bind_files": "stage_<table> from attribute_rows; file paths and orgs bound "
    "through an Arrow table",
    "src/aioa/attribution/apply.py:sync_entities": "entity table names and `?` placeholders from a literal tuple",
    "src/aioa/ingest/handoffs.py:HandoffLogSource.stage": "field names and JSON structure from the V1/legacy "
    "contract constants of the module",
    "src/aioa/ingest/merge.py:merge_staged": "table, key, columns and completeness rules from MERGE_RULES/contracts",
    "src/aioa/ingest/merge.py:_reject_foreign_keys": "table and key from MERGE_RULES; the reason is bound",
    "src/aioa/ingest/quarantine.py:store_quarantine": "stage_<table> names from the source class's `tables`",
    "src/aioa/mcp/usage.py:servers_in_transcripts": "only the tenant_filter fragment (org/team/user ids bound)",
    "src/aioa/mcp/usage.py:tool_performance": _QUERIES
    + "; group columns from a literal tuple, the relation a constant",
    "src/aioa/mcp/usage.py:tool_recommendations": "the relation a module constant; tenant_filter fragment, ids bound",
    "src/aioa/pricing/apply.py:apply_prices": "table is a stage table name from the runner; BUCKET and cost "
    "expressions are module constants; provider/model bound",
    "src/aioa/pricing/apply.py:_cost_pending": "table from apply_prices (a stage or raw table name from our code); "
    "the org filter is a constant fragment with the org bound; BUCKET and the cost update are module constants",
    "src/aioa/quality/gate.py:failed_error_checks": "schema placeholder filled with the constant 'quality'",
    "src/aioa/rules/queries.py:last_day": "only the where() fragment of the filters layer; org ids bound",
    "src/aioa/rules/queries.py:metric_by_day": _QUERIES + "; measures from the metrics registry, group columns "
    "from the registry's dimensions (rules.spec.USAGE_DIMENSIONS), dates bound",
    "src/aioa/rules/queries.py:latency_p95": _QUERIES + "; group columns from rules.spec.USAGE_DIMENSIONS",
    "src/aioa/rules/queries.py:quarantine_counts": "TenantScope.filter_sql fragments with bound org ids; since bound",
    "src/aioa/reports/usage.py:usage_report": "key and measures from REPORT_KINDS/_MEASURES, the `<synthetic>` rule "
    "from the dbt macro file (constant text); tenant, dates, time zone bound",
    "src/aioa/tenants/billing.py:billing_rows": "the constant _EXPORT template with the TenantScope.filter_sql "
    "fragment (org ids bound) and the constant _PERIOD (month bounds bound)",
    "src/aioa/warehouse/ml_tables.py:write_ml_tables": "table names checked against the ML_TABLES registry",
    "src/aioa/warehouse/ml_tables.py:scoped_ml_table": "table checked against ML_TABLES; tenant filter bound",
    "src/aioa/warehouse/ml_tables.py:_write_postgres": _PG,
    "src/aioa/warehouse/postgres.py:ensure_pg_schema": _PG,
    "src/aioa/warehouse/postgres.py:sync_raw_to_postgres": _PG,
    "src/aioa/warehouse/postgres.py:_upsert": _PG + "; the where clause is a constant of the caller",
    "src/aioa/warehouse/postgres.py:_replace": _PG,
    "src/aioa/warehouse/postgres.py:_ensure_month_partitions": _PG + "; the staging table from _upsert; partition "
    "names through psycopg2.sql.Identifier, month bounds bound",
    "src/aioa/warehouse/pg_reader.py:publish_postgres": _PG + "; the version is bound",
    "src/aioa/warehouse/session.py:DuckDBSession.frame": "schema placeholders filled with constant schema names; "
    "callers pass suite SQL constants",
    "src/aioa/warehouse/session.py:DuckDBSession.store_check_results": "RESULTS_COLUMNS constant; rows bound",
    "src/aioa/warehouse/session.py:PostgresSession.frame": _PG,
    "src/aioa/warehouse/session.py:PostgresSession.store_check_results": _PG + "; RESULTS_COLUMNS constant, rows bound",
    "ml/anomalies/data.py:usage": "table and period expression chosen between two literals by grain",
    "ml/anomalies/data.py:sessions": "period expression from the PERIOD constant dict",
    "ml/routing/decisions.py:read_decisions": "column types from the COLUMNS constant; the folder glob is bound",
    "orchestration/defs/ingest/assets.py:raw_tables": "table names from the RAW_TABLE_SPECS asset keys (constants)",
    "src/aioa/privacy/delete.py:_marts_hold": "table names from MART_TABLES and _MARTS_WITH_SESSIONS; the person's "
    "pairs registered (Arrow), their tokens bound ($pattern)",
    "src/aioa/privacy/delete.py:_source_files": "fact tables from the contracts; the person's pairs registered (Arrow)",
    "src/aioa/privacy/export.py:subject_rows": "table names from the contracts, MART_TABLES and the ML_TABLES registry; "
    "where clauses are module constants with $pattern/$email bound and the pairs registered (Arrow)",
    "src/aioa/privacy/subjects.py:resolve_subject": "_STORED_IDS: fact tables from the contracts; the email bound",
    "src/aioa/privacy/server.py:server_holds": "table names and where clauses from export's selections (contracts, "
    "MART_TABLES, ML_TABLES, module constants); $pattern/$email bound, the pairs in a temporary table",
    **{
        f"src/aioa/privacy/server.py:{site}": "composed with psycopg2.sql: the temporary table's name and columns "
        "(constants of aioa.privacy.export) and the vacuumed tables (the prefix setting, tables from the contracts "
        "and the ML_TABLES registry) as sql.Identifier; the pairs' values bound"
        for site in ("ServerConnection.register", "ServerConnection.unregister", "vacuum_full")
    },
    "src/aioa/warehouse/postgres.py:replace_org_rows": _PG + "; the orgs bound ($orgs in DuckDB, %s in PostgreSQL)",
}


def formatted_sql_sites(source: str, path: str, sinks: dict[str, int] | None = None) -> list[str]:
    """`path:function` of each SQL call whose SQL argument is formatted (see the module docstring).

    `sinks` maps the names of our own wrappers (`_frame(connection, sql, params)`) to the position of their SQL
    parameter; `sql_sinks` finds them."""
    tree = ast.parse(source)
    sinks = {**SQL_SINKS, **(sinks if sinks is not None else sql_sinks([tree]))}
    module_assignments = _assignments(tree.body)
    module_functions = {
        node.name: node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    sites: list[str] = []

    def visit(node: ast.AST, scope: str, assignments: dict[str, list[ast.expr]]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = child.name if scope == "<module>" else f"{scope}.{child.name}"
                inner = assignments
                if not isinstance(child, ast.ClassDef):
                    inner = {**module_assignments, **_assignments(list(ast.walk(child)))}
                visit(child, name, inner)
                continue
            if isinstance(child, ast.Call):
                argument = _sql_argument(child, sinks)
                if argument is not None and _formatted(argument, assignments, module_functions, set()):
                    sites.append(f"{path}:{scope}")
            visit(child, scope, assignments)

    visit(tree, "<module>", module_assignments)
    return list(dict.fromkeys(sites))


def sql_sinks(trees: list[ast.Module]) -> dict[str, int]:
    """Our own functions that pass one of their parameters on as SQL, by name -> position of that parameter."""
    sinks = dict(SQL_SINKS)
    functions = [
        node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    changed = True
    while changed:  # a wrapper of a wrapper is a sink too
        changed = False
        for function in functions:
            parameters = [argument.arg for argument in function.args.posonlyargs + function.args.args]
            if parameters[:1] in (["self"], ["cls"]):
                parameters = parameters[1:]
            for call in ast.walk(function):
                if not isinstance(call, ast.Call):
                    continue
                base = _sql_base(_sql_argument(call, sinks))
                if isinstance(base, ast.Name) and base.id in parameters and function.name not in sinks:
                    sinks[function.name] = parameters.index(base.id)
                    changed = True
    return sinks


def _assignments(nodes: list[ast.AST]) -> dict[str, list[ast.expr]]:
    found: dict[str, list[ast.expr]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name) and node.value:
            value = node.value
            if isinstance(node, ast.AugAssign):  # `sql += x` is a concatenation
                value = ast.BinOp(ast.Name(node.target.id), ast.Add(), node.value)
            found.setdefault(node.target.id, []).append(value)
    return found


def _sql_base(argument: ast.expr | None) -> ast.expr | None:
    """The template an argument is made from: `sql` in `sql`, `sql.format(...)`, `sql % x`, `sql + x`."""
    if isinstance(argument, ast.Call) and isinstance(argument.func, ast.Attribute) and argument.func.attr == "format":
        return argument.func.value
    if isinstance(argument, ast.BinOp):
        return argument.left
    return argument


def _sql_argument(call: ast.Call, sinks: dict[str, int]) -> ast.expr | None:
    """The SQL argument of a call to an entry point or one of our wrappers, else None."""
    if isinstance(call.func, ast.Attribute):
        name = call.func.attr
    elif isinstance(call.func, ast.Name) and call.func.id not in ("execute", "sql", "query"):
        name = call.func.id  # a bare `query(...)` is some other function; `.query(...)` is a database's
    else:
        return None
    if name not in sinks:
        return None
    for keyword in call.keywords:
        if keyword.arg in SQL_KEYWORDS:
            return keyword.value
    position = sinks[name]
    return call.args[position] if len(call.args) > position else None


def _formatted(node: ast.expr, assignments, functions, seen: set[str]) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _is_text(node.left, assignments) or _formatted(node.left, assignments, functions, seen)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return not (_constant_text(node.left, assignments, seen) and _constant_text(node.right, assignments, seen))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        return True
    if isinstance(node, ast.Name) and node.id not in seen:
        return any(
            _formatted(value, assignments, functions, seen | {node.id}) for value in assignments.get(node.id, [])
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
        function = functions[node.func.id]
        if function.name in seen:
            return False
        local = {**assignments, **_assignments(list(ast.walk(function)))}
        return any(
            isinstance(returned, ast.Return)
            and returned.value is not None
            and _formatted(returned.value, local, functions, seen | {function.name})
            for returned in ast.walk(function)
        )
    if isinstance(node, ast.IfExp):
        return any(_formatted(branch, assignments, functions, seen) for branch in (node.body, node.orelse))
    return False


def _is_text(node: ast.expr, assignments) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or isinstance(node, ast.JoinedStr)


def _constant_text(node: ast.expr, assignments, seen: set[str]) -> bool:
    """A string literal, or a concatenation / module constant made only of string literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _constant_text(node.left, assignments, seen) and _constant_text(node.right, assignments, seen)
    if isinstance(node, ast.Name) and node.id not in seen and node.id in assignments:
        return all(_constant_text(value, assignments, seen | {node.id}) for value in assignments[node.id])
    return False


def _sources() -> dict[str, str]:
    return {
        path.relative_to(PROJECT_ROOT).as_posix(): path.read_text()
        for folder in SCANNED
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
    }


@functools.cache
def scan_repository() -> list[str]:
    files = _sources()
    sinks = sql_sinks([ast.parse(source) for source in files.values()])
    return [site for relative, source in files.items() for site in formatted_sql_sites(source, relative, sinks)]


def test_no_sql_is_formatted_outside_the_reviewed_sites():
    found = scan_repository()
    unreviewed = sorted(set(found) - set(ALLOWED))
    assert not unreviewed, (
        "SQL text formatted from values: bind them as parameters (or build through Arrow / relations); "
        "if a site only pastes constants from our own code, review it and add it to ALLOWED:\n  "
        + "\n  ".join(unreviewed)
    )


def test_every_allowed_site_still_exists():
    stale = sorted(set(ALLOWED) - set(scan_repository()))
    assert not stale, f"ALLOWED names sites that no longer format SQL; remove them: {stale}"


def constant_sql_with_several_statements(source: str, path: str) -> list[str]:
    """`path:line` of each `execute`-like call given a constant SQL text that holds more or fewer than one statement
    (a script must go through `execute_script`, which runs it statement by statement)."""
    tree = ast.parse(source)
    module_assignments = _assignments(tree.body)
    sinks = {name: position for name, position in SQL_SINKS.items() if name not in ("execute_script", "read_sql")}
    parser = _parser()
    found = []
    for scope in [tree, *(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef))]:
        assignments = (
            module_assignments if scope is tree else {**module_assignments, **_assignments(list(ast.walk(scope)))}
        )
        for call in ast.walk(scope):
            argument = _sql_argument(call, sinks) if isinstance(call, ast.Call) else None
            text = _constant_value(argument, assignments, ()) if argument is not None else None
            if text is None:
                continue
            try:
                count = len(parser.extract_statements(text))
            except duckdb.ParserException:
                continue  # not DuckDB SQL (PostgreSQL DDL through psycopg): one statement per call there already
            if count != 1:
                found.append(f"{path}:{call.lineno}")
    return sorted(set(found))


@functools.cache
def _parser() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


def _constant_value(node: ast.expr, assignments, seen: tuple[str, ...]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _constant_value(node.left, assignments, seen), _constant_value(node.right, assignments, seen)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.Name) and node.id not in seen and len(assignments.get(node.id, [])) == 1:
        return _constant_value(assignments[node.id][0], assignments, (*seen, node.id))
    return None


def test_constant_sql_runs_one_statement_per_call():
    several = [
        site
        for relative, source in _sources().items()
        for site in constant_sql_with_several_statements(source, relative)
    ]
    assert not several, f"run multi-statement scripts with aioa.warehouse.sql.execute_script: {several}"


def test_the_checker_reports_several_statements():
    sample = '''
SCRIPT = """create table a (x int); create table b (y int);"""
ONE = "select 1"

def run(connection):
    connection.execute(SCRIPT)
    connection.execute(ONE)
    connection.execute("select 1; select 2")
    execute_script(connection, SCRIPT)
'''
    assert constant_sql_with_several_statements(sample, "sample.py") == ["sample.py:6", "sample.py:8"]


def test_the_checker_reports_formatted_sql():
    sample = """
import duckdb
TABLE = "raw.handoffs"
SAFE = "select 1 " + "from t"

def by_fstring(connection, org):
    connection.execute(f"select * from raw.llm_calls where org_id = '{org}'")

def by_percent(cursor, path):
    cursor.execute("select * from read_csv('%s')" % path)

def by_format(connection, name):
    connection.sql("select {}".format(name))

def by_concat(connection, header):
    connection.execute("select " + header + " from t")

def by_variable(connection, question):
    sql = f"select '{question}'"
    connection.execute(sql)

def by_helper(connection, value):
    connection.execute(_build(value))

def _build(value):
    return f"select {value}"

def by_augmented(connection, value):
    sql = "select "
    sql += value
    connection.execute(sql)

class Reader:
    def run(self, value):
        self.connection.query("select %s" % value)

def _frame(connection, sql, params):
    return connection.cursor().execute(sql, params).df()

def by_wrapper(connection, dimension):
    return _frame(connection, f"select {dimension} from t", {})

def bound(connection, org):
    connection.execute("select * from raw.llm_calls where org_id = ?", [org])
    connection.execute(SAFE)
    connection.execute("select " "1")
"""
    assert formatted_sql_sites(sample, "sample.py") == [
        "sample.py:by_fstring",
        "sample.py:by_percent",
        "sample.py:by_format",
        "sample.py:by_concat",
        "sample.py:by_variable",
        "sample.py:by_helper",
        "sample.py:by_augmented",
        "sample.py:Reader.run",
        "sample.py:by_wrapper",
    ]
