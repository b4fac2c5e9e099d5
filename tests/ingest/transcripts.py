"""Builders for small Claude Code transcript fixtures, each line shaped like the real logs."""

from __future__ import annotations

import json
from pathlib import Path

CWD = "/home/alice/src/shop"


def assistant(
    message_id: str,
    request_id: str,
    *,
    output: int,
    input_tokens: int = 10,
    cache_5m: int = 0,
    cache_1h: int = 0,
    cache_read: int = 0,
    model: str = "claude-opus-4-6",
    ts: str = "2026-03-02T10:00:00.000Z",
    session: str = "s1",
    cwd: str = CWD,
    branch: str = "main",
    content: list | None = None,
    split: bool = True,
    agent_id: str | None = None,
    uuid: str | None = None,
) -> dict:
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_5m + cache_1h,
        "cache_read_input_tokens": cache_read,
        "output_tokens": output,
        "service_tier": "standard",
    }
    if split:
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": cache_5m, "ephemeral_1h_input_tokens": cache_1h}
    record = {
        "parentUuid": None,
        "isSidechain": agent_id is not None,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session,
        "version": "2.1.39",
        "gitBranch": branch,
        "type": "assistant",
        "message": {
            "model": model,
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "content": content or [{"type": "text", "text": "ok"}],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
        "requestId": request_id,
        "uuid": uuid or f"u-{message_id}-{output}",
        "timestamp": ts,
    }
    if agent_id:
        record["agentId"] = agent_id
    return record


def progress_subagent(record: dict, *, agent_id: str, session: str = "s1", ts: str | None = None) -> dict:
    """A subagent response nested in a parent's progress line (how Claude Code streams subagent work)."""
    return {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": record["cwd"],
        "sessionId": session,
        "version": "2.1.39",
        "gitBranch": record["gitBranch"],
        "type": "progress",
        "data": {
            "message": {
                "type": "assistant",
                "timestamp": record["timestamp"],
                "message": record["message"],
                "requestId": record["requestId"],
                "uuid": record["uuid"],
            },
            "normalizedMessages": [],
            "type": "agent_progress",
            "prompt": "explore",
            "agentId": agent_id,
        },
        "toolUseID": "agent_msg_x",
        "uuid": f"p-{record['uuid']}",
        "timestamp": ts or record["timestamp"],
    }


def tool_use(tool_use_id: str, name: str, **tool_input) -> dict:
    return {"type": "tool_use", "id": tool_use_id, "name": name, "input": tool_input}


def tool_result(tool_use_id: str, *, is_error: bool = False, ts: str, session: str = "s1", cwd: str = CWD) -> dict:
    return {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": session,
        "version": "2.1.39",
        "gitBranch": "main",
        "type": "user",
        "message": {
            "role": "user",
            "content": [
                {
                    "tool_use_id": tool_use_id,
                    "type": "tool_result",
                    "content": "boom" if is_error else "fine",
                    "is_error": is_error,
                }
            ],
        },
        "uuid": f"r-{tool_use_id}",
        "timestamp": ts,
        "toolUseResult": {"stdout": ""},
    }


def user_prompt(text: str, *, session: str = "s1", ts: str = "2026-03-02T09:59:00.000Z") -> dict:
    return {
        "type": "user",
        "sessionId": session,
        "cwd": CWD,
        "message": {"role": "user", "content": text},
        "uuid": f"q-{text}",
        "timestamp": ts,
    }


def write_jsonl(path: Path, records: list[dict | str], *, trailing_newline: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    path.write_text("\n".join(lines) + ("\n" if trailing_newline else ""))
    return path


def append_jsonl(path: Path, records: list[dict | str]) -> None:
    with path.open("a") as handle:
        for record in records:
            handle.write((record if isinstance(record, str) else json.dumps(record)) + "\n")
