"""OTLP/JSON trace files with GenAI spans and Claude Code OTel log events, for a population that only exports OTel."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np

from aioa.generate.world import OTEL_USERS, Calendar

SPAN_MODELS = (
    ("openai", "gpt-4o"),
    ("deepseek", "deepseek-chat"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("acme", "acme-internal-llm-2"),
)


def _attr(key: str, value) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _nanos(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000) * 1000)


def write_otel(
    root: Path, calendar: Calendar, rng: np.random.Generator, scale: float, degraded: dict[tuple[str, str, str], float]
) -> dict:
    """Returns counts; `degraded` maps (org, model, ISO day) to how many times slower those spans are (the latency
    anomalies, only in the labelled org so that the label tells the whole truth)."""
    folder = root / "otel"
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"spans": 0, "error_spans": 0, "unknown_model_spans": 0, "log_api_requests": 0, "log_tool_results": 0}
    counts["degraded_spans"] = {}  # "org|model|day" -> spans slowed down
    span_counter = 0
    for day in calendar.days:
        spans_by_user = []
        logs = []
        for user, (org, _) in OTEL_USERS.items():
            spans = []
            for _ in range(int(rng.poisson(6 * calendar.volume(day) * scale))):
                span_counter += 1
                provider, model = SPAN_MODELS[int(rng.choice(4, p=(0.45, 0.35, 0.17, 0.03)))]
                start = datetime(
                    day.year,
                    day.month,
                    day.day,
                    int(rng.integers(0, 24)),
                    int(rng.integers(0, 60)),
                    int(rng.integers(0, 60)),
                )
                duration_ms = float(rng.lognormal(7.0, 0.4))
                if (org, model, day.isoformat()) in degraded:
                    duration_ms *= degraded[(org, model, day.isoformat())]
                    key = f"{org}|{model}|{day.isoformat()}"
                    counts["degraded_spans"][key] = counts["degraded_spans"].get(key, 0) + 1
                error = rng.random() < 0.03
                input_tokens, cached = int(rng.integers(200, 8_000)), 0
                if provider == "openai":
                    cached = int(input_tokens * rng.random() * 0.5)
                attributes = [
                    _attr("gen_ai.operation.name", "chat"),
                    _attr("gen_ai.provider.name", provider),
                    _attr("gen_ai.request.model", model),
                    _attr("gen_ai.response.model", model),
                    _attr("gen_ai.response.id", f"resp-{span_counter:09d}"),
                    _attr("gen_ai.usage.input_tokens", input_tokens),
                    _attr("gen_ai.usage.output_tokens", int(rng.integers(20, 1_500))),
                    _attr("session.id", f"{user}-{day.isoformat()}"),
                ]
                if cached:
                    attributes.append(_attr("gen_ai.usage.cache_read.input_tokens", cached))
                end = start.timestamp() + duration_ms / 1000
                spans.append(
                    {
                        "traceId": f"{span_counter:032x}",
                        "spanId": f"{span_counter:016x}",
                        "name": f"chat {model}",
                        "kind": 3,
                        "startTimeUnixNano": _nanos(start),
                        "endTimeUnixNano": str(int(end * 1_000_000) * 1000),
                        "attributes": attributes,
                        "status": {"code": 2, "message": "rate limited"} if error else {"code": 1},
                    }
                )
                counts["spans"] += 1
                counts["error_spans"] += int(error)
                counts["unknown_model_spans"] += int(model == "acme-internal-llm-2")
            if spans:
                spans_by_user.append(
                    {
                        "resource": {
                            "attributes": [
                                _attr("service.name", "agent-pipeline"),
                                _attr("user.id", user),
                                _attr("organization.id", org),
                                _attr("project.id", "core-ledger"),
                                _attr("host.name", f"{user}-ci"),
                            ]
                        },
                        "scopeSpans": [{"scope": {"name": "genai-pipeline"}, "spans": spans}],
                    }
                )
            for _ in range(int(rng.poisson(3 * calendar.volume(day) * scale))):
                moment = datetime(day.year, day.month, day.day, int(rng.integers(8, 20)), int(rng.integers(0, 60)))
                logs.append(_api_request(user, org, moment, rng))
                counts["log_api_requests"] += 1
                logs.append(_tool_result(user, moment, rng))
                counts["log_tool_results"] += 1
        if spans_by_user:
            (folder / f"traces-{day.isoformat()}.jsonl").write_text(json.dumps({"resourceSpans": spans_by_user}) + "\n")
        if logs:
            payload = {
                "resourceLogs": [
                    {
                        "resource": {"attributes": [_attr("service.name", "claude-code")]},
                        "scopeLogs": [{"scope": {"name": "com.anthropic.claude_code.events"}, "logRecords": logs}],
                    }
                ]
            }
            (folder / f"logs-{day.isoformat()}.jsonl").write_text(json.dumps(payload) + "\n")
    return counts


def _api_request(user: str, org: str, moment: datetime, rng: np.random.Generator) -> dict:
    return {
        "timeUnixNano": _nanos(moment),
        "body": {"stringValue": "claude_code.api_request"},
        "attributes": [
            _attr("event.name", "api_request"),
            _attr("session.id", f"{user}-cc-{moment.date().isoformat()}"),
            _attr("user.id", user),
            _attr("user.email", f"{user}@{org}.example"),
            _attr("organization.id", org),
            _attr("model", "claude-sonnet-4-5-20250929"),
            _attr("input_tokens", str(int(rng.integers(1, 50)))),
            _attr("output_tokens", str(int(rng.integers(50, 900)))),
            _attr("cache_read_tokens", str(int(rng.integers(1_000, 30_000)))),
            _attr("cache_creation_tokens", str(int(rng.integers(0, 3_000)))),
            _attr("cost_usd", "0.01"),
            _attr("duration_ms", str(int(rng.integers(800, 9_000)))),
            _attr("event.timestamp", moment.isoformat() + "Z"),
        ],
    }


def _tool_result(user: str, moment: datetime, rng: np.random.Generator) -> dict:
    return {
        "timeUnixNano": _nanos(moment),
        "body": {"stringValue": "claude_code.tool_result"},
        "attributes": [
            _attr("event.name", "tool_result"),
            _attr("session.id", f"{user}-cc-{moment.date().isoformat()}"),
            _attr("user.id", user),
            _attr("tool_name", ("Read", "Bash", "mcp__github__create_issue")[int(rng.integers(0, 3))]),
            _attr("success", "false" if rng.random() < 0.05 else "true"),
            _attr("duration_ms", str(int(rng.integers(5, 4_000)))),
        ],
    }
