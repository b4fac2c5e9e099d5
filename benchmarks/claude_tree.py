"""A `~/.claude` tree shaped like real use, for benchmarks and tests: thousands of sessions, not a few big files.

What a real config dir holds, and this one too:
- `projects/<encoded cwd>/<session uuid>.jsonl`, and `<session uuid>/subagents/agent-<id>.jsonl` beside it
  (compaction agents included: `agent-acompact-<id>.jsonl`);
- file sizes log-normal from a few KB to tens of MB (clipped at 50 MB), scaled to a total size;
- streamed duplicates: one line per content block with the same `message.id` + `requestId`, `output_tokens`
  small on the partial lines and final on the last one (never decreasing: the last snapshot is also the largest,
  so "keep the last" and "keep the most output" agree, as they do on real logs);
- resumed sessions: a later session file starts by replaying whole exchanges of an earlier session of the same
  project verbatim (same message and request ids);
- user prompts, tool_use / tool_result pairs (tool output is where most bytes are), thinking blocks, `summary`,
  `system` and `file-history-snapshot` lines, `<synthetic>` API-error lines without a request id, cache writes
  split into 5-minute / 1-hour (and a few lines from older clients without the split), progress lines that mirror
  a subagent's calls in the parent session;
- several models the price library knows, timestamps over 60 days.

Progress lines only ever mirror (final snapshots of) calls that are also in a subagent file, so a reader that skips
progress lines and one that reads them must find the same calls; progress-only usage (older Claude Code versions
without subagent files) is left out, as ccusage's session report and ours attribute it differently
(tests/ingest/test_claude_code_parity.py).

Lines come from the fixture builders in tests/ingest/transcripts.py (one definition of a line's shape); this
module plans the tree with numpy (sizes, roles, projects, start times, models: deterministic by seed) and fills
each file exchange by exchange until it reaches its planned size.

    uv run python benchmarks/claude_tree.py OUT [--total-mb 140 | --total-gb 1] [--files N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests.ingest.transcripts` importable
    sys.path.insert(0, str(ROOT))

from tests.ingest.transcripts import (  # noqa: E402
    assistant,
    progress_subagent,
    tool_result,
    tool_use,
    user_prompt,
)

REPLAY_LIMIT = 2_000_000  # a resumed session replays at most this much of the earlier one
GENERATOR_VERSION = 2  # bump when the bytes a seed produces change, so cached trees are regenerated
SHAPE_FILE = "tree-shape.json"
FIRST_DAY = datetime(2026, 9, 1, tzinfo=UTC)
# Models the price library (genai-prices) knows, with their share of main-session calls.
SESSION_MODELS = {
    "claude-sonnet-4-5-20250929": 0.42,
    "claude-opus-4-6": 0.20,
    "claude-opus-4-1-20250805": 0.14,
    "claude-sonnet-4-20250514": 0.12,
    "claude-haiku-4-5-20251001": 0.12,
}
SUBAGENT_MODELS = {"claude-haiku-4-5-20251001": 0.6, "claude-sonnet-4-5-20250929": 0.4}
TOOLS = (
    "Read",
    "Read",
    "Read",
    "Bash",
    "Bash",
    "Edit",
    "Grep",
    "Glob",
    "Write",
    "TodoWrite",
    "mcp__github__get_pull_request",
    "mcp__linear__list_issues",
    "mcp__plugin_context7_context7__get-library-docs",
)
PROJECTS = 30
VERSIONS = ("2.0.76", "2.1.12", "2.1.39", "2.1.40")
WORDS = (
    "def",
    "return",
    "self",
    "import",
    "from",
    "class",
    "for",
    "in",
    "if",
    "else",
    "None",
    "True",
    "the",
    "a",
    "value",
    "result",
    "config",
    "path",
    "data",
    "test",
    "error",
    "assert",
    "=",
    "==",
    "(",
    ")",
    ":",
    "{",
    "}",
    "user",
    "session",
    "tokens",
    "model",
    "request",
    "await",
    "async",
    "const",
    "let",
    "function",
    "=>",
)


@dataclass(frozen=True)
class TreeSpec:
    total_bytes: int = 140_000_000
    files: int | None = None  # default: at least 2,000, about one per 64 KB
    seed: int = 20
    days: int = 60
    subagent_share: float = 0.22  # of all files
    resume_share: float = 0.08  # of session files
    min_file_bytes: int = 3_000
    max_file_bytes: int = 50_000_000
    median_file_bytes: int = 8_000

    @property
    def file_count(self) -> int:
        return self.files or max(2_000, round(self.total_bytes / 64_000))


def planned_sizes(spec: TreeSpec, rng: np.random.Generator) -> np.ndarray:
    """Log-normal file sizes, clipped to [min, max] and scaled (iteratively, the clip moves the sum) to the total."""
    sizes = rng.lognormal(np.log(spec.median_file_bytes), 2.2, spec.file_count)
    # One marathon session, as heavy users have: the log-normal alone rarely reaches tens of MB in 2,000 files.
    largest = int(np.argmax(sizes))
    marathon = min(spec.max_file_bytes, 0.15 * spec.total_bytes)
    rest = np.ones(len(sizes), bool)
    rest[largest] = False
    for _ in range(50):
        sizes[rest] *= (spec.total_bytes - marathon) / sizes[rest].sum()
        sizes = np.clip(sizes, spec.min_file_bytes, spec.max_file_bytes)
        if abs(sizes[rest].sum() / (spec.total_bytes - marathon) - 1) < 0.002:
            break
    sizes[largest] = max(marathon, sizes[rest].max())
    return sizes.astype(np.int64)


def write_claude_tree(root: Path, spec: TreeSpec = TreeSpec()) -> dict:
    """Write the tree under `root` (a Claude config dir: `root/projects/...`) and return its shape."""
    started = time.perf_counter()
    rng = np.random.default_rng(spec.seed)
    sizes = planned_sizes(spec, rng)
    count = len(sizes)
    is_subagent = np.zeros(count, bool)
    is_subagent[rng.choice(count, size=round(count * spec.subagent_share), replace=False)] = True
    session_index = np.flatnonzero(~is_subagent)
    subagent_index = np.flatnonzero(is_subagent)
    sessions = len(session_index)
    # Sessions: a project (a few projects get most of the work), a start time (working hours), a main model.
    project_weights = 1 / np.arange(1, PROJECTS + 1) ** 1.1
    projects = rng.choice(PROJECTS, size=sessions, p=project_weights / project_weights.sum())
    day = rng.integers(0, spec.days, sessions)
    seconds = np.clip(rng.normal(14.5 * 3600, 3.5 * 3600, sessions), 0, 86_399).astype(np.int64)
    start_ms = ((FIRST_DAY.timestamp() + day * 86_400 + seconds) * 1000).astype(np.int64)
    order = np.argsort(start_ms, kind="stable")
    models = rng.choice(list(SESSION_MODELS), size=sessions, p=list(SESSION_MODELS.values()))
    # Subagent files belong to a parent session, more often a long one.
    parent_weights = np.sqrt(sizes[session_index].astype(float))
    parents = rng.choice(sessions, size=len(subagent_index), p=parent_weights / parent_weights.sum())
    # Resumed sessions: a session with an earlier session in the same project replays some of that one.
    earlier: dict[int, int] = {}
    resumable: list[tuple[int, int]] = []
    for position in order:
        project = int(projects[position])
        if project in earlier:
            resumable.append((int(position), earlier[project]))
        earlier[project] = int(position)
    wanted = min(len(resumable), max(1, round(sessions * spec.resume_share))) if resumable else 0
    resumes = dict(resumable[i] for i in sorted(rng.choice(len(resumable), size=wanted, replace=False)))

    writer = _Writer(root, random.Random(spec.seed), rng)
    children: dict[int, list[int]] = {}
    for subagent, parent in zip(subagent_index, parents, strict=True):
        children.setdefault(int(parent), []).append(int(sizes[subagent]))
    exchanges: dict[int, tuple[list[str], list[int]]] = {}  # position -> (lines, exchange end indices)
    for position in order:
        position = int(position)
        previous = resumes.get(position)
        replay = exchanges.get(previous) if previous is not None else None
        lines, ends = writer.session(
            project=int(projects[position]),
            start_ms=int(start_ms[position]),
            model=str(models[position]),
            target=int(sizes[session_index[position]]),
            subagent_sizes=children.get(position, []),
            replay=replay,
        )
        exchanges[position] = _prefix(lines, ends, REPLAY_LIMIT)
        # Only the latest session of a project can be resumed later: drop older ones to bound memory.
        if previous is not None:
            exchanges.pop(previous, None)
    shape = writer.shape(spec, started)
    (root / SHAPE_FILE).write_text(json.dumps(shape, indent=2))
    return shape


def add_session(root: Path, seed: int, target_bytes: int = 120_000) -> Path:
    """One new session file in an existing project (a grown tree: what a user's next session adds)."""
    rng = np.random.default_rng(seed + 1_000_003)
    writer = _Writer(root, random.Random(seed + 1_000_003), rng)
    start_ms = int((FIRST_DAY.timestamp() + 60 * 86_400) * 1000)
    lines, _ = writer.session(
        project=0,
        start_ms=start_ms,
        model="claude-sonnet-4-5-20250929",
        target=target_bytes,
        subagent_sizes=[],
        replay=None,
    )
    return writer.last_path


def _prefix(lines: list[str], ends: list[int], limit: int) -> tuple[list[str], list[int]]:
    """The whole exchanges at the start of a session that fit in `limit` characters (at least the first one)."""
    sizes = np.cumsum([len(line) + 1 for line in lines]) if lines else np.zeros(0, np.int64)
    kept = [end for end in ends if sizes[end - 1] <= limit] or ends[:1]
    cut = kept[-1] if kept else 0
    return lines[:cut], kept


def tree_shape(root: Path) -> dict | None:
    path = root / SHAPE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _dumps(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"))  # Claude Code writes compact JSON


class _Writer:
    """Fills files exchange by exchange; scalar draws come from `random.Random` (seeded), which is fast per call."""

    def __init__(self, root: Path, rand: random.Random, rng: np.random.Generator) -> None:
        self.root, self.rand = root, rand
        self.tag = f"{rand.getrandbits(32):08x}"
        self.counter = 0
        words = np.array(WORDS)[rng.integers(0, len(WORDS), 1_200_000)]
        breaks = np.where(rng.random(len(words)) < 0.08, "\n    ", " ")
        self.filler = "".join(np.char.add(words, breaks).tolist())  # ≈ 5 MB of code-like text, sliced at random
        self.files = self.session_files = self.subagent_files = self.resumed = 0
        self.overshoot = 0
        self.bytes = self.lines = self.assistant_lines = self.messages = 0
        self.sizes: list[int] = []
        self.last_path = root

    # ids: real-looking, unique, and a function of the seed only
    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def _uuid(self) -> str:
        return f"{self.tag}-0000-4000-8000-{self._next():012x}"

    def _text(self, median: int, sigma: float = 1.0, cap: int = 60_000) -> str:
        size = min(cap, int(self.rand.lognormvariate(np.log(median), sigma)) + 1)
        start = self.rand.randrange(0, len(self.filler) - size)
        return self.filler[start : start + size]

    def session(
        self,
        *,
        project: int,
        start_ms: int,
        model: str,
        target: int,
        subagent_sizes: list[int],
        replay: tuple[list[str], list[int]] | None,
    ) -> tuple[list[str], list[int]]:
        rand = self.rand
        session_id = str(uuid.UUID(int=rand.getrandbits(128), version=4))
        cwd = f"/home/dev/src/project-{project:02d}" + ("/.worktrees/feature" if rand.random() < 0.1 else "")
        folder = self.root / "projects" / cwd.replace("/", "-").replace(".", "-")
        context = {
            "session": session_id,
            "cwd": cwd,
            "branch": "main" if rand.random() < 0.6 else f"feat/{project}",
            "version": rand.choice(VERSIONS),
            "agent_id": None,
            "models": {model: 1.0},
        }
        # Subagents first: the parent mirrors some of their calls in progress lines.
        mirrors: list[tuple[str, list[dict]]] = []
        for size in subagent_sizes:
            compaction = rand.random() < 0.1
            agent_id = f"acompact-{rand.getrandbits(24):06x}" if compaction else f"a{rand.getrandbits(28):07x}"
            agent = {**context, "agent_id": agent_id, "models": {model: 1.0} if compaction else SUBAGENT_MODELS}
            lines, _, finals = self._conversation(agent, start_ms + rand.randrange(60_000, 3_600_000), size)
            self._write(folder / session_id / "subagents" / f"agent-{agent_id}.jsonl", lines)
            self.subagent_files += 1
            mirrors.append((agent_id, finals[:3]))
        lines: list[str] = []
        if rand.random() < 0.3:
            lines.append(
                _dumps({"type": "summary", "summary": self._text(40, 0.4, 120).strip(), "leafUuid": self._uuid()})
            )
        ends: list[int] = []
        if replay is not None:  # a resumed session: whole exchanges of the earlier session, verbatim
            replayed, _ = _prefix(*replay, target // 2)
            lines += replayed
            self.resumed += 1
        body, body_ends, _ = self._conversation(
            context, start_ms, target - sum(len(line) + 1 for line in lines), mirrors
        )
        ends += [len(lines) + end for end in body_ends]
        lines += body
        self._write(folder / f"{session_id}.jsonl", lines)
        self.session_files += 1
        return lines, ends

    def _conversation(
        self, context: dict, start_ms: int, target: int, mirrors: list[tuple[str, list[dict]]] | None = None
    ) -> tuple[list[str], list[int], list[dict]]:
        """Exchanges (a prompt, then assistant steps with tool calls and results) until `target` bytes are written."""
        rand = self.rand
        lines: list[str] = []
        ends: list[int] = []
        finals: list[dict] = []
        written = counted = 0
        # A file stops after the step that reaches its size, and a small one cannot be shorter than one step: larger
        # files absorb what the tree has written beyond its plan so far, so the total stays close to the plan.
        planned, target = target, target - min(max(self.overshoot, 0), target // 2)
        now = start_ms
        cached = rand.randrange(8_000, 20_000)  # the context the next call reads from the prompt cache
        pending_write = rand.randrange(2_000, 8_000)  # new context since the last call: written to the cache
        models, weights = list(context["models"]), list(context["models"].values())
        base = {"cwd": context["cwd"], "session": context["session"], "branch": context["branch"]}
        extra = {"version": context["version"], "parentUuid": None}
        sidechain = {"isSidechain": context["agent_id"] is not None}
        if context["agent_id"]:
            sidechain["agentId"] = context["agent_id"]
        mirrors = list(mirrors or [])
        while written < max(target, 1):
            now += int(rand.expovariate(1 / 90_000)) + 2_000
            prompt = user_prompt(self._text(300, 1.2, 4_000), session=context["session"], ts=_ts(now))
            prompt.update(uuid=self._uuid(), cwd=context["cwd"], gitBranch=context["branch"], **sidechain, **extra)
            lines.append(_dumps(prompt))
            steps = 1 + int(rand.expovariate(1 / 2.5))
            for step in range(steps):
                now += rand.randrange(1_500, 40_000)
                model = rand.choices(models, weights)[0] if len(models) > 1 else models[0]
                if rand.random() < 0.01:
                    lines.append(self._synthetic(base, now))
                    continue  # (counted with the next step)
                last_step = step == steps - 1
                blocks: list[dict] = []
                if rand.random() < 0.3:
                    blocks.append({"type": "thinking", "thinking": self._text(500, 1.0, 8_000), "signature": "Eq0C"})
                blocks.append({"type": "text", "text": self._text(200, 1.0, 6_000)})
                task = None
                if not last_step:
                    if mirrors and rand.random() < 0.5:
                        task = mirrors.pop(0)
                        blocks.append(
                            tool_use(
                                f"toolu_{self.tag}{self._next():012x}",
                                "Task",
                                subagent_type=rand.choice(("Explore", "Plan", "general-purpose")),
                                description="look around",
                                prompt=self._text(300, 0.8, 3_000),
                            )
                        )
                    for _ in range(1 + int(rand.expovariate(1 / 0.8))):
                        name = rand.choice(TOOLS)
                        argument = self._text(500, 1.0, 20_000) if name in ("Edit", "Write") else self._text(60, 0.5)
                        blocks.append(
                            tool_use(
                                f"toolu_{self.tag}{self._next():012x}",
                                name,
                                file_path=context["cwd"] + "/src/module.py",
                                content=argument,
                            )
                        )
                tokens = self._usage(cached, pending_write)
                cached, pending_write = tokens["cached_after"], 0
                message_id, request_id = (
                    f"msg_01{self.tag}{self._next():014x}",
                    f"req_011C{self.tag}{self.counter:014x}",
                )
                partial = min(rand.randrange(1, 30), tokens["output"])  # never above the final count, as in real logs
                for index, block in enumerate(blocks):  # streamed: one line per block, output final on the last
                    final = index == len(blocks) - 1
                    record = assistant(
                        message_id,
                        request_id,
                        output=tokens["output"] if final else partial,
                        input_tokens=tokens["input"],
                        cache_5m=tokens["cache_5m"],
                        cache_1h=tokens["cache_1h"],
                        cache_read=tokens["cache_read"],
                        model=model,
                        ts=_ts(now + index * 250),
                        content=[block],
                        split=tokens["split"],
                        agent_id=context["agent_id"],
                        uuid=self._uuid(),
                        **base,
                    )
                    record.update(extra)
                    lines.append(_dumps(record))
                    self.assistant_lines += 1
                    if final:
                        finals.append(record)
                self.messages += 1
                now += len(blocks) * 250
                if task is not None:  # the subagent runs: its calls are mirrored in the parent's progress lines
                    for mirrored in task[1]:
                        lines.append(_dumps(progress_subagent(mirrored, agent_id=task[0], session=context["session"])))
                for block in blocks:
                    if block["type"] != "tool_use":
                        continue
                    now += rand.randrange(50, 15_000)
                    output = self._text(1_200, 1.3)
                    result = tool_result(
                        block["id"],
                        is_error=rand.random() < 0.04,
                        ts=_ts(now),
                        session=context["session"],
                        cwd=context["cwd"],
                    )
                    result["message"]["content"][0]["content"] = (
                        [{"type": "text", "text": output}] if block["name"].startswith("mcp__") else output
                    )
                    result.update(
                        uuid=self._uuid(),
                        gitBranch=context["branch"],
                        **sidechain,
                        **extra,
                        toolUseResult={"stdout": output, "stderr": "", "interrupted": False},
                    )
                    lines.append(_dumps(result))
                    pending_write += len(output) // 4
                written += sum(len(line) + 1 for line in lines[counted:])
                counted = len(lines)
                if written >= target:  # sessions end where they end, often mid-task
                    break
            if rand.random() < 0.02:
                lines.append(
                    _dumps(
                        {
                            "type": "system",
                            "subtype": "compact_boundary",
                            "content": "Conversation compacted",
                            "uuid": self._uuid(),
                            "timestamp": _ts(now),
                            "sessionId": context["session"],
                            "level": "info",
                            "compactMetadata": {"trigger": "auto", "preTokens": cached},
                        }
                    )
                )
                cached = rand.randrange(15_000, 40_000)
            if rand.random() < 0.05:
                lines.append(
                    _dumps(
                        {
                            "type": "file-history-snapshot",
                            "messageId": self._uuid(),
                            "isSnapshotUpdate": False,
                            "snapshot": {"messageId": self._uuid(), "trackedFileBackups": {}, "timestamp": _ts(now)},
                        }
                    )
                )
            ends.append(len(lines))
            written += sum(len(line) + 1 for line in lines[counted:])
            counted = len(lines)
        self.overshoot += written - planned
        return lines, ends, finals

    def _usage(self, cached: int, pending_write: int) -> dict:
        """Tokens of one call: the context grows call by call; now and then the cache has expired (read 0)."""
        rand = self.rand
        write = pending_write + rand.randrange(100, 3_000)
        cache_read = cached
        if rand.random() < 0.03:  # cache expired: everything is written again
            write, cache_read = write + cached, 0
        output = min(32_000, int(rand.lognormvariate(np.log(180), 1.1)) + 1)
        roll = rand.random()
        five_minute = write if roll < 0.35 else 0 if roll < 0.9 else write // 3
        return {
            "input": rand.randrange(1, 60),
            "output": output,
            "cache_5m": five_minute,
            "cache_1h": write - five_minute,
            "cache_read": cache_read,
            "split": rand.random() > 0.03,
            "cached_after": min(cached + write + output, 190_000),
        }

    def _synthetic(self, base: dict, now: int) -> str:
        record = assistant(
            f"{uuid.UUID(int=self.rand.getrandbits(128), version=4)}",
            "",
            output=0,
            input_tokens=0,
            model="<synthetic>",
            ts=_ts(now),
            uuid=self._uuid(),
            content=[{"type": "text", "text": 'API Error: 529 {"type":"error","error":{"type":"overloaded_error"}}'}],
            **base,
        )
        del record["requestId"]
        record["isApiErrorMessage"] = True
        self.assistant_lines += 1
        return _dumps(record)

    def _write(self, path: Path, lines: list[str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(lines) + "\n"
        path.write_text(text)
        size = len(text.encode())
        self.files += 1
        self.bytes += size
        self.lines += len(lines)
        self.sizes.append(size)
        self.last_path = path

    def shape(self, spec: TreeSpec, started: float) -> dict:
        sizes = np.array(self.sizes)
        return {
            "generator_version": GENERATOR_VERSION,
            "spec": asdict(spec),
            "files": self.files,
            "session_files": self.session_files,
            "subagent_files": self.subagent_files,
            "resumed_sessions": self.resumed,
            "bytes": self.bytes,
            "lines": self.lines,
            "assistant_lines": self.assistant_lines,
            "assistant_messages": self.messages,
            "file_bytes": {
                "min": int(sizes.min()),
                "p50": int(np.median(sizes)),
                "p90": int(np.percentile(sizes, 90)),
                "p99": int(np.percentile(sizes, 99)),
                "max": int(sizes.max()),
            },
            "seconds_to_write": round(time.perf_counter() - started, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="Folder to write (becomes a Claude config dir: OUT/projects/...).")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--total-mb", type=float, default=140)
    size.add_argument("--total-gb", type=float)
    parser.add_argument("--files", type=int, help="Number of files (default: max(2000, one per 64 KB)).")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    total = int(args.total_gb * 1e9) if args.total_gb else int(args.total_mb * 1e6)
    print(
        json.dumps(write_claude_tree(args.out, TreeSpec(total_bytes=total, files=args.files, seed=args.seed)), indent=2)
    )


if __name__ == "__main__":
    main()
