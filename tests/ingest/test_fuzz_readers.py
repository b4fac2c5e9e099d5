"""Property-based fuzzing of the handoff and OTel readers: corrupted lines never escape as exceptions and are counted,
and every untouched line of the same input loads exactly once."""

from __future__ import annotations

import json

import duckdb
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aioa.ingest.handoffs import HandoffLogSource
from aioa.ingest.otel import OtelSource
from aioa.ingest.runner import ingest
from aioa.settings import Settings
from tests.ingest.test_handoffs import v1

HANDOFF_LINE = json.dumps(v1("h"))
OTEL_LINE = json.dumps(
    {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "0123456789abcdef0123456789abcdef",
                                "spanId": "0123456789abcdef",
                                "name": "chat",
                                "startTimeUnixNano": "1777630000000000000",
                                "endTimeUnixNano": "1777630001000000000",
                                "attributes": [
                                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
                                    {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "5"}},
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
)

mutations = st.lists(
    st.tuples(st.sampled_from(["keep", "truncate", "insert", "replace"]), st.integers(0, 5_000), st.text(max_size=8)),
    min_size=1,
    max_size=12,
)


def mutate(line: str, index: int, how: str, position: int, junk: str) -> str:
    # fixed-width ids: an insertion lengthens an id, so a corrupted line never takes an untouched line's id
    line = line.replace('"h"', f'"h{index:04d}"').replace("0123456789abcdef", f"{index:016x}")
    cut = position % len(line)
    text = {"keep": line, "truncate": line[:cut], "insert": line[:cut] + junk + line[cut:], "replace": junk}[how]
    return text.replace("\n", " ").replace("\r", " ")


def run(tmp_path_factory, source, template: str, spec) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    lines = [mutate(template, index, *change) for index, change in enumerate(spec)]
    (folder / "logs").mkdir()
    (folder / "logs" / "events.jsonl").write_text("\n".join(lines) + "\n")
    settings = Settings(home=folder / "home")
    summary = ingest(source, [folder / "logs"], settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        table = "handoffs" if source.name == "handoff_log" else "llm_calls"
        rows = [row[0] for row in connection.execute(f"select source_line from raw.{table}").fetchall()]
        loaded = set(rows)
        rejected = {
            row[0]
            for row in connection.execute(
                "select source_line from raw.quarantine where severity = 'rejected'"
            ).fetchall()
        }
    unparseable = {number for number, line in enumerate(lines, 1) if line.strip() and not _is_json(line)}
    assert unparseable <= rejected
    assert not loaded & rejected
    assert summary.quarantined == len(rejected)
    # The valid lines (untouched by the mutation) all load, one row each, beside whatever was quarantined.
    valid = [number for number, line in enumerate(lines, 1) if line == mutate(template, number - 1, "keep", 0, "")]
    assert sorted(number for number in rows if number in set(valid)) == valid
    assert sum(summary.rows_added.values()) == len(rows)


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=mutations)
def test_handoff_reader_survives_corruption(tmp_path_factory, spec):
    run(tmp_path_factory, HandoffLogSource(), HANDOFF_LINE, spec)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=mutations)
@example(spec=[("truncate", 1, ""), ("keep", 0, "")])  # a first line cut to "{" once swallowed the next (CI)
@example(spec=[("truncate", 1, ""), ("truncate", 1, "")])
def test_otel_reader_survives_corruption(tmp_path_factory, spec):
    run(tmp_path_factory, OtelSource(), OTEL_LINE, spec)
