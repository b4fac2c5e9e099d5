"""docs/data-contracts.md is rendered from the code; it must not drift. (The dbt sources are hand-written and checked
against the contracts in tests/warehouse/test_dbt_yaml.py.)"""

from aioa.contracts import ALL_CONTRACTS
from aioa.contracts_doc import DOC_PATH, render
from aioa.warehouse import connect
from aioa.warehouse.schema import RAW_SCHEMA


def test_contract_doc_is_up_to_date():
    assert DOC_PATH.read_text() == render(), "run `uv run python -m aioa.contracts_doc`"


def test_tables_follow_the_contracts(settings):
    with connect(settings) as connection:
        for contract in ALL_CONTRACTS:
            columns = [
                row[0]
                for row in connection.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [RAW_SCHEMA, contract.table],
                ).fetchall()
            ]
            assert columns == contract.column_names
