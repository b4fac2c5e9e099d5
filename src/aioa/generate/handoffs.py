"""Handoff tasks whose success on each model follows a hidden difficulty, and the first version's tracking log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from aioa.generate.world import USER_PROJECTS, USERS, Calendar, cwd_for

CHEAP, STRONG = "deepseek-chat", "claude-sonnet-4-5-20250929"
TASK_TYPES = ("code_generation", "refactor", "test_writing", "documentation", "debugging", "question")
EASY = (
    "rename the variable",
    "add a docstring to",
    "fix the typo in",
    "format",
    "add a log line to",
    "write a unit test for the getter in",
)
HARD = (
    "redesign the concurrency model of",
    "find the race condition in",
    "make lock-free",
    "migrate the distributed transaction logic of",
    "prove the invariants of",
    "optimise the query planner in",
)
OBJECTS = (
    "the payment service",
    "the cache layer",
    "the CSV importer",
    "the auth middleware",
    "the scheduler",
    "the billing reconciler",
    "the search index",
    "the retry helper",
)


def _sigmoid(value):
    return 1 / (1 + np.exp(-value))


def success_probabilities(difficulty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hidden truth: the strong model is better, and both get worse with difficulty."""
    return _sigmoid(4.0 - 8.0 * difficulty), _sigmoid(5.0 - 5.0 * difficulty)


def task_text(rng: np.random.Generator, difficulty: float) -> str:
    verbs = HARD if rng.random() < difficulty else EASY
    verb = verbs[int(rng.integers(0, len(verbs)))]
    target = OBJECTS[int(rng.integers(0, len(OBJECTS)))]
    detail = " considering edge cases and performance" * int(difficulty * 3)
    return f"Please {verb} {target}{detail}."


def write_handoffs(root: Path, calendar: Calendar, rng: np.random.Generator, count: int) -> tuple[int, list[dict]]:
    difficulty = rng.beta(2.0, 2.0, size=count)
    p_cheap, p_strong = success_probabilities(difficulty)
    users = [user for user in USERS if USERS[user][0]]
    rows, truth = [], []
    for index in range(count):
        day = calendar.days[int(rng.integers(0, len(calendar.days)))]
        ts = datetime(day.year, day.month, day.day, int(rng.integers(8, 20)), int(rng.integers(0, 60)))
        user = users[int(rng.integers(0, len(users)))]
        project = USER_PROJECTS[user][int(rng.integers(0, len(USER_PROJECTS[user])))]
        text = task_text(rng, float(difficulty[index]))
        # A noisy keyword router decided, exploring 10% of the time (propensity logged for off-policy evaluation).
        predicted = "strong" if any(word in text for word in HARD) else "cheap"
        explore = rng.random() < 0.1
        route = ("cheap" if predicted == "strong" else "strong") if explore else predicted
        propensity = 0.1 if explore else 0.9
        target, p_target = (CHEAP, p_cheap[index]) if route == "cheap" else (STRONG, p_strong[index])
        success = bool(rng.random() < p_target)
        input_tokens, output_tokens = int(rng.integers(500, 6_000)), int(rng.integers(100, 3_000))
        price = (0.27, 1.10) if target == CHEAP else (3.0, 15.0)
        row = {
            "schema": "aioa.handoff/1",
            "handoff_id": f"h-{index:07d}",
            "ts": ts.isoformat() + "Z",
            "user_id": user,
            "project_id": project,
            "cwd": cwd_for(user, project, 0),
            "session_id": f"{user}-orchestrator-{day.isoformat()}",
            "task_id": f"task-{index:07d}",
            "task_text": text,
            "task_type": TASK_TYPES[int(rng.integers(0, len(TASK_TYPES)))],
            "orchestrator_model": "claude-opus-4-6",
            "target_model": target,
            "provider": "deepseek" if target == CHEAP else "anthropic",
            "reason": "router",
            "router_version": "keyword-v0",
            "predicted_route": predicted,
            "router_confidence": 0.95,
            "propensity": propensity,
            "success": success,
            "quality_score": round(float(np.clip(rng.normal(0.85 if success else 0.3, 0.1), 0, 1)), 3),
            "error": None if success else "tests failed",
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": round((input_tokens * price[0] + output_tokens * price[1]) / 1e6, 6),
            "latency_ms": int(rng.integers(2_000, 90_000)),
            "alternatives": [],
        }
        if rng.random() < 0.2:
            other, p_other = (STRONG, p_strong[index]) if target == CHEAP else (CHEAP, p_cheap[index])
            other_success = bool(rng.random() < p_other)
            row["alternatives"] = [
                {
                    "model": other,
                    "success": other_success,
                    "quality_score": 0.85 if other_success else 0.3,
                    "cost_usd": None,
                    "latency_ms": int(rng.integers(2_000, 90_000)),
                }
            ]
        rows.append(row)
        truth.append(
            {
                "task_id": row["task_id"],
                "difficulty": round(float(difficulty[index]), 6),
                "p_success_cheap": round(float(p_cheap[index]), 6),
                "p_success_strong": round(float(p_strong[index]), 6),
                "cheap_model": CHEAP,
                "strong_model": STRONG,
            }
        )
    folder = root / "handoffs"
    folder.mkdir(parents=True, exist_ok=True)
    by_month: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda item: item["ts"]):
        by_month.setdefault(row["ts"][:7], []).append(json.dumps(row))
    for month, lines in by_month.items():
        (folder / f"handoffs-{month}.jsonl").write_text("\n".join(lines) + "\n")
    legacy = _legacy_lines(calendar, rng)
    (folder / "legacy").mkdir(exist_ok=True)
    (folder / "legacy" / "tracking-v0.jsonl").write_text("\n".join(legacy) + "\n")
    return len(rows), truth


def _legacy_lines(calendar: Calendar, rng: np.random.Generator) -> list[str]:
    """The first version's log: session, handoff and subagent events; every handoff recorded as a success."""
    lines = []
    for index in range(60):
        day = calendar.days[int(rng.integers(0, min(30, len(calendar.days))))]
        ts = datetime(day.year, day.month, day.day, 10) + timedelta(minutes=index)
        session = f"legacy-session-{index:04d}"
        lines.append(
            json.dumps(
                {
                    "event": "session",
                    "session_id": session,
                    "timestamp": ts.isoformat(),
                    "project": "checkout-api",
                    "user": "alice",
                }
            )
        )
        for step in range(int(rng.integers(1, 5))):
            lines.append(
                json.dumps(
                    {
                        "event": "handoff",
                        "session_id": session,
                        "timestamp": (ts + timedelta(seconds=step)).isoformat(),
                        "task": task_text(rng, float(rng.random())),
                        "task_type": "code_generation",
                        "from_model": "claude-opus-4-6",
                        "to_model": CHEAP,
                        "reason": "keyword match",
                        "confidence": 0.95,
                        "success": True,
                        "tokens": int(rng.integers(200, 4_000)),
                        "cost": 0.001,
                        "duration_ms": int(rng.integers(1_000, 30_000)),
                    }
                )
            )
        lines.append(
            json.dumps(
                {
                    "event": "subagent",
                    "session_id": session,
                    "timestamp": ts.isoformat(),
                    "agent_type": "Explore",
                    "model": "claude-haiku-4-5",
                    "tokens": 1200,
                    "task": "explore",
                }
            )
        )
    return lines
