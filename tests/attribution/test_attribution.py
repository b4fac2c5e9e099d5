"""Attribution: users, config dirs, homes and cwd globs map to org, team, user and project; the rest is visible."""

from __future__ import annotations

import duckdb

from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.runner import ingest
from tests.ingest.transcripts import assistant, write_jsonl

CONFIG = """
default_org: unmapped
orgs:
  - id: acme
    name: Acme
    monthly_budget_usd: 5000
    teams: [{id: acme-platform, name: Platform}, {id: acme-web}]
  - id: globex
    teams: [{id: globex-data}]
users:
  - id: alice
    org: acme
    team: acme-platform
    match: {homes: [/home/alice]}
  - id: bob
    org: globex
    team: globex-data
    match: {config_dirs: [bob/.claude]}
projects:
  - id: checkout-api
    org: acme
    team: acme-web
    group: checkout
    match: {cwd: ["*/checkout-api", "*/checkout-api/*", "*/checkout-api-worktrees/*"]}
  - id: checkout-web
    org: acme
    group: checkout
    match: {cwd: ["*/checkout-web*"]}
"""


def test_rules_map_rows_and_unmapped_usage_goes_to_the_default_org(settings, tmp_path):
    settings.home.mkdir(parents=True)
    (settings.home / "attribution.yaml").write_text(CONFIG)
    alice, bob, carol = (tmp_path / name / ".claude" for name in ("alice", "bob", "carol"))
    write_jsonl(
        alice / "projects" / "x" / "s1.jsonl",
        [
            assistant("m1", "r1", output=1, cwd="/home/alice/src/checkout-api/services/tax"),
            assistant("m2", "r2", output=1, cwd="/home/alice/src/checkout-api-worktrees/fix-vat"),
            assistant("m3", "r3", output=1, cwd="/home/alice/src/checkout-web"),
        ],
    )
    write_jsonl(
        bob / "projects" / "y" / "s2.jsonl",
        [assistant("m4", "r4", output=1, session="s2", cwd="/srv/work/checkout-api")],
    )
    write_jsonl(
        carol / "projects" / "z" / "s3.jsonl", [assistant("m5", "r5", output=1, session="s3", cwd="/home/carol/hobby")]
    )
    ingest(ClaudeCodeSource(), [alice, bob, carol], settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        rows = connection.execute(
            "select message_id, org_id, team_id, user_id, project_id from raw.llm_calls order by 1"
        ).fetchall()
        groups = connection.execute("select project_id, project_group from raw.projects order by 1").fetchall()
        orgs = connection.execute("select org_id, monthly_budget_usd from raw.orgs order by 1").fetchall()
    assert rows == [
        ("m1", "acme", "acme-platform", "alice", "checkout-api"),
        ("m2", "acme", "acme-platform", "alice", "checkout-api"),
        ("m3", "acme", "acme-platform", "alice", "checkout-web"),
        ("m4", "globex", "globex-data", "bob", "checkout-api"),  # the user's org wins over the project's
        ("m5", "unmapped", None, "carol", "hobby"),
    ]
    assert groups == [("checkout-api", "checkout"), ("checkout-web", "checkout")]
    assert [org for org, _ in orgs] == ["acme", "globex", "unmapped"]
