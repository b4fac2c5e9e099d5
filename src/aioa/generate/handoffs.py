"""Handoff tasks from a template grammar whose success on each model follows a hidden difficulty, and the first
version's tracking log.

A task is a template (family × template × paraphrase) with slot fillers (object, scope, language, constraints,
openers). Its difficulty comes from latent features that the text shows only in part: the family and the template's
level (hard words such as "race condition" are shared across templates, so they carry over to unseen ones, but each
template also has a hidden offset), the scope, language and constraints (each mentioned only sometimes), a "legacy"
marker, and noise no text shows. Success probabilities per model follow from the difficulty. The truth file records
each task's template id (routers are evaluated on templates they never saw), difficulty and probabilities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from aioa.generate.world import USER_PROJECTS, USERS, Calendar, cwd_for

CHEAP, STRONG = "deepseek-chat", "claude-sonnet-4-5-20250929"
TASK_TYPES = ("code_generation", "refactor", "test_writing", "documentation", "debugging", "question")
# family: (shift of the difficulty logit, templates as (level: -1 easy, 0 medium, 1 hard, paraphrases))
FAMILIES: dict[str, tuple[float, tuple[tuple[int, tuple[str, ...]], ...]]] = {
    "code_generation": (
        0.2,
        (
            (
                -1,
                (
                    "write a helper that formats dates for {obj}",
                    "add a small function to {obj} that formats dates",
                    "create a date-formatting helper in {obj}",
                ),
            ),
            (
                -1,
                (
                    "add a config flag to {obj}",
                    "introduce a new settings option in {obj}",
                    "expose a configuration toggle on {obj}",
                ),
            ),
            (
                0,
                (
                    "implement pagination for the list endpoint of {obj}",
                    "add paging to the listing API of {obj}",
                    "make the list endpoint of {obj} return pages",
                ),
            ),
            (
                0,
                (
                    "add retry with backoff to the outgoing calls of {obj}",
                    "make {obj} retry failed requests with exponential backoff",
                    "wrap the network calls of {obj} in retries with backoff",
                ),
            ),
            (
                1,
                (
                    "implement a lock-free queue for {obj}",
                    "write a concurrent work queue without locks for {obj}",
                    "build a wait-free job queue with atomic operations inside {obj}",
                ),
            ),
            (
                1,
                (
                    "implement distributed rate limiting across replicas of {obj}",
                    "add a rate limiter to {obj} that holds across all nodes of the cluster",
                    "make {obj} enforce one rate limit shared by every replica",
                ),
            ),
        ),
    ),
    "refactor": (
        0.0,
        (
            (
                -1,
                (
                    "rename the confusing variables in {obj}",
                    "give the variables in {obj} clearer names",
                    "clean up the variable names of {obj}",
                ),
            ),
            (
                -1,
                (
                    "split the long function in {obj} into smaller ones",
                    "break up the oversized function in {obj}",
                    "extract helpers from the longest function in {obj}",
                ),
            ),
            (
                0,
                (
                    "replace the global state in {obj} with dependency injection",
                    "remove the module-level singletons from {obj}",
                    "pass dependencies into {obj} instead of importing globals",
                ),
            ),
            (
                0,
                (
                    "move {obj} from callbacks to async/await",
                    "convert the callback code in {obj} to async functions",
                    "rewrite {obj} with async and await instead of callbacks",
                ),
            ),
            (
                1,
                (
                    "redesign the concurrency model of {obj}",
                    "rework how {obj} shares state between threads",
                    "restructure the threading and locking in {obj}",
                ),
            ),
            (
                1,
                (
                    "migrate the distributed transaction logic of {obj} to sagas",
                    "replace two-phase commit in {obj} with a saga",
                    "move {obj} off distributed transactions onto compensating steps",
                ),
            ),
        ),
    ),
    "test_writing": (
        -0.2,
        (
            (
                -1,
                (
                    "write a unit test for the getter in {obj}",
                    "add a test covering the simple accessor of {obj}",
                    "cover the getter of {obj} with a unit test",
                ),
            ),
            (
                -1,
                (
                    "add a regression test for the empty-input case of {obj}",
                    "test what {obj} does with empty input",
                    "write a test that feeds {obj} an empty list",
                ),
            ),
            (
                0,
                (
                    "write integration tests for the database layer of {obj}",
                    "test {obj} against a real database",
                    "add tests that run {obj} with its actual storage",
                ),
            ),
            (
                0,
                (
                    "add property-based tests for the parser in {obj}",
                    "fuzz the input parsing of {obj} with generated cases",
                    "write generative tests for how {obj} parses input",
                ),
            ),
            (
                1,
                (
                    "write a test that reproduces the intermittent deadlock in {obj}",
                    "make the flaky deadlock in {obj} reproducible in a test",
                    "capture the occasional hang of {obj} under concurrency in a deterministic test",
                ),
            ),
            (
                1,
                (
                    "write tests proving {obj} stays consistent under network partitions",
                    "test {obj} for consistency when distributed nodes lose contact",
                    "simulate split-brain and check {obj} keeps its invariants",
                ),
            ),
        ),
    ),
    "documentation": (
        -0.6,
        (
            (-1, ("add a docstring to {obj}", "document the public functions of {obj}", "write docstrings for {obj}")),
            (
                -1,
                (
                    "fix the typo in the README of {obj}",
                    "correct the spelling mistakes in the docs of {obj}",
                    "tidy the wording of the README for {obj}",
                ),
            ),
            (
                0,
                (
                    "write a usage guide for {obj}",
                    "explain how to use {obj} in a how-to page",
                    "draft a getting-started page for {obj}",
                ),
            ),
            (
                0,
                (
                    "document the configuration options of {obj}",
                    "list and explain every setting of {obj}",
                    "write the reference for the settings of {obj}",
                ),
            ),
            (
                1,
                (
                    "document the failure modes and recovery of {obj}",
                    "describe how {obj} fails and how operators recover it",
                    "write the runbook for outages of {obj}",
                ),
            ),
            (
                1,
                (
                    "write an architecture decision record for sharding {obj}",
                    "explain the trade-offs of partitioning {obj} in a distributed design doc",
                    "document the design for splitting {obj} across shards",
                ),
            ),
        ),
    ),
    "debugging": (
        0.5,
        (
            (
                -1,
                (
                    "fix the off-by-one error in {obj}",
                    "correct the loop bound that skips the last item in {obj}",
                    "fix the index error at the end of the list in {obj}",
                ),
            ),
            (
                -1,
                (
                    "fix the failing import in {obj}",
                    "repair the broken import that stops {obj} from loading",
                    "make {obj} import again after the rename",
                ),
            ),
            (
                0,
                (
                    "find why {obj} returns stale data",
                    "debug the stale reads in {obj}",
                    "track down where {obj} serves outdated values",
                ),
            ),
            (
                0,
                (
                    "fix the memory leak in {obj}",
                    "find what keeps growing the memory of {obj}",
                    "stop {obj} from leaking memory over time",
                ),
            ),
            (
                1,
                (
                    "find the race condition in {obj}",
                    "debug the intermittent data corruption under load in {obj}",
                    "locate the concurrency bug that corrupts state in {obj}",
                ),
            ),
            (
                1,
                (
                    "find why {obj} loses messages during failover",
                    "debug the dropped events when {obj} switches leader",
                    "explain the lost writes of the distributed {obj} after a node restart",
                ),
            ),
        ),
    ),
    "question": (
        -0.4,
        (
            (
                -1,
                (
                    "what does the main function of {obj} return",
                    "explain what {obj} returns from its entry point",
                    "tell me the return value of the main call in {obj}",
                ),
            ),
            (
                -1,
                (
                    "which library does {obj} use for logging",
                    "what logging package is {obj} built on",
                    "name the logger used by {obj}",
                ),
            ),
            (
                0,
                (
                    "why is {obj} slower on the first request",
                    "explain the cold-start latency of {obj}",
                    "what makes the first call to {obj} slow",
                ),
            ),
            (
                0,
                (
                    "how does {obj} handle authentication errors",
                    "walk me through the auth error path in {obj}",
                    "explain what {obj} does when a token is rejected",
                ),
            ),
            (
                1,
                (
                    "prove the invariants of the locking protocol in {obj}",
                    "argue formally that {obj} cannot deadlock",
                    "show that the lock ordering in {obj} is always safe under concurrency",
                ),
            ),
            (
                1,
                (
                    "estimate the worst-case complexity of the query planner in {obj}",
                    "what is the asymptotic cost of the planner in {obj}",
                    "analyse the complexity of how {obj} optimises queries",
                ),
            ),
        ),
    ),
}
OBJECTS = (
    "the payment service",
    "the cache layer",
    "the CSV importer",
    "the auth middleware",
    "the scheduler",
    "the billing reconciler",
    "the search index",
    "the retry helper",
    "the session store",
    "the report exporter",
    "the webhook dispatcher",
    "the feature-flag client",
    "the invoice generator",
    "the metrics collector",
    "the upload handler",
    "the notification worker",
)
LEGACY = 0.4  # "the legacy ..." (a visible word, a quarter of tasks)
# latent scope: (logit effect, phrases); mentioned in 70% of texts
SCOPES = (
    (-0.6, ("in a single function", "in one file", "for one small function")),
    (-0.2, ("within the module", "in this package")),
    (0.3, ("across the service", "in every endpoint of the service")),
    (0.8, ("across all services", "throughout the whole platform", "in every repository")),
)
LANGUAGES = (("Python", -0.3), ("TypeScript", -0.2), ("Go", 0.0), ("Java", 0.1), ("Rust", 0.4), ("C++", 0.6))
CONSTRAINTS = (
    "without changing the public API",
    "keeping it backwards compatible",
    "keeping p99 latency under 50 ms",
    "with no new dependencies",
    "so that it stays thread-safe",
    "without downtime",
)
CONSTRAINT_EFFECT = 0.45
OPENERS = ("Please {}.", "Could you {}?", "Can you {}?", "I need you to {}.", "{}.", "Quick one: {}.")
LEVEL_EFFECT, TEMPLATE_NOISE, HIDDEN_NOISE = 1.1, 0.3, 0.5
# The first version's router: the strong model when the text has a "hard" keyword (logging policy of the sample).
HARD_WORDS = ("race condition", "concurrency", "distributed", "lock-free", "deadlock", "redesign", "prove", "migrate")


def _template_offsets() -> dict[str, float]:
    """Each template's hidden offset: fixed (not per seed), never in the text."""
    rng = np.random.default_rng(20240614)
    return {
        template_id: float(rng.normal(0, TEMPLATE_NOISE))
        for template_id in (
            f"{family}/t{index}" for family, (_, items) in FAMILIES.items() for index in range(len(items))
        )
    }


TEMPLATE_OFFSETS = _template_offsets()
TEMPLATE_IDS = tuple(TEMPLATE_OFFSETS)


@dataclass(frozen=True)
class Task:
    text: str
    task_type: str
    template_id: str
    difficulty: float
    scope: int  # 0 (one function) .. 3 (every service): larger scopes carry more context (input tokens)
    text_p_cheap: float  # E[P(cheap succeeds) | text]: what a perfect reader of the text knowing this generator
    text_p_strong: float  # could say (the hidden parts integrated out); the Bayes-optimal router from the text


def _pick(rng: np.random.Generator, items):
    return items[int(rng.integers(0, len(items)))]


def draw_task(rng: np.random.Generator) -> Task:
    """One task from the grammar, with its difficulty from the latent features (only some of them in the text)."""
    family = _pick(rng, TASK_TYPES)
    shift, templates = FAMILIES[family]
    index = int(rng.integers(0, len(templates)))
    level, paraphrases = templates[index]
    template_id = f"{family}/t{index}"
    legacy = rng.random() < 0.25
    target = _pick(rng, OBJECTS)
    target = target.replace("the ", "the legacy ", 1) if legacy else target
    core = _pick(rng, paraphrases).format(obj=target)
    scope = int(rng.integers(0, len(SCOPES)))
    language, language_effect = _pick(rng, LANGUAGES)
    constraints = list(rng.choice(len(CONSTRAINTS), size=int(rng.binomial(2, 0.35)), replace=False))
    # `shown`: the logit's part the text reveals; `hidden`: the variance of the rest (as a normal)
    parts, shown = [core], shift + LEVEL_EFFECT * level + LEGACY * legacy
    hidden = HIDDEN_NOISE**2 + TEMPLATE_NOISE**2 + CONSTRAINT_EFFECT**2 * 0.3
    scope_effects, language_effects = np.array([e for e, _ in SCOPES]), np.array([e for _, e in LANGUAGES])
    if rng.random() < 0.7:
        parts.append(_pick(rng, SCOPES[scope][1]))
        shown += SCOPES[scope][0]
    else:
        shown, hidden = shown + scope_effects.mean(), hidden + scope_effects.var()
    if rng.random() < 0.6:
        parts.append(f"(the code is {language})" if rng.random() < 0.5 else f"in {language}")
        shown += language_effect
    else:
        shown, hidden = shown + language_effects.mean(), hidden + language_effects.var()
    mentioned = [item for item in constraints if rng.random() < 0.6]
    parts += [CONSTRAINTS[item] for item in mentioned]
    shown += CONSTRAINT_EFFECT * (len(mentioned) + 0.3)  # about 0.3 unmentioned constraints on average
    text = _pick(rng, OPENERS).format(" ".join(parts))
    text = text[0].upper() + text[1:]
    logit = (
        shift
        + LEVEL_EFFECT * level
        + TEMPLATE_OFFSETS[template_id]
        + SCOPES[scope][0]
        + language_effect
        + CONSTRAINT_EFFECT * len(constraints)
        + LEGACY * legacy
        + rng.normal(0, HIDDEN_NOISE)
    )
    return Task(text, family, template_id, float(_difficulty(logit)), scope, *_expected_success(shown, hidden))


def _difficulty(logit):
    return _sigmoid(0.9 * (logit - 0.5))


_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(24)


def _expected_success(mean: float, variance: float) -> tuple[float, float]:
    """E[P(success)] per model over logit ~ N(mean, variance) (Gauss–Hermite)."""
    cheap, strong = success_probabilities(_difficulty(mean + np.sqrt(2 * variance) * _NODES))
    return float(_WEIGHTS @ cheap / np.sqrt(np.pi)), float(_WEIGHTS @ strong / np.sqrt(np.pi))


def _sigmoid(value):
    return 1 / (1 + np.exp(-value))


def success_probabilities(difficulty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hidden truth: the strong model is better, and both get worse with difficulty."""
    return _sigmoid(4.0 - 8.0 * difficulty), _sigmoid(5.0 - 5.0 * difficulty)


def write_handoffs(root: Path, calendar: Calendar, rng: np.random.Generator, count: int) -> tuple[int, list[dict]]:
    tasks = [draw_task(rng) for _ in range(count)]
    difficulty = np.array([task.difficulty for task in tasks])
    p_cheap, p_strong = success_probabilities(difficulty)
    users = [user for user in USERS if USERS[user][0]]
    rows, truth = [], []
    for index in range(count):
        day = calendar.days[int(rng.integers(0, len(calendar.days)))]
        ts = datetime(day.year, day.month, day.day, int(rng.integers(8, 20)), int(rng.integers(0, 60)))
        user = users[int(rng.integers(0, len(users)))]
        project = USER_PROJECTS[user][int(rng.integers(0, len(USER_PROJECTS[user])))]
        task = tasks[index]
        text = task.text
        # A noisy keyword router decided, exploring 10% of the time (propensity logged for off-policy evaluation).
        predicted = "strong" if any(word in text.lower() for word in HARD_WORDS) else "cheap"
        explore = rng.random() < 0.1
        route = ("cheap" if predicted == "strong" else "strong") if explore else predicted
        propensity = 0.1 if explore else 0.9
        target, p_target = (CHEAP, p_cheap[index]) if route == "cheap" else (STRONG, p_strong[index])
        success = bool(rng.random() < p_target)
        # Larger scopes bring more context: input tokens correlate weakly with the (partly hidden) scope.
        input_tokens = int(np.clip(rng.lognormal(np.log(1_500) + 0.35 * task.scope, 0.6), 200, 40_000))
        output_tokens = int(rng.integers(100, 3_000))
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
            "task_type": task.task_type,
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
                "template_id": task.template_id,
                "difficulty": round(float(difficulty[index]), 6),
                "p_success_cheap_from_text": round(task.text_p_cheap, 6),
                "p_success_strong_from_text": round(task.text_p_strong, 6),
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


TRUTH_COLUMNS = (
    "task_id",
    "template_id",
    "difficulty",
    "p_success_cheap",
    "p_success_strong",
    "p_success_cheap_from_text",
    "p_success_strong_from_text",
    "cheap_model",
    "strong_model",
)


def truth_csv(truth: list[dict]) -> str:
    """`labels/routing_truth.csv`: per task its template id (for splits by template) and the hidden truth."""
    lines = [",".join(TRUTH_COLUMNS)] + [",".join(str(row[column]) for column in TRUTH_COLUMNS) for row in truth]
    return "\n".join(lines) + "\n"


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
                        "task": draw_task(rng).text,
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
