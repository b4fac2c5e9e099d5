"""Claude Code transcripts with every quirk of the real logs, and the totals a correct reader must find."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np

from aioa.generate.anomalies import CALLS_PER_SESSION, TRANSCRIPT_KINDS, typical_daily_calls
from aioa.generate.world import USER_PROJECTS, USERS, Calendar, cwd_for

MODELS = ("claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001")
MCP_TOOLS = (
    "mcp__github__create_issue",
    "mcp__github__get_pull_request",
    "mcp__linear__list_issues",
    "mcp__postgres__query",
    "mcp__playwright__browser_click",
    "mcp__plugin_context7_context7__get-library-docs",
)
BUILTIN_TOOLS = ("Read", "Edit", "Bash", "Grep", "Glob", "Write")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens")


@dataclass
class Truth:
    """What de-duplicated ingestion must find, accumulated while writing (not by re-reading the files)."""

    per_day_model: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    sessions: set = field(default_factory=set)
    synthetic_rows: int = 0
    tool_calls: int = 0
    mcp_calls_by_server: dict = field(default_factory=lambda: defaultdict(int))
    malformed_lines: int = 0
    seen_calls: set = field(default_factory=set)

    def add_call(self, key: str, day: str, model: str, tokens: dict) -> None:
        if key in self.seen_calls:
            return
        self.seen_calls.add(key)
        bucket = self.per_day_model[(day, model)]
        bucket["calls"] += 1
        for name in TOKEN_FIELDS:
            bucket[name] += tokens[name]

    def to_dict(self) -> dict:
        rows = []
        for (day, model), bucket in sorted(self.per_day_model.items()):
            row = {"date": day, "model": model, **bucket}
            row["cache_creation_tokens"] = row["cache_write_5m_tokens"] + row["cache_write_1h_tokens"]
            rows.append(row)
        return {
            "per_day_model": rows,
            "distinct_sessions": len(self.sessions),
            "synthetic_error_rows": self.synthetic_rows,
            "tool_calls": self.tool_calls,
            "mcp_calls_by_server": dict(sorted(self.mcp_calls_by_server.items())),
            "malformed_lines": self.malformed_lines,
        }


class TranscriptWriter:
    """Writes one user's sessions; ids are derived from a counter so the same seed gives the same bytes."""

    def __init__(self, root: Path, rng: np.random.Generator, truth: Truth) -> None:
        self.root, self.rng, self.truth = root, rng, truth
        self.counter = 0
        # the first lines of each user's last session per project: a resumed session replays them (a Claude Code
        # session belongs to one user, so only that user's own sessions are ever resumed)
        self.previous_sessions: dict[tuple[str, str], list[str]] = {}
        self.pending_progress: list[str] = []  # subagent progress lines, written after the parent's response
        # cost of the ordinary calls written so far, to size cost spikes: [calls, cost, opus calls, opus cost
        # without cache writes, opus cache-write cost]
        self.spend = [0, 0.0, 0, 0.0, 0.0]
        self.ordinary = True

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:012x}"

    def session(
        self,
        user: str,
        project: str,
        start: datetime,
        calls: int,
        *,
        anomaly: str | None = None,
        write_factor: float = 1.0,
    ) -> None:
        rng = self.rng
        self.ordinary = anomaly is None
        cwd = cwd_for(user, project, int(rng.integers(0, 3)) if rng.random() < 0.3 else 0)
        session_id = self.next_id(f"{user}-session")
        folder = self.root / user / ".claude" / "projects" / cwd.replace("/", "-").replace(".", "-")
        lines: list[str] = []
        branch = "main" if rng.random() < 0.6 else f"feature/{project}-{int(rng.integers(1, 40))}"
        if rng.random() < 0.08 and (user, project) in self.previous_sessions:
            lines += self.previous_sessions[(user, project)]  # a resumed session replays earlier lines verbatim
        base = {
            "parentUuid": None,
            "isSidechain": False,
            "userType": "external",
            "cwd": cwd,
            "sessionId": session_id,
            "version": "2.1.40",
            "gitBranch": branch,
        }
        when = start
        context = int(rng.integers(8_000, 20_000))
        subagent_lines: dict[str, list[str]] = {}
        pause = {"error_burst": 5, "runaway_agent": 20}.get(anomaly, 40)  # retries and loops come faster
        for _ in range(calls):
            when += timedelta(seconds=float(rng.exponential(pause)) + 2)
            lines.append(
                json.dumps(
                    {
                        **base,
                        "type": "user",
                        "uuid": self.next_id("u"),
                        "timestamp": _ts(when),
                        "message": {"role": "user", "content": "continue"},
                    }
                )
            )
            if rng.random() < 0.015 or anomaly == "error_burst":
                lines.append(self._synthetic(base, when))
                continue
            model = MODELS[int(rng.choice(3, p=(0.55, 0.33, 0.12)))]
            if anomaly == "cost_spike":
                model = MODELS[0]
            context += int(rng.integers(200, 3_000))
            tokens = self._tokens(context, write_factor)
            blocks = self._blocks(base, session_id, when, subagent_lines)
            lines += self._streamed(base, model, tokens, blocks, when)
            for block in blocks:
                if block["type"] == "tool_use":
                    when += timedelta(milliseconds=int(rng.integers(50, 20_000)))
                    lines.append(
                        json.dumps(
                            {
                                **base,
                                "type": "user",
                                "uuid": self.next_id("u"),
                                "timestamp": _ts(when),
                                "message": {
                                    "role": "user",
                                    "content": [
                                        {
                                            "tool_use_id": block["id"],
                                            "type": "tool_result",
                                            "content": "error: failed" if rng.random() < 0.06 else "ok",
                                            "is_error": bool(rng.random() < 0.06),
                                        }
                                    ],
                                },
                                "toolUseResult": {"stdout": ""},
                            }
                        )
                    )
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{session_id}.jsonl").write_text("\n".join(lines) + "\n")
        for agent_id, agent_lines in subagent_lines.items():
            agent_folder = folder / session_id / "subagents"
            agent_folder.mkdir(parents=True, exist_ok=True)
            (agent_folder / f"agent-{agent_id}.jsonl").write_text("\n".join(agent_lines) + "\n")
        self.previous_sessions[(user, project)] = lines[: min(len(lines), 6)]
        self.truth.sessions.add(session_id)

    def _tokens(self, context: int, write_factor: float = 1.0) -> dict:
        rng = self.rng
        write = int(int(rng.integers(100, 4_000)) * write_factor)
        one_hour = rng.random() < 0.5
        return {
            "input_tokens": int(rng.integers(1, 60)),
            "output_tokens": int(rng.integers(20, 2_500)),
            "cache_write_5m_tokens": 0 if one_hour else write,
            "cache_write_1h_tokens": write if one_hour else 0,
            "cache_read_tokens": context,
        }

    def _blocks(self, base, session_id, when, subagent_lines) -> list[dict]:
        rng = self.rng
        blocks: list[dict] = [{"type": "text", "text": "Working on it."}]
        if rng.random() < 0.2:
            blocks.insert(0, {"type": "thinking", "thinking": "…", "signature": "sig"})
        for _ in range(int(rng.integers(0, 3))):
            roll = rng.random()
            if roll < 0.25:
                name = MCP_TOOLS[int(rng.integers(0, len(MCP_TOOLS)))]
                blocks.append({"type": "tool_use", "id": self.next_id("toolu"), "name": name, "input": {}})
            elif roll < 0.32:
                tool_id = self.next_id("toolu")
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": tool_id,
                        "name": "Task",
                        "input": {
                            "subagent_type": ("Explore", "Plan", "general-purpose")[int(rng.integers(0, 3))],
                            "prompt": "look around",
                        },
                    }
                )
                self._subagent(base, session_id, when, subagent_lines)
            else:
                name = BUILTIN_TOOLS[int(rng.integers(0, len(BUILTIN_TOOLS)))]
                blocks.append({"type": "tool_use", "id": self.next_id("toolu"), "name": name, "input": {}})
        for block in blocks:
            if block["type"] == "tool_use":
                self.truth.tool_calls += 1
                if block["name"].startswith("mcp__"):
                    middle = block["name"].split("__")[1]
                    server = middle.split("_")[-1] if middle.startswith("plugin_") else middle
                    self.truth.mcp_calls_by_server[server] += 1
        return blocks

    def _subagent(self, base, session_id, when, subagent_lines) -> None:
        """A subagent's calls: in its own file, mirrored in progress lines, or only in progress lines."""
        rng = self.rng
        agent_id = f"a{self.next_id('agent')[-7:]}"
        mode = ("file", "both", "progress_only")[int(rng.integers(0, 3))]
        for step in range(int(rng.integers(1, 4))):
            moment = when + timedelta(seconds=step + 1)
            tokens = self._tokens(int(rng.integers(5_000, 15_000)))
            record = self._assistant(
                dict(base, isSidechain=True, agentId=agent_id),
                MODELS[2],
                tokens,
                [{"type": "text", "text": "found it"}],
                moment,
                self.next_id("msg"),
                self.next_id("req"),
            )
            self.truth.add_call(
                f"{record['message']['id']}:{record['requestId']}", moment.strftime("%Y-%m-%d"), MODELS[2], tokens
            )
            if mode in ("file", "both"):
                subagent_lines.setdefault(agent_id, []).append(json.dumps(record))
            if mode in ("both", "progress_only"):
                progress = {
                    **base,
                    "type": "progress",
                    "uuid": self.next_id("u"),
                    "timestamp": _ts(moment),
                    "data": {
                        "type": "agent_progress",
                        "agentId": agent_id,
                        "message": {
                            "type": "assistant",
                            "timestamp": record["timestamp"],
                            "requestId": record["requestId"],
                            "message": record["message"],
                        },
                    },
                }
                self.pending_progress.append(json.dumps(progress))

    def _streamed(self, base, model, tokens, blocks, when) -> list[str]:
        """One response written as one line per content block, output_tokens growing to the final value."""
        message_id, request_id = self.next_id("msg"), self.next_id("req")
        lines = []
        for index, block in enumerate(blocks):
            partial = dict(tokens, output_tokens=max(1, tokens["output_tokens"] * (index + 1) // len(blocks)))
            record = self._assistant(
                base, model, partial, [block], when + timedelta(milliseconds=index * 300), message_id, request_id
            )
            lines.append(json.dumps(record))
        final_when = when + timedelta(milliseconds=(len(blocks) - 1) * 300)  # the kept snapshot's time
        self.truth.add_call(f"{message_id}:{request_id}", final_when.strftime("%Y-%m-%d"), model, tokens)
        if self.ordinary:
            self._tally(model, tokens)
        lines += self.pending_progress
        self.pending_progress = []
        return lines

    def _tally(self, model: str, tokens: dict) -> None:
        prices = _prices(model)
        writes = ("cache_write_5m_tokens", "cache_write_1h_tokens")
        write_cost = sum(tokens[name] * prices[name] for name in writes)
        other_cost = sum(tokens[name] * prices[name] for name in TOKEN_FIELDS if name not in writes)
        self.spend[0] += 1
        self.spend[1] += write_cost + other_cost
        if model == MODELS[0]:
            self.spend[2] += 1
            self.spend[3] += other_cost
            self.spend[4] += write_cost

    def cost_spike_shape(self, extra_cost: float) -> tuple[int, float]:
        """Turns and cache-write factor of an opus session costing about `extra_cost` (from the calls so far)."""
        calls, _, opus_calls, opus_other, opus_writes = self.spend
        if not opus_calls:
            return 8, 40.0
        other, writes = opus_other / opus_calls, opus_writes / opus_calls
        factor = (extra_cost / 8 - other) / writes
        if factor >= 1:
            return 8, factor
        return max(1, round(extra_cost / (other + writes))), 1.0

    def cost_per_call(self) -> float:
        return self.spend[1] / self.spend[0] if self.spend[0] else 0.05

    def _assistant(self, base, model, tokens, content, when, message_id, request_id) -> dict:
        usage = {
            "input_tokens": tokens["input_tokens"],
            "cache_creation_input_tokens": tokens["cache_write_5m_tokens"] + tokens["cache_write_1h_tokens"],
            "cache_read_input_tokens": tokens["cache_read_tokens"],
            "cache_creation": {
                "ephemeral_5m_input_tokens": tokens["cache_write_5m_tokens"],
                "ephemeral_1h_input_tokens": tokens["cache_write_1h_tokens"],
            },
            "output_tokens": tokens["output_tokens"],
            "service_tier": "standard",
        }
        return {
            **base,
            "type": "assistant",
            "uuid": self.next_id("u"),
            "timestamp": _ts(when),
            "requestId": request_id,
            "message": {
                "model": model,
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "content": content,
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            },
        }

    def _synthetic(self, base, when) -> str:
        self.truth.synthetic_rows += 1
        zero = {name: 0 for name in TOKEN_FIELDS}
        record = self._assistant(
            base,
            "<synthetic>",
            zero,
            [{"type": "text", "text": "API Error: 529 Overloaded"}],
            when,
            self.next_id("msg"),
            self.next_id("req"),
        )
        record["isApiErrorMessage"] = True
        return json.dumps(record)


@cache
def _prices(model: str) -> dict[str, float]:
    """USD per token of each token field (genai-prices, as the ingest costs them)."""
    from aioa.pricing.catalog import PriceCatalog

    price = PriceCatalog().resolve("anthropic", model, datetime(2026, 6, 1))
    components = {
        "input_tokens": "input",
        "output_tokens": "output",
        "cache_write_5m_tokens": "cache_write_5m",
        "cache_write_1h_tokens": "cache_write_1h",
        "cache_read_tokens": "cache_read",
    }
    return {name: float(price.components[component].base) / 1e6 for name, component in components.items()}


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def write_transcripts(
    root: Path, calendar: Calendar, rng: np.random.Generator, scale: float, anomalies: list[dict], progress=None
) -> Truth:
    truth = Truth()
    writer = TranscriptWriter(root, rng, truth)
    labelled = {(item["user_id"], item["start"][:10]): item for item in anomalies if item["kind"] in TRANSCRIPT_KINDS}
    for index, day in enumerate(calendar.days):
        for user, (_, _, weight) in USERS.items():
            label = labelled.get((user, day.isoformat()))
            sessions = int(rng.poisson(2.2 * weight * calendar.volume(day) * scale))
            if label and label["kind"] == "usage_surge":
                extra_calls = (label["magnitude"] - 1) * typical_daily_calls(calendar, label["org_id"], day, scale)
                sessions += max(1, round(extra_calls / CALLS_PER_SESSION))
            for _ in range(sessions):
                project = USER_PROJECTS[user][int(rng.integers(0, len(USER_PROJECTS[user])))]
                start = datetime(day.year, day.month, day.day, int(rng.integers(8, 19)), int(rng.integers(0, 60)))
                writer.session(user, project, start, int(rng.poisson(6)) + 1)
            if label and label["kind"] != "usage_surge":
                _anomalous_session(writer, label, calendar, scale)
        if progress:
            progress("claude-code", index + 1, len(calendar.days))
    truth.malformed_lines = _write_bad_lines(root, rng, truth)
    return truth


def _anomalous_session(writer: TranscriptWriter, label: dict, calendar: Calendar, scale: float) -> None:
    """One session at 14:00 sized to the label's magnitude: (magnitude - 1) x the org's typical daily level."""
    start = datetime.fromisoformat(label["start"].rstrip("Z"))
    extra_calls = (label["magnitude"] - 1) * typical_daily_calls(calendar, label["org_id"], start.date(), scale)
    turns = max(1, round(extra_calls / (CALLS_PER_SESSION / 7)))  # a turn is a call plus ~0.14 subagent calls
    if label["kind"] == "error_burst":  # every turn fails: one failed call each
        writer.session(label["user_id"], label["project_id"], start, max(1, round(extra_calls)), anomaly="error_burst")
    elif label["kind"] == "runaway_agent":
        writer.session(label["user_id"], label["project_id"], start, turns, anomaly="runaway_agent")
    else:
        turns, factor = writer.cost_spike_shape(extra_calls * writer.cost_per_call())
        writer.session(label["user_id"], label["project_id"], start, turns, anomaly="cost_spike", write_factor=factor)


def _write_bad_lines(root: Path, rng: np.random.Generator, truth: Truth) -> int:
    """A few bad lines in a few files: garbage, truncated JSON, a wrong type, and a file cut mid-record."""
    files = sorted(root.glob("*/.claude/projects/*/*.jsonl"))
    chosen = [files[int(index)] for index in rng.choice(len(files), size=min(4, len(files)), replace=False)]
    owner = chosen[2].relative_to(root).parts[0]  # the line names no one but the user whose file it is in
    bad_type = json.dumps(
        {
            "type": "assistant",
            "sessionId": "bad",
            "timestamp": "2026-10-01T10:00:00.000Z",
            "cwd": f"/home/{owner}/src/scratch",
            "requestId": "req_bad",
            "message": {
                "id": "msg_bad",
                "model": "claude-opus-4-6",
                "usage": {"input_tokens": "abc", "output_tokens": 5},
            },
        }
    )
    with chosen[0].open("a") as handle:
        handle.write("this is not json\n")
    with chosen[1].open("a") as handle:
        handle.write('{"type": "assistant", "message": {"usage": {"input_tok\n')
    with chosen[2].open("a") as handle:
        handle.write(bad_type + "\n")
    with chosen[3].open("a") as handle:
        handle.write('{"type": "user", "message": {"content": "cut mid-rec')  # no newline: truncated file
    return 4
