"""Which tenant and filter columns each relation a reader queries carries: the one map the data-access layer
narrows rows by (`TenantScope.filter_sql(row_columns=...)`) and applies the global filters by.

A narrowed scope (a team's or a user's rows) reads a relation through the `team_id`/`user_id` it has; a relation
with neither (an org-level dimension) gives a narrowed scope no rows. The map is checked against
a built warehouse (tests/security/test_row_scope.py): a column listed that the relation lacks, or a column the
relation has that is missing here, fails the test. ML tables are described at read time (`ml_tables`)."""

from __future__ import annotations

from aioa.warehouse.access import ROW_COLUMNS, TenantScope

# The columns scoping and the global filters (org, team, project, model) use; others are not listed.
SCOPING_COLUMNS = frozenset({"org_id", "team_id", "user_id", "project_id", "model"})

_ALL = SCOPING_COLUMNS
_NO_MODEL = frozenset({"org_id", "team_id", "user_id", "project_id"})

RELATION_COLUMNS: dict[str, frozenset[str]] = {
    "raw.llm_calls": _ALL,
    "raw.quarantine": frozenset({"org_id"}),
    "marts.fct_llm_calls": _ALL,
    "marts.fct_tool_calls": _NO_MODEL,
    "marts.fct_handoffs": _NO_MODEL,
    "marts.fct_sessions": _NO_MODEL,
    "marts.agg_usage_daily": _ALL,
    "marts.agg_usage_hourly": _ALL,
    "marts.agg_mcp_tools_daily": _NO_MODEL,
    "marts.agg_mcp_tool_usage_daily": _ALL,
    "marts.mcp_tool_recommendations": frozenset({"org_id"}),
    "marts.agg_tool_usage_daily": _NO_MODEL,
    "marts.fct_session_sequences": _NO_MODEL,
    "marts.agg_project_lifecycle_weekly": frozenset({"org_id", "project_id"}),  # org totals: no team/user rows
    "marts.fct_commit_costs": _NO_MODEL,
    "marts.agg_issue_costs": _NO_MODEL,
    "marts.agg_pull_request_costs": _NO_MODEL,
    "marts.dim_orgs": frozenset({"org_id"}),
    "marts.dim_teams": frozenset({"org_id", "team_id"}),
    "marts.dim_users": frozenset({"org_id", "team_id", "user_id"}),
    "marts.dim_projects": frozenset({"org_id", "team_id", "project_id"}),
    "marts.dim_models": frozenset({"org_id", "model"}),
    "marts.time_spine_daily": frozenset(),  # a calendar: no tenant data
}


def columns_of(relation: str) -> frozenset[str]:
    """The scoping and filter columns of `relation` (`schema.table`); a relation not listed is a KeyError."""
    try:
        return RELATION_COLUMNS[relation]
    except KeyError:
        raise KeyError(f"{relation} is not in RELATION_COLUMNS: list its tenant columns there") from None


# Relations whose rows hold totals over every team's rows (a project's lifetime cost and active span): their
# `team_id` names an owner, not whose rows were summed, so they cannot be narrowed to a team's or a user's rows.
ORG_TOTALS = frozenset({"marts.dim_projects"})


def row_columns(relation: str) -> frozenset[str]:
    """Which of `team_id`/`user_id` narrow `relation` to a team's or a user's rows (none: a narrowed scope reads
    no rows of it)."""
    return frozenset() if relation in ORG_TOTALS else columns_of(relation) & ROW_COLUMNS


def tenant_filter(scope: TenantScope, relation: str, *, prefix: str = "") -> tuple[str, dict]:
    """`scope`'s bound WHERE fragment for `relation` (read as `<prefix>column`): its orgs, and the team/user rows
    of a narrowed scope."""
    return scope.filter_sql(f"{prefix}org_id", row_columns=row_columns(relation))
