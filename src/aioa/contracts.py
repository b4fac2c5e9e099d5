"""Versioned event contracts: the one definition of every row the product stores.

Readers produce these shapes, the warehouse schema is generated from them, and
`docs/data-contracts.md` documents them. Column order here is table column order.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTRACT_VERSION = "1.0"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class Contract:
    name: str
    table: str
    version: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


_TENANCY = (
    Column("org_id", "VARCHAR", "Organisation (tenant) the row belongs to; unmapped data goes to `default`.", False),
    Column("team_id", "VARCHAR", "Team inside the org, from the attribution config."),
    Column("user_id", "VARCHAR", "User who ran the agent, from the attribution config or the log."),
    Column("project_id", "VARCHAR", "Project (repository or product) the work was for."),
)

_SOURCE = (
    Column(
        "source_system",
        "VARCHAR",
        "Reader that produced the row: claude_code, otel, handoff_log, routing_outcomes.",
        False,
    ),
    Column("source_file", "VARCHAR", "Absolute path of the file the row came from.", False),
    Column("source_line", "BIGINT", "1-based line (or record) number in that file.", False),
    Column("ingest_run_id", "VARCHAR", "Ingest run that wrote or last updated the row.", False),
    Column("contract_version", "VARCHAR", "Version of this contract the row follows.", False),
)

LLM_CALL = Contract(
    name="llm_call",
    table="llm_calls",
    version=CONTRACT_VERSION,
    description="One row per billed model response (after de-duplication of streamed snapshots and replays).",
    key=("call_key",),
    columns=(
        Column("call_key", "VARCHAR", "De-duplication key: source system, message id and request id.", False),
        *_TENANCY,
        Column("session_id", "VARCHAR", "Agent session id."),
        Column("agent_id", "VARCHAR", "Subagent id, or `main` for the main thread."),
        Column("is_subagent", "BOOLEAN", "True when a subagent (Task, compaction, …) made the call."),
        Column("message_id", "VARCHAR", "Provider message id (`msg_…`)."),
        Column("request_id", "VARCHAR", "Provider request id (`req_…`)."),
        Column("ts_utc", "TIMESTAMP", "When the response was recorded, UTC.", False),
        Column("provider", "VARCHAR", "Model provider (anthropic, openai, deepseek, …).", False),
        Column("model", "VARCHAR", "Model name as logged.", False),
        Column("input_tokens", "BIGINT", "Uncached input tokens (Anthropic semantics: excludes cache tokens).", False),
        Column("output_tokens", "BIGINT", "Output tokens, including thinking.", False),
        Column("cache_write_5m_tokens", "BIGINT", "Tokens written to the 5-minute prompt cache.", False),
        Column("cache_write_1h_tokens", "BIGINT", "Tokens written to the 1-hour prompt cache.", False),
        Column("cache_read_tokens", "BIGINT", "Tokens read from the prompt cache.", False),
        Column("cost_usd", "DECIMAL(20,10)", "Cost in USD; NULL when the model has no known price (see price_status)."),
        Column("price_status", "VARCHAR", "priced, override, unpriced (no known price) or not_billed (errors).", False),
        Column("price_source", "VARCHAR", "Where the price came from, e.g. `genai-prices 0.2.3` or an override file."),
        Column("price_version", "VARCHAR", "Version or date of the price data used."),
        Column("latency_ms", "BIGINT", "Response latency in milliseconds, where the log shows it."),
        Column("status", "VARCHAR", "ok or error.", False),
        Column("error", "VARCHAR", "Error text for failed or synthetic responses."),
        Column("cwd", "VARCHAR", "Working directory the agent ran in."),
        Column("git_branch", "VARCHAR", "Git branch at the time of the call."),
        Column("client_version", "VARCHAR", "Version of the client (e.g. Claude Code) that wrote the log."),
        *_SOURCE,
    ),
)

TOOL_CALL = Contract(
    name="tool_call",
    table="tool_calls",
    version=CONTRACT_VERSION,
    description="One row per tool invocation by a model, with its result where the log shows it.",
    key=("tool_call_key",),
    columns=(
        Column("tool_call_key", "VARCHAR", "De-duplication key: source system and tool-use id.", False),
        *_TENANCY,
        Column("session_id", "VARCHAR", "Agent session id."),
        Column("agent_id", "VARCHAR", "Subagent id, or `main`."),
        Column("message_id", "VARCHAR", "Message id of the model response that called the tool."),
        Column("tool_use_id", "VARCHAR", "Provider tool-use id (`toolu_…`)."),
        Column("ts_utc", "TIMESTAMP", "When the tool was called, UTC.", False),
        Column("tool_name", "VARCHAR", "Tool name as logged (e.g. `Read`, `mcp__github__create_issue`).", False),
        Column("is_mcp", "BOOLEAN", "True for MCP tools.", False),
        Column("mcp_server", "VARCHAR", "MCP server parsed from `mcp__<server>__<tool>`."),
        Column("mcp_tool", "VARCHAR", "MCP tool parsed from `mcp__<server>__<tool>`."),
        Column("mcp_plugin", "VARCHAR", "Plugin name for `mcp__plugin_<plugin>_<server>__<tool>`."),
        Column("subagent_type", "VARCHAR", "`subagent_type` of a Task call."),
        Column("success", "BOOLEAN", "False when the result was an error; NULL when no result was logged."),
        Column("duration_ms", "BIGINT", "Time from call to result, where the log shows both."),
        Column("error", "VARCHAR", "Error text of a failed call (truncated)."),
        *_SOURCE,
    ),
)

HANDOFF = Contract(
    name="handoff",
    table="handoffs",
    version=CONTRACT_VERSION,
    description="A task delegated by an orchestrating model to a target model, with its outcome.",
    key=("handoff_id",),
    columns=(
        Column("handoff_id", "VARCHAR", "Unique id of the handoff event.", False),
        *_TENANCY,
        Column("session_id", "VARCHAR", "Session of the orchestrator."),
        Column("ts_utc", "TIMESTAMP", "When the handoff was made, UTC.", False),
        Column("task_id", "VARCHAR", "Id of the delegated task.", False),
        Column("task_text", "VARCHAR", "Text of the task (prompt)."),
        Column("task_type", "VARCHAR", "Kind of task (code_generation, refactor, question, …)."),
        Column("orchestrator_model", "VARCHAR", "Model that delegated the task."),
        Column("target_model", "VARCHAR", "Model chosen to do the task.", False),
        Column("reason", "VARCHAR", "Why this target was chosen."),
        Column("router_version", "VARCHAR", "Router (model version) that decided, if any."),
        Column("predicted_route", "VARCHAR", "Route the router predicted (cheap or strong, or a model)."),
        Column("router_confidence", "DOUBLE", "Router's calibrated probability for its prediction."),
        Column(
            "propensity", "DOUBLE", "Probability with which the logged target was chosen (for off-policy evaluation)."
        ),
        Column("success", "BOOLEAN", "Whether the task succeeded; NULL when the outcome is unknown."),
        Column("quality_score", "DOUBLE", "Outcome quality 0–1."),
        Column(
            "outcome_verified", "BOOLEAN", "False for imported legacy rows whose outcome was never measured.", False
        ),
        Column("error", "VARCHAR", "Error text when the task failed."),
        Column("input_tokens", "BIGINT", "Input tokens spent by the target model."),
        Column("output_tokens", "BIGINT", "Output tokens spent by the target model."),
        Column("cost_usd", "DECIMAL(20,10)", "Cost of the target model's work in USD; NULL when unknown."),
        Column("latency_ms", "BIGINT", "Wall time of the delegated task."),
        Column(
            "alternatives",
            "JSON",
            "Known outcomes of other models on the same task: list of {model, success, quality_score, cost_usd, latency_ms}.",
        ),
        *_SOURCE,
    ),
)

ORG = Contract(
    name="org",
    table="orgs",
    version=CONTRACT_VERSION,
    key=("org_id",),
    description="A tenant. Every fact row carries its org_id.",
    columns=(
        Column("org_id", "VARCHAR", "Org id.", False),
        Column("name", "VARCHAR", "Display name."),
        Column("monthly_budget_usd", "DECIMAL(20,2)", "Monthly AI budget, if set."),
    ),
)
TEAM = Contract(
    name="team",
    table="teams",
    version=CONTRACT_VERSION,
    key=("team_id",),
    description="A team inside an org.",
    columns=(
        Column("team_id", "VARCHAR", "Team id.", False),
        Column("org_id", "VARCHAR", "Org the team belongs to.", False),
        Column("name", "VARCHAR", "Display name."),
    ),
)
USER = Contract(
    name="user",
    table="users",
    version=CONTRACT_VERSION,
    key=("user_id",),
    description="A person (or service account) whose agents produce usage.",
    columns=(
        Column("user_id", "VARCHAR", "User id.", False),
        Column("org_id", "VARCHAR", "Org of the user.", False),
        Column("team_id", "VARCHAR", "Team of the user."),
        Column("name", "VARCHAR", "Display name."),
        Column("email", "VARCHAR", "Email, if known."),
    ),
)
PROJECT = Contract(
    name="project",
    table="projects",
    version=CONTRACT_VERSION,
    key=("org_id", "project_id"),
    description="A project: one or more repositories; project groups merge several into one product. A project id "
    "is a name within its org: two orgs may each have a project `api`.",
    columns=(
        Column("project_id", "VARCHAR", "Project id.", False),
        Column("org_id", "VARCHAR", "Org that owns the project.", False),
        Column("team_id", "VARCHAR", "Owning team, if any."),
        Column("name", "VARCHAR", "Display name."),
        Column("project_group", "VARCHAR", "Product the project rolls up to (several repositories → one group)."),
    ),
)

GIT_COMMIT = Contract(
    name="git_commit",
    table="git_commits",
    version=CONTRACT_VERSION,
    key=("org_id", "repo_path", "branch", "commit_sha"),
    description="A commit on a branch of a local repository that an org's sessions worked in (found from the calls' "
    "cwd and git branch by `aioa integrations link-git`). Authors are not stored.",
    columns=(
        Column("org_id", "VARCHAR", "Org whose calls ran in this repository.", False),
        Column("repo_path", "VARCHAR", "Working-tree root of the repository on the machine that ran the agent.", False),
        Column("remote_url", "VARCHAR", "URL of the `origin` remote, credentials removed; NULL without one."),
        Column("branch", "VARCHAR", "Local branch the commit is reachable from.", False),
        Column("commit_sha", "VARCHAR", "Full commit id.", False),
        Column("committed_at", "TIMESTAMP", "Committer time, UTC.", False),
        Column("message", "VARCHAR", "Commit message (issue keys are read from it)."),
        Column("parent_count", "BIGINT", "Number of parents (2 or more: a merge).", False),
        Column("linked_at", "TIMESTAMP", "When the repository was read.", False),
    ),
)
LINKED_ITEM = Contract(
    name="linked_item",
    table="linked_items",
    version=CONTRACT_VERSION,
    key=("org_id", "tracker", "item_key"),
    description="A pull request (GitHub) or an issue (Jira, Linear) fetched from its tracker's API for a branch or an "
    "issue key the org's work mentions.",
    columns=(
        Column("org_id", "VARCHAR", "Org whose work links to the item.", False),
        Column("tracker", "VARCHAR", "github, jira or linear.", False),
        Column("item_kind", "VARCHAR", "pull_request or issue.", False),
        Column("item_key", "VARCHAR", "`owner/name#123` for a pull request, `ABC-123` for an issue.", False),
        Column("repo", "VARCHAR", "GitHub `owner/name` of a pull request."),
        Column("head_branch", "VARCHAR", "Head branch of a pull request."),
        Column("title", "VARCHAR", "Title as the tracker shows it."),
        Column("status", "VARCHAR", "open, closed, merged (pull requests) or the tracker's status name (issues)."),
        Column("url", "VARCHAR", "Link to the item."),
        Column("fetched_at", "TIMESTAMP", "When the tracker was asked.", False),
    ),
)

FACT_CONTRACTS = (LLM_CALL, TOOL_CALL, HANDOFF)
ENTITY_CONTRACTS = (ORG, TEAM, USER, PROJECT)
LINK_CONTRACTS = (GIT_COMMIT, LINKED_ITEM)  # written by `aioa integrations`, not by the log readers
ALL_CONTRACTS = FACT_CONTRACTS + ENTITY_CONTRACTS + LINK_CONTRACTS
