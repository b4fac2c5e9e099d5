"""The hand-written dbt YAML agrees with the event contracts (src/aioa/contracts.py): the raw sources declare every
contract table and column under the contract's names, each contract key has a unique test (on the source and on the
mart built from it), and the contract's required columns are in the mart's `not_null_<model>` test. The YAML is
written by people; these checks replace the generator that used to write it."""

from __future__ import annotations

import copy

import duckdb
import pytest

from aioa.contracts import ALL_CONTRACTS, Contract
from aioa.warehouse.dbt import project_yaml

CONTRACTS = {contract.table: contract for contract in ALL_CONTRACTS}
# Raw tables the readers keep for bookkeeping: not event contracts (their DDL is in aioa.warehouse.schema).
BOOKKEEPING = {"ingest_runs", "model_prices", "quarantine"}
# The mart that holds one row per contract row (same key, same column names where it keeps a column).
MARTS = {
    "llm_calls": "fct_llm_calls",
    "tool_calls": "fct_tool_calls",
    "handoffs": "fct_handoffs",
    "orgs": "dim_orgs",
    "teams": "dim_teams",
    "users": "dim_users",
    "projects": "dim_projects",
}
# Required contract columns a mart keeps but may leave NULL, and why.
NULLABLE_IN_MART: dict[str, str] = {}


def _tests(entry: dict) -> list:
    return entry.get("data_tests", []) or []


def _named_test(entry: dict, kind: str, name: str) -> dict | None:
    """The arguments of the table-level test `kind` called `name` (e.g. not_null_columns / not_null_<model>)."""
    for test in _tests(entry):
        if isinstance(test, dict) and kind in test and test[kind].get("name") == name:
            return test[kind].get("arguments", {})
    return None


def _key_problems(where: str, entry: dict, key: tuple[str, ...], unique_test_name: str) -> list[str]:
    if len(key) == 1:
        columns = {column["name"]: column for column in entry.get("columns", [])}
        if "unique" not in _tests(columns.get(key[0], {})):
            return [f"{where}: key {key[0]} has no unique test"]
        return []
    arguments = _named_test(entry, "unique_combination", unique_test_name)
    if arguments is None or list(arguments.get("columns", [])) != list(key):
        return [f"{where}: key ({', '.join(key)}) has no unique_combination test {unique_test_name}"]
    return []


def source_problems(tables: list[dict], contracts: dict[str, Contract]) -> list[str]:
    """Every way `__sources.yml` departs from the contracts (empty when it follows them)."""
    problems = []
    declared = {table["name"]: table for table in tables}
    problems += [
        f"raw.{name}: a contract table missing from __sources.yml" for name in contracts if name not in declared
    ]
    problems += [
        f"raw.{name}: in __sources.yml but neither a contract nor a bookkeeping table"
        for name in declared
        if name not in contracts and name not in BOOKKEEPING
    ]
    for name, contract in contracts.items():
        if name not in declared:
            continue
        table = declared[name]
        columns = [column["name"] for column in table.get("columns", [])]
        problems += [
            f"raw.{name}.{column}: in the contract, not in __sources.yml"
            for column in contract.column_names
            if column not in columns
        ]
        problems += [
            f"raw.{name}.{column}: in __sources.yml, not in the contract"
            for column in columns
            if column not in contract.column_names
        ]
        if columns != contract.column_names and set(columns) == set(contract.column_names):
            problems.append(f"raw.{name}: columns listed in another order than the contract's")
        problems += [
            f"raw.{name}.{column['name']}: no description"
            for column in table.get("columns", [])
            if not column["description"]
        ]
        problems += _key_problems(f"raw.{name}", table, contract.key, f"unique_key_raw_{name}")
    return problems


def mart_problems(models: dict[str, dict], contracts: dict[str, Contract]) -> list[str]:
    """Keys unique and required contract columns in `not_null_<model>`, for each mart built from a contract."""
    problems = []
    for table, mart in MARTS.items():
        if mart not in models:
            problems.append(f"{mart}: the mart of raw.{table} has no YAML")
            continue
        model, contract = models[mart], contracts[table]
        problems += _key_problems(mart, model, contract.key, f"unique_key_{mart}")
        columns = {column["name"] for column in model.get("columns", [])}
        not_null = set((_named_test(model, "not_null_columns", f"not_null_{mart}") or {}).get("columns", []))
        problems += [
            f"{mart}.{column.name}: required by the contract, not in not_null_{mart}"
            for column in contract.columns
            if not column.nullable
            and column.name in columns
            and column.name not in not_null
            and f"{mart}.{column.name}" not in NULLABLE_IN_MART
        ]
    return problems


@pytest.fixture(scope="module")
def models() -> dict[str, dict]:
    return {model["name"]: model for layer in project_yaml.LAYERS for model in project_yaml.models(layer)}


def test_sources_follow_the_contracts():
    assert source_problems(project_yaml.source_tables(), CONTRACTS) == []


def test_marts_test_the_contract_keys_and_required_columns(models):
    assert mart_problems(models, CONTRACTS) == []


def test_every_staging_model_and_column_is_documented(models):
    """Each raw contract table has its staging model, whose YAML describes the model and every column."""
    for table in CONTRACTS:
        model = models[f"stg_raw__{table}"]
        assert model["description"], model["name"]
        assert [column["name"] for column in model["columns"] if not column["description"]] == [], model["name"]


def test_every_staging_model_documents_the_contract_columns_it_exposes(built_home, models):
    """The built staging view of each contract table: every contract column it exposes is described in its YAML."""
    with duckdb.connect(str(built_home / "warehouse.duckdb"), read_only=True) as connection:
        for table, contract in CONTRACTS.items():
            model = f"stg_raw__{table}"
            exposed = {
                row[0]
                for row in connection.execute(
                    "select column_name from information_schema.columns where table_schema = 'staging' "
                    "and table_name = ?",
                    [model],
                ).fetchall()
            } & set(contract.column_names)
            described = {column["name"] for column in models[model]["columns"] if column["description"]}
            assert exposed, model
            assert sorted(exposed - described) == [], model


def test_a_departure_from_the_contracts_is_reported(models):
    tables = copy.deepcopy(project_yaml.source_tables())
    llm_calls = next(table for table in tables if table["name"] == "llm_calls")
    llm_calls["columns"] = [column for column in llm_calls["columns"] if column["name"] != "cost_usd"]
    llm_calls["columns"][0]["data_tests"] = []  # call_key loses its unique test
    llm_calls["columns"].append({"name": "costs_usd", "description": "typo"})
    projects = next(table for table in tables if table["name"] == "projects")
    projects["data_tests"] = []
    assert sorted(source_problems(tables, CONTRACTS)) == [
        "raw.llm_calls.cost_usd: in the contract, not in __sources.yml",
        "raw.llm_calls.costs_usd: in __sources.yml, not in the contract",
        "raw.llm_calls: key call_key has no unique test",
        "raw.projects: key (org_id, project_id) has no unique_combination test unique_key_raw_projects",
    ]
    altered = copy.deepcopy(models)
    not_null = _named_test(altered["fct_handoffs"], "not_null_columns", "not_null_fct_handoffs")
    not_null["columns"] = [column for column in not_null["columns"] if column != "target_model"]
    altered["dim_projects"]["data_tests"] = [
        test for test in altered["dim_projects"]["data_tests"] if "unique_combination" not in test
    ]
    assert sorted(mart_problems(altered, CONTRACTS)) == [
        "dim_projects: key (org_id, project_id) has no unique_combination test unique_key_dim_projects",
        "fct_handoffs.target_model: required by the contract, not in not_null_fct_handoffs",
    ]


def test_every_doc_reference_names_a_docs_block():
    """A `{{ doc('…') }}` naming no block fails dbt's parse; here it fails in a second, with the name."""
    for layer in project_yaml.LAYERS:
        project_yaml.models(layer)  # raises KeyError naming the missing block
    project_yaml.source_tables()
    assert len(project_yaml.doc_blocks()) > 50
