"""An org's own attribution rules (tenant settings `attribution`) name users and projects in its rows: applied by the
ingest through the attribution module, and only to rows of files bound to that org (its API inbox), so the same
names in another org's bound files or in unbound files are never claimed."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from aioa.ingest.handoffs import SCHEMA_V1
from aioa.ingest.registry import BY_NAME
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from aioa.tenants.settings_doc import update_tenant_settings


def _handoff_file(folder: Path, prefix: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "batch.jsonl"
    lines = [
        {
            "schema": SCHEMA_V1,
            "handoff_id": f"{prefix}-{number}",
            "ts": "2026-11-01T10:00:00Z",
            "task_id": f"{prefix}-task-{number}",
            "target_model": "claude-haiku-4-5",
            "user_id": "ext-dev-7",
            "project_id": "skunkworks",
            "success": True,
        }
        for number in range(3)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_an_orgs_rules_name_its_bound_rows_and_claim_nobody_elses(billing_home: Settings, tmp_path: Path):
    home = billing_home.home
    folders = {
        "acme": home / "inbox" / "acme" / "handoffs",  # bound to acme (the API's inbox)
        "globex": home / "inbox" / "globex" / "handoffs",  # bound to globex
        "unbound": tmp_path / "elsewhere",
    }
    for name, folder in folders.items():
        _handoff_file(folder, name)
    update_tenant_settings(
        billing_home,
        "acme",
        {
            "attribution": {
                "users": [{"id": "dana", "team": "acme-web", "match": {"names": ["ext-dev-7"]}}],
                "projects": [{"id": "skunk", "team": "acme-web", "match": {"names": ["skunkworks"]}}],
            }
        },
        actor="operator",
    )
    ingest(BY_NAME["handoffs"].source(), list(folders.values()), billing_home, publish=False)

    with duckdb.connect(str(billing_home.warehouse_path), read_only=True) as connection:
        rows = connection.execute(
            "select split_part(handoff_id, '-', 1), org_id, team_id, user_id, project_id from raw.handoffs "
            "where user_id in ('dana', 'ext-dev-7') or project_id in ('skunk', 'skunkworks') group by all"
        ).fetchall()
    assert sorted(rows) == sorted(
        [
            ("acme", "acme", "acme-web", "dana", "skunk"),
            ("globex", "globex", None, "ext-dev-7", "skunkworks"),
            ("unbound", billing_home.default_org, None, "ext-dev-7", "skunkworks"),
        ]
    )
