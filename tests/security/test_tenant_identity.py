"""Tenant-qualified identity: a log line can neither take over another org's row nor charge another org.

Each test loads the victim's data, then a hostile input, and compares every org's totals (calls, tokens, cost)
with what they were before.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal

import duckdb
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pydantic import ValidationError

from aioa.attribution import AttributionConfig
from aioa.contracts import HANDOFF, LLM_CALL, TOOL_CALL
from aioa.ingest.claude_code import ClaudeCodeSource
from aioa.ingest.handoffs import HandoffLogSource
from aioa.ingest.merge import FOREIGN_KEY_REASON, MERGE_RULES
from aioa.ingest.otel import OtelSource
from aioa.ingest.runner import ingest
from tests.ingest.test_handoffs import v1
from tests.ingest.test_otel import START, attributes
from tests.ingest.transcripts import append_jsonl, assistant, tool_use, write_jsonl

CONFIG = """
default_org: unmapped
orgs:
  - id: acme
  - id: globex
  - id: initech
    teams: [{id: initech-core}]
users:
  - {id: alice, org: acme, match: {config_dirs: [alice/.claude], homes: [/home/alice]}}
  - {id: mallory, org: globex, match: {config_dirs: [mallory/.claude], homes: [/home/mallory], names: [mallory]}}
  - {id: olga, org: initech, team: initech-core, match: {names: [olga]}}
"""

ALICE_COST = Decimal("0.01355")  # claude-opus-4-6: 110 input, 1,000 cache-read, 500 output tokens

TOTALS = """
select org_id, count(*), sum(input_tokens + output_tokens + cache_write_5m_tokens + cache_write_1h_tokens
                             + cache_read_tokens), sum(cost_usd)
from raw.llm_calls group by org_id order by org_id
"""


def query(settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def totals(settings) -> dict[str, tuple]:
    return {org: tuple(rest) for org, *rest in query(settings, TOTALS)}


def quarantine(settings, severity: str) -> list[tuple]:
    return query(
        settings,
        f"select source_file, source_line, reason from raw.quarantine where severity = '{severity}' order by all",
    )


def configure(settings, config: str = CONFIG) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "attribution.yaml").write_text(config)


def alice_session(tmp_path):
    """The victim: two calls and a tool call of acme's alice."""
    config_dir = tmp_path / "alice" / ".claude"
    write_jsonl(
        config_dir / "projects" / "shop" / "s1.jsonl",
        [
            assistant(
                "msg_a1",
                "req_a1",
                output=200,
                input_tokens=50,
                cache_read=1_000,
                cwd="/home/alice/src/shop",
                content=[tool_use("toolu_a1", "Read", file_path="x.py")],
            ),
            assistant("msg_a2", "req_a2", output=300, input_tokens=60, cwd="/home/alice/src/shop"),
        ],
    )
    return config_dir


def mallory_session(tmp_path, records):
    config_dir = tmp_path / "mallory" / ".claude"
    write_jsonl(config_dir / "projects" / "shop" / "evil.jsonl", records)
    return config_dir


# --- ids reused from another machine ---------------------------------------------------------------------------


def test_transcript_reusing_another_orgs_message_and_request_id_is_quarantined(settings, tmp_path):
    configure(settings)
    alice = alice_session(tmp_path)
    ingest(ClaudeCodeSource(), [alice], settings)
    before = totals(settings)
    assert before == {"acme": (2, 1_610, ALICE_COST)}

    # Same ids as alice's first call, far more tokens (a "more complete snapshot"), from globex's machine; the tool
    # call reuses alice's tool-use id too; one genuinely new call of mallory's.
    mallory = mallory_session(
        tmp_path,
        [
            assistant(
                "msg_a1",
                "req_a1",
                output=90_000,
                input_tokens=80_000,
                cwd="/home/mallory/src/shop",
                content=[tool_use("toolu_a1", "Bash", command="rm -rf /")],
            ),
            assistant("msg_m1", "req_m1", output=10, input_tokens=5, cwd="/home/mallory/src/shop"),
        ],
    )
    summary = ingest(ClaudeCodeSource(), [alice, mallory], settings)

    after = totals(settings)
    assert after["acme"] == before["acme"]
    assert after["globex"][:2] == (1, 15)  # only mallory's own call
    assert query(
        settings,
        "select org_id, user_id, output_tokens, source_file like '%alice%' from raw.llm_calls "
        "where message_id = 'msg_a1'",
    ) == [("acme", "alice", 200, True)]
    assert query(settings, "select org_id, tool_name from raw.tool_calls") == [("acme", "Read")]
    evil = str(mallory / "projects" / "shop" / "evil.jsonl")
    assert quarantine(settings, "rejected") == [
        (evil, 1, f"{FOREIGN_KEY_REASON}: claude_code:msg_a1:req_a1"),
        (evil, 1, f"{FOREIGN_KEY_REASON}: claude_code:toolu_a1"),
    ]
    assert summary.quarantined == 2 and summary.quarantine_reasons == {FOREIGN_KEY_REASON: 2}


def test_two_orgs_staging_the_same_id_in_one_batch_the_first_in_reading_order_keeps_it(settings, tmp_path):
    configure(settings)
    alice = alice_session(tmp_path)
    mallory = mallory_session(
        tmp_path, [assistant("msg_a2", "req_a2", output=5_000, input_tokens=5_000, cwd="/home/mallory/src/shop")]
    )
    summary = ingest(ClaudeCodeSource(), [alice, mallory], settings)  # one batch: both files staged together
    assert summary.rows_added["llm_calls"] == 2
    assert totals(settings) == {"acme": (2, 1_610, ALICE_COST)}
    assert [reason for *_, reason in quarantine(settings, "rejected")] == [
        f"{FOREIGN_KEY_REASON}: claude_code:msg_a2:req_a2"
    ]


def test_otel_span_reusing_another_orgs_trace_and_span_id_is_quarantined(settings, tmp_path):
    configure(settings)
    folder = tmp_path / "otel"
    folder.mkdir()
    (folder / "a-initech.jsonl").write_text(spans(user="olga", output_tokens=40) + "\n")
    ingest(OtelSource(), [folder], settings)
    before = totals(settings)
    (folder / "b-globex.jsonl").write_text(spans(user="mallory", output_tokens=40_000) + "\n")
    ingest(OtelSource(), [folder], settings)
    assert totals(settings) == before
    assert [reason.split(":")[0] for *_, reason in quarantine(settings, "rejected")] == [FOREIGN_KEY_REASON]


def test_handoff_reusing_another_orgs_handoff_id_is_quarantined(settings, tmp_path):
    configure(settings)
    logs = tmp_path / "handoffs"
    write_jsonl(logs / "a.jsonl", [v1("h1", user_id="olga", cost_usd=0.5)])
    ingest(HandoffLogSource(), [logs], settings)
    write_jsonl(logs / "b.jsonl", [v1("h1", user_id="mallory", cost_usd=99.0, success=False)])
    ingest(HandoffLogSource(), [logs], settings)
    assert query(settings, "select org_id, cost_usd::double, success from raw.handoffs") == [("initech", 0.5, True)]
    assert quarantine(settings, "rejected") == [(str(logs / "b.jsonl"), 1, f"{FOREIGN_KEY_REASON}: h1")]


# --- org claims inside log lines ---------------------------------------------------------------------------------


def spans(*, user: str | None, org: str | None = None, output_tokens: int = 40, span: int = 1) -> str:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource = {"host__name": "ci-1"}
    if user:
        resource["user__id"] = user
    if org:
        resource["organization__id"] = org
    resource_spans.resource.attributes.extend(attributes(**resource))
    item = resource_spans.scope_spans.add().spans.add()
    item.trace_id = bytes.fromhex(f"{span:032x}")
    item.span_id = bytes.fromhex(f"{span:016x}")
    item.name = "chat"
    item.start_time_unix_nano = START
    item.end_time_unix_nano = START + 1_000_000_000
    item.attributes.extend(
        attributes(
            gen_ai__provider__name="openai",
            gen_ai__request__model="gpt-4o",
            gen_ai__usage__input_tokens=1_000,
            gen_ai__usage__output_tokens=output_tokens,
        )
    )
    return json.dumps(MessageToDict(request))


def test_otel_record_naming_another_org_is_attributed_by_the_config_and_flagged(settings, tmp_path):
    configure(settings)
    alice = alice_session(tmp_path)
    ingest(ClaudeCodeSource(), [alice], settings)
    before = totals(settings)
    folder = tmp_path / "otel"
    folder.mkdir()
    (folder / "spoof.jsonl").write_text(
        "\n".join(
            [
                spans(user="olga", org="acme", span=1),  # initech's user claims acme
                spans(user="nobody", org="acme", span=2),  # an unknown user claims acme
                spans(user="olga", org="initech", span=3),  # a claim that agrees with the config: no flag
            ]
        )
        + "\n"
    )
    summary = ingest(OtelSource(), [folder], settings)

    after = totals(settings)
    assert after["acme"] == before["acme"]
    assert after["initech"][:2] == (2, 2_080) and after["unmapped"][:2] == (1, 1_040)
    assert query(settings, "select distinct org_id, team_id from raw.llm_calls where user_id = 'olga'") == [
        ("initech", "initech-core")
    ]
    path = str(folder / "spoof.jsonl")
    assert quarantine(settings, "flagged") == [
        (path, 1, "org claim 'acme' not allowed for source otel; attributed to 'initech'"),
        (path, 2, "org claim 'acme' not allowed for source otel; attributed to 'unmapped'"),
    ]
    assert summary.flagged == 2 and summary.rows_added["llm_calls"] == 3


def test_an_org_accepts_claims_only_from_the_sources_it_trusts(settings, tmp_path):
    configure(settings, CONFIG.replace("  - id: acme\n", "  - id: acme\n    accept_claims_from: [otel]\n"))
    folder = tmp_path / "otel"
    folder.mkdir()
    (folder / "collector.jsonl").write_text(spans(user="olga", org="acme") + "\n")
    logs = tmp_path / "handoffs"
    write_jsonl(logs / "h.jsonl", [v1("h1", user_id="mallory", org_id="acme")])
    ingest(OtelSource(), [folder], settings)
    ingest(HandoffLogSource(), [logs], settings)

    # the claim is trusted: the row is acme's, and never carries olga's initech team
    assert query(settings, "select org_id, user_id, team_id from raw.llm_calls") == [("acme", "olga", None)]
    assert query(settings, "select org_id, user_id from raw.handoffs") == [("globex", "mallory")]
    assert quarantine(settings, "flagged") == [
        (str(logs / "h.jsonl"), 1, "org claim 'acme' not allowed for source handoff_log; attributed to 'globex'")
    ]


def test_config_rejects_an_unknown_claim_source():
    with pytest.raises(ValidationError):
        AttributionConfig.model_validate({"orgs": [{"id": "acme", "accept_claims_from": ["claude-code"]}]})


# --- within one org nothing changes ------------------------------------------------------------------------------


def test_streamed_snapshots_and_replays_within_one_org_still_keep_the_most_complete_row(settings, tmp_path):
    configure(settings)
    config_dir = tmp_path / "alice" / ".claude"
    first = write_jsonl(
        config_dir / "projects" / "shop" / "s1.jsonl",
        [
            assistant("msg_1", "req_1", output=5, cwd="/home/alice/src/shop"),
            assistant("msg_1", "req_1", output=50, cwd="/home/alice/src/shop"),
        ],
    )
    ingest(ClaudeCodeSource(), [config_dir], settings)
    # the stream's last snapshot arrives in a later batch, then a resumed session replays it into another file
    append_jsonl(first, [assistant("msg_1", "req_1", output=500, cwd="/home/alice/src/shop")])
    summary = ingest(ClaudeCodeSource(), [config_dir], settings)
    assert summary.rows_updated == {"llm_calls": 1, "tool_calls": 0}
    write_jsonl(
        config_dir / "projects" / "shop" / "s2.jsonl",
        [assistant("msg_1", "req_1", output=500, cwd="/home/alice/src/shop")],
    )
    ingest(ClaudeCodeSource(), [config_dir], settings)

    assert query(settings, "select org_id, user_id, output_tokens, source_line from raw.llm_calls") == [
        ("acme", "alice", 500, 3)
    ]
    assert quarantine(settings, "rejected") == []


def test_reingesting_the_same_files_is_idempotent(settings, tmp_path):
    configure(settings)
    alice = alice_session(tmp_path)
    mallory = mallory_session(
        tmp_path,
        [
            assistant("msg_a1", "req_a1", output=90_000, cwd="/home/mallory/src/shop"),
            assistant("msg_m1", "req_m1", output=10, cwd="/home/mallory/src/shop"),
        ],
    )
    ingest(ClaudeCodeSource(), [alice, mallory], settings)
    first = (totals(settings), quarantine(settings, "rejected"))
    again = ingest(ClaudeCodeSource(), [alice, mallory], settings)
    assert again.files_read == 0
    # a rewritten file is read again from the start: same rows, its old quarantine rows replaced, not doubled
    evil = mallory / "projects" / "shop" / "evil.jsonl"
    os.utime(evil, ns=(evil.stat().st_atime_ns, evil.stat().st_mtime_ns + 10**9))
    evil.write_text(evil.read_text())
    ingest(ClaudeCodeSource(), [alice, mallory], settings)
    assert (totals(settings), quarantine(settings, "rejected")) == first
    assert len(first[1]) == 1


def test_a_merge_never_rewrites_who_a_row_belongs_to():
    identity = {
        "org_id",
        "team_id",
        "user_id",
        "project_id",
        "source_system",
        "session_id",
        "agent_id",
        "message_id",
        "request_id",
        "cwd",
    }
    for contract in (LLM_CALL, TOOL_CALL, HANDOFF):
        rule = MERGE_RULES[contract.table]
        assert set(rule.replaceable) <= set(contract.column_names)
        assert not set(rule.replaceable) & (identity | set(contract.key))


def test_a_project_name_two_orgs_share_resolves_to_the_rows_own_org(settings, tmp_path):
    teams = {"acme": "acme-api", "globex": "globex-api"}
    config = CONFIG
    for org, team in teams.items():
        config = config.replace(f"  - id: {org}\n", f"  - id: {org}\n    teams: [{{id: {team}}}]\n")
    configure(
        settings,
        config
        + """
projects:
  - {id: api, org: globex, team: globex-api, match: {cwd: ["*/api"]}}
  - {id: api, org: acme, team: acme-api, match: {cwd: ["*/api"]}}
""",
    )
    alice = tmp_path / "alice" / ".claude"
    write_jsonl(alice / "projects" / "api" / "s1.jsonl", [assistant("msg_1", "req_1", output=1, cwd="/home/alice/api")])
    mallory = mallory_session(tmp_path, [assistant("msg_2", "req_2", output=1, cwd="/home/mallory/api")])
    ingest(ClaudeCodeSource(), [alice, mallory], settings)
    assert query(settings, "select org_id, project_id, team_id from raw.llm_calls order by 1") == [
        ("acme", "api", "acme-api"),
        ("globex", "api", "globex-api"),
    ]
