"""Trusted sources: where a file lies decides its org, not the names written inside it.

An attribution config can bind ingest locations to an org (`orgs[].sources`). A line in a bound file that names a
user or project of another org stays in the bound org and is flagged; every other org's totals are unchanged. Tool
results carry the org of their transcript, so a hostile transcript cannot complete another org's tool call.
"""

from __future__ import annotations

import duckdb
import pytest
from pydantic import ValidationError

from aioa.attribution import AttributionConfig
from aioa.doctor import run_checks
from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.handoffs import HandoffLogSource
from aioa.ingest.otel import OtelSource
from aioa.ingest.runner import ingest
from aioa.warehouse import connect
from tests.ingest.test_handoffs import v1
from tests.ingest.transcripts import append_jsonl, assistant, tool_result, tool_use, write_jsonl
from tests.security.test_tenant_identity import CONFIG, configure, mallory_session, quarantine, query, spans, totals


def bound(config: str, org: str, system: str, *paths) -> str:
    listed = ", ".join(str(path) for path in paths)
    return config.replace(
        f"  - id: {org}\n", f"  - id: {org}\n    sources: [{{system: {system}, paths: [{listed}]}}]\n"
    )


HANDOFF_TOTALS = "select org_id, count(*), sum(cost_usd)::double from raw.handoffs group by org_id order by org_id"


# --- bound locations ---------------------------------------------------------------------------------------------


def test_a_bound_otel_folder_naming_another_orgs_user_stays_in_its_org_and_is_flagged(settings, tmp_path):
    collector = tmp_path / "acme-collector"
    configure(settings, bound(CONFIG, "acme", "otel", collector))
    # the victims: initech's olga exports through a shared, unbound folder; globex's mallory runs Claude Code
    shared = tmp_path / "otel-shared"
    shared.mkdir()
    (shared / "olga.jsonl").write_text(spans(user="olga", output_tokens=40, span=1) + "\n")
    ingest(OtelSource(), [shared], settings)
    ingest(
        ClaudeCodeSource(),
        [
            mallory_session(
                tmp_path, [assistant("msg_m1", "req_m1", output=10, input_tokens=5, cwd="/home/mallory/src/shop")]
            )
        ],
        settings,
    )
    before = totals(settings)
    assert before == {"globex": (1, 15, before["globex"][2]), "initech": (1, 1_040, before["initech"][2])}

    collector.mkdir()
    (collector / "spoof.jsonl").write_text(
        "\n".join(
            [
                spans(user="mallory", output_tokens=9_000, span=10),  # globex's user
                spans(user="olga", org="initech", output_tokens=9_000, span=11),  # initech's user, and its org named
                spans(user="alice", output_tokens=60, span=12),  # acme's own user: no flag
                spans(user="nobody", output_tokens=60, span=13),  # nobody known: the raw name, no flag
            ]
        )
        + "\n"
    )
    summary = ingest(OtelSource(), [collector], settings)

    after = totals(settings)
    assert {org: after[org] for org in before} == before
    assert after["acme"][:2] == (4, 4 * 1_000 + 2 * 9_000 + 2 * 60)
    assert query(
        settings, "select source_line, org_id, user_id from raw.llm_calls where org_id = 'acme' order by source_line"
    ) == [(1, "acme", "unknown"), (2, "acme", "unknown"), (3, "acme", "alice"), (4, "acme", "nobody")]
    path = str(collector / "spoof.jsonl")
    assert quarantine(settings, "flagged") == [
        (path, 1, "user claim 'mallory' belongs to org 'globex', file bound to 'acme'; attributed to 'acme'"),
        (path, 2, "org claim 'initech' does not match org 'acme' the file is bound to; attributed to 'acme'"),
        (path, 2, "user claim 'olga' belongs to org 'initech', file bound to 'acme'; attributed to 'acme'"),
    ]
    assert summary.flagged == 3
    # the same lines in an unbound folder are matched by name (today's behaviour): the binding is what makes
    # attribution tamper-proof
    (shared / "spoof.jsonl").write_text(spans(user="mallory", output_tokens=7, span=20) + "\n")
    ingest(OtelSource(), [shared], settings)
    assert query(
        settings, "select org_id, user_id from raw.llm_calls where source_file like '%otel-shared/spoof%'"
    ) == [("globex", "mallory")]


def test_a_bound_org_claim_beats_an_org_that_trusts_the_source(settings, tmp_path):
    collector = tmp_path / "initech-collector"
    config = bound(CONFIG, "initech", "otel", f"{tmp_path}/initech-*")
    configure(settings, config.replace("  - id: acme\n", "  - id: acme\n    accept_claims_from: [otel]\n"))
    collector.mkdir()
    (collector / "a.jsonl").write_text(spans(user="olga", org="acme", span=1) + "\n")
    ingest(OtelSource(), [collector], settings)
    assert query(settings, "select org_id, user_id, team_id from raw.llm_calls") == [
        ("initech", "olga", "initech-core")
    ]
    assert [reason for *_, reason in quarantine(settings, "flagged")] == [
        "org claim 'acme' does not match org 'initech' the file is bound to; attributed to 'initech'"
    ]


def test_a_bound_handoff_folder_naming_another_orgs_user_and_project_stays_in_its_org(settings, tmp_path):
    logs = tmp_path / "initech-handoffs"
    configure(
        settings,
        bound(CONFIG, "initech", "handoff_log", logs)
        + """
projects:
  - {id: shop, org: acme, match: {names: [shop]}}
""",
    )
    victim = tmp_path / "acme-handoffs"
    write_jsonl(victim / "a.jsonl", [v1("h1", user_id="alice", cost_usd=0.5)])
    ingest(HandoffLogSource(), [victim], settings)
    before = query(settings, HANDOFF_TOTALS)
    assert before == [("acme", 1, 0.5)]

    write_jsonl(
        logs / "b.jsonl",
        [
            v1("h2", user_id="alice", project_id="shop", cost_usd=99.0),
            v1("h3", user_id="olga", project_id="ledger", cost_usd=1.0),
        ],
    )
    ingest(HandoffLogSource(), [logs], settings)
    assert query(settings, HANDOFF_TOTALS) == before + [("initech", 2, 100.0)]
    assert query(settings, "select handoff_id, org_id, user_id, project_id from raw.handoffs order by 1") == [
        ("h1", "acme", "alice", "shop"),
        ("h2", "initech", "unknown", "shop"),
        ("h3", "initech", "olga", "ledger"),
    ]
    path = str(logs / "b.jsonl")
    assert quarantine(settings, "flagged") == [
        (path, 1, "project claim 'shop' belongs to org 'acme', file bound to 'initech'; attributed to 'initech'"),
        (path, 1, "user claim 'alice' belongs to org 'acme', file bound to 'initech'; attributed to 'initech'"),
    ]


def test_a_bound_claude_config_dir_keeps_its_org_whatever_cwd_its_lines_name(settings, tmp_path):
    mallory = tmp_path / "mallory" / ".claude"
    # mallory's dir is known only by its binding (no config_dirs rule): the line's cwd names alice's home
    configure(settings, bound(CONFIG.replace("config_dirs: [mallory/.claude], ", ""), "globex", "claude_code", mallory))
    write_jsonl(
        mallory / "projects" / "shop" / "s.jsonl", [assistant("msg_1", "req_1", output=5, cwd="/home/alice/src/shop")]
    )
    ingest(ClaudeCodeSource(), [mallory], settings)
    assert query(settings, "select org_id, user_id from raw.llm_calls") == [("globex", "unknown")]
    assert [reason for *_, reason in quarantine(settings, "flagged")] == [
        "user claim 'alice' belongs to org 'acme', file bound to 'globex'; attributed to 'globex'"
    ]


def test_the_most_specific_binding_wins(settings, tmp_path):
    config = bound(CONFIG, "acme", "otel", tmp_path)
    configure(settings, bound(config, "globex", "otel", tmp_path / "otel" / "globex"))
    (tmp_path / "otel" / "globex").mkdir(parents=True)
    (tmp_path / "otel" / "a.jsonl").write_text(spans(user=None, span=1) + "\n")
    (tmp_path / "otel" / "globex" / "b.jsonl").write_text(spans(user=None, span=2) + "\n")
    ingest(OtelSource(), [tmp_path / "otel"], settings)
    assert query(settings, "select org_id from raw.llm_calls order by source_file") == [("acme",), ("globex",)]


def test_config_rejects_relative_and_doubly_bound_paths():
    with pytest.raises(ValidationError, match="absolute"):
        AttributionConfig.model_validate(
            {"orgs": [{"id": "acme", "sources": [{"system": "otel", "paths": ["logs/otel"]}]}]}
        )
    with pytest.raises(ValidationError, match="bound to both"):
        AttributionConfig.model_validate(
            {
                "orgs": [
                    {"id": "acme", "sources": [{"system": "otel", "paths": ["/var/log/otel/"]}]},
                    {"id": "globex", "sources": [{"system": "otel", "paths": ["/var/log/otel"]}]},
                ]
            }
        )
    with pytest.raises(ValidationError):
        AttributionConfig.model_validate(
            {"orgs": [{"id": "acme", "sources": [{"system": "routing_outcomes", "paths": ["/x"]}]}]}
        )


def test_doctor_warns_when_several_orgs_read_unbound_otel_or_handoff_logs(settings, tmp_path):
    configure(settings)
    check = next(check for check in run_checks(settings)[0] if check.name == "trusted sources")
    assert check.status == "warn" and "otel, handoff_log" in check.detail and "sources" in check.fix
    config = bound(CONFIG, "acme", "otel", tmp_path / "acme-otel")
    configure(settings, bound(config, "globex", "handoff_log", tmp_path / "globex-handoffs"))
    check = next(check for check in run_checks(settings)[0] if check.name == "trusted sources")
    assert check.status == "ok"


# --- tool results ------------------------------------------------------------------------------------------------


def alice_call(tmp_path):
    config_dir = tmp_path / "alice" / ".claude"
    path = write_jsonl(
        config_dir / "projects" / "shop" / "s1.jsonl",
        [
            assistant(
                "msg_a1",
                "req_a1",
                output=200,
                cwd="/home/alice/src/shop",
                ts="2026-03-02T10:00:00.000Z",
                content=[tool_use("toolu_a1", "Read", file_path="x.py")],
            )
        ],
    )
    return config_dir, path


TOOL_CALL = "select org_id, tool_use_id, success, error, duration_ms from raw.tool_calls order by all"


def test_a_hostile_tool_result_cannot_complete_another_orgs_tool_call(settings, tmp_path):
    configure(settings)
    alice, transcript = alice_call(tmp_path)
    ingest(ClaudeCodeSource(), [alice], settings)  # alice's call is still running: no result yet
    assert query(settings, TOOL_CALL) == [("acme", "toolu_a1", None, None, None)]

    mallory = mallory_session(
        tmp_path, [tool_result("toolu_a1", is_error=True, ts="2026-03-02T10:00:01.000Z", cwd="/home/mallory/src/shop")]
    )
    ingest(ClaudeCodeSource(), [alice, mallory], settings)
    assert query(settings, TOOL_CALL) == [("acme", "toolu_a1", None, None, None)]

    append_jsonl(transcript, [tool_result("toolu_a1", ts="2026-03-02T10:00:02.500Z", cwd="/home/alice/src/shop")])
    ingest(ClaudeCodeSource(), [alice, mallory], settings)
    assert query(settings, TOOL_CALL) == [("acme", "toolu_a1", True, None, 2_500)]
    assert query(settings, "select org_id, tool_call_key, success from raw.tool_results order by all") == [
        ("acme", "claude_code:toolu_a1", True),
        ("globex", "claude_code:toolu_a1", False),
    ]


def test_a_hostile_tool_result_in_the_same_batch_with_a_later_timestamp_does_not_hide_the_real_one(settings, tmp_path):
    configure(settings)
    alice, transcript = alice_call(tmp_path)
    append_jsonl(transcript, [tool_result("toolu_a1", ts="2026-03-02T10:00:03.000Z", cwd="/home/alice/src/shop")])
    mallory = mallory_session(
        tmp_path, [tool_result("toolu_a1", is_error=True, ts="2026-03-02T11:00:00.000Z", cwd="/home/mallory/src/shop")]
    )
    ingest(ClaudeCodeSource(), [alice, mallory], settings)  # one batch
    assert query(settings, TOOL_CALL) == [("acme", "toolu_a1", True, None, 3_000)]


def test_tool_results_of_a_warehouse_made_before_they_carried_an_org_gain_the_column(settings):
    settings.home.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as old:
        old.execute(
            "create schema raw; create table raw.tool_results (tool_call_key varchar not null, "
            "result_ts_utc timestamp, success boolean, error varchar)"
        )
        old.execute("insert into raw.tool_results values ('claude_code:toolu_x', null, true, null)")
    connect(settings).close()
    assert query(settings, "select tool_call_key, success, org_id from raw.tool_results") == [
        ("claude_code:toolu_x", True, None)
    ]
