"""Renders docs/data-contracts.md from the contracts (run `python -m aioa.contracts_doc` after changing them).

The dbt sources (`dbt_project/models/staging/__sources.yml`) are written by hand; tests/warehouse/test_dbt_yaml.py
checks them against the same contracts."""

from __future__ import annotations

import sys
from pathlib import Path

from aioa.contracts import ALL_CONTRACTS, CONTRACT_VERSION
from aioa.settings import PROJECT_ROOT

DOC_PATH = PROJECT_ROOT / "docs" / "data-contracts.md"
INTRO = Path(__file__).with_name("contracts_intro.md")


def render() -> str:
    parts = [INTRO.read_text().replace("{version}", CONTRACT_VERSION)]
    for contract in ALL_CONTRACTS:
        parts.append(f"\n## `{contract.name}` → `raw.{contract.table}` (v{contract.version})\n")
        parts.append(f"{contract.description} Key: `{', '.join(contract.key)}`.\n")
        parts.append("| column | type | required | meaning |\n| --- | --- | --- | --- |")
        parts += [
            f"| `{column.name}` | {column.sql_type} | {'' if column.nullable else 'yes'} | {column.description} |"
            for column in contract.columns
        ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    DOC_PATH.write_text(render())
    sys.stdout.write(f"wrote {DOC_PATH}\n")
