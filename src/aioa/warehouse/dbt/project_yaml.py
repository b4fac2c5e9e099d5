"""Reads the dbt project's hand-written YAML (one file per model, `staging/__sources.yml`) with each
`{{ doc('…') }}` reference replaced by its `{% docs %}` block from `models/*.md`: the Ask page's schema context and
the tests that compare the YAML with the event contracts read the project through here."""

from __future__ import annotations

import re
from functools import cache

import yaml

from aioa.warehouse.dbt.runner import DBT_PROJECT_DIR

MODELS_DIR = DBT_PROJECT_DIR / "models"
SOURCES_PATH = MODELS_DIR / "staging" / "__sources.yml"
LAYERS = ("staging", "intermediate", "marts")
_DOCS_BLOCK = re.compile(r"{%-?\s*docs\s+(\w+)\s*-?%}(.*?){%-?\s*enddocs\s*-?%}", re.S)
_DOC_REFERENCE = re.compile(r"""{{\s*doc\(\s*['"](\w+)['"]\s*\)\s*}}""")


@cache
def doc_blocks() -> dict[str, str]:
    """Every `{% docs name %}` block of the project's Markdown files, by name (text stripped)."""
    blocks: dict[str, str] = {}
    for path in sorted(MODELS_DIR.rglob("*.md")):
        for name, text in _DOCS_BLOCK.findall(path.read_text()):
            blocks[name] = text.strip()
    return blocks


def render(description: str | None) -> str:
    """A YAML description with its doc references replaced (KeyError for a block that does not exist)."""
    return _DOC_REFERENCE.sub(lambda match: doc_blocks()[match.group(1)], description or "").strip()


def _rendered(entry: dict) -> dict:
    entry = dict(entry)
    entry["description"] = render(entry.get("description"))
    if "columns" in entry:
        entry["columns"] = [_rendered(column) for column in entry["columns"]]
    return entry


def models(layer: str) -> list[dict]:
    """The models of one layer (`staging`, `intermediate`, `marts`) as their YAML declares them, by name."""
    found = []
    for path in sorted((MODELS_DIR / layer).glob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        found += [_rendered(model) for model in document.get("models", [])]
    return sorted(found, key=lambda model: model["name"])


def source_tables() -> list[dict]:
    """The raw tables `__sources.yml` declares (source `raw`)."""
    (source,) = yaml.safe_load(SOURCES_PATH.read_text())["sources"]
    return [_rendered(table) for table in source["tables"]]
