"""docs/data-contracts.md is rendered from the code; it must not drift."""

from aioa.contracts import ALL_CONTRACTS
from aioa.contracts_doc import DBT_SOURCES_PATH, DOC_PATH, render, render_dbt_sources
from aioa.warehouse import connect
from aioa.warehouse.schema import RAW_SCHEMA


def test_contract_doc_is_up_to_date():
    assert DOC_PATH.read_text() == render(), "run `uv run python -m aioa.contracts_doc`"
    assert DBT_SOURCES_PATH.read_text() == render_dbt_sources(), "run `uv run python -m aioa.contracts_doc`"


def test_tables_follow_the_contracts(settings):
    with connect(settings) as connection:
        for contract in ALL_CONTRACTS:
            columns = [row[0] for row in connection.execute(
                "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                "order by ordinal_position", [RAW_SCHEMA, contract.table]).fetchall()]
            assert columns == contract.column_names
