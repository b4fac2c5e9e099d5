"""Set-based attribution of staged rows, resolved once per distinct (cwd, config dir, logged ids) combination."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from aioa.attribution.config import AttributionConfig

_USER_RULES = pa.schema(
    [("user_id", pa.string()), ("org_id", pa.string()), ("team_id", pa.string()),
     ("kind", pa.string()), ("pattern", pa.string()), ("priority", pa.int64())]
)
_PROJECT_RULES = pa.schema(
    [("project_id", pa.string()), ("org_id", pa.string()), ("team_id", pa.string()),
     ("kind", pa.string()), ("pattern", pa.string()), ("priority", pa.int64())]
)


def _rule_tables(config: AttributionConfig) -> tuple[pa.Table, pa.Table]:
    user_rules, project_rules = [], []
    for user in config.users:
        kinds = {"name": user.match.names + [user.id] + ([user.email] if user.email else []),
                 "config_dir": user.match.config_dirs, "home": user.match.homes, "host": user.match.hosts}
        for kind, patterns in kinds.items():
            for pattern in patterns:
                user_rules.append((user.id, user.org, user.team, kind, pattern.rstrip("/") or "/", len(user_rules)))
    for project in config.projects:
        for kind, patterns in {"name": project.match.names + [project.id], "cwd": project.match.cwd}.items():
            for pattern in patterns:
                project_rules.append((project.id, project.org, project.team, kind, pattern, len(project_rules)))
    return (
        pa.Table.from_pylist([dict(zip(_USER_RULES.names, row, strict=True)) for row in user_rules], _USER_RULES),
        pa.Table.from_pylist(
            [dict(zip(_PROJECT_RULES.names, row, strict=True)) for row in project_rules], _PROJECT_RULES
        ),
    )


_CLAIM_RULES = pa.schema([("source_system", pa.string()), ("org_id", pa.string())])


def _claim_rules(config: AttributionConfig) -> pa.Table:
    """(source_system, org_id) pairs: which source may name which org inside a log line."""
    rows = [{"source_system": source, "org_id": org.id} for org in config.orgs for source in org.accept_claims_from]
    return pa.Table.from_pylist(rows, _CLAIM_RULES)


# The org of a row comes from the config (user, then project, then the default org). An org named inside the log
# line (`hint_org`) is taken only when it agrees, or when the config trusts that source to name that org.
_RESOLVE = """
create or replace temp table attribution_keys as
with keys as (
    select *, row_number() over () as key_id
    from (select distinct source_system, cwd, hint_config_dir, hint_user, hint_org, hint_project, hint_host
          from {table})
),
trusted_claims as (
    select keys.key_id, claims.org_id
    from keys join claim_rules as claims
        on claims.source_system = keys.source_system and claims.org_id = nullif(trim(keys.hint_org), '')
),
user_match as (
    select keys.key_id, rules.user_id, rules.org_id, rules.team_id,
           row_number() over (partition by keys.key_id
                              order by case rules.kind when 'name' then 1 when 'config_dir' then 2
                                                       when 'home' then 3 else 4 end, rules.priority) as rank
    from keys join user_rules as rules on
        (rules.kind = 'name' and lower(keys.hint_user) = lower(rules.pattern))
        or (rules.kind = 'config_dir' and (keys.hint_config_dir = rules.pattern
            or ends_with(rtrim(keys.hint_config_dir, '/'), '/' || rules.pattern)))
        or (rules.kind = 'home' and (keys.cwd = rules.pattern or starts_with(keys.cwd, rules.pattern || '/')))
        or (rules.kind = 'host' and keys.hint_host = rules.pattern)
),
-- a project id is a name within its org: a project of the row's own org (trusted claim, else user) comes first
project_match as (
    select keys.key_id, rules.project_id, rules.org_id, rules.team_id,
           row_number() over (partition by keys.key_id
                              order by rules.org_id is not distinct from coalesce(claims.org_id, users.org_id) desc,
                                       case rules.kind when 'name' then 1 else 2 end, rules.priority) as rank
    from keys join project_rules as rules on
        (rules.kind = 'name' and keys.hint_project = rules.pattern)
        or (rules.kind = 'cwd' and keys.cwd glob rules.pattern)
    left join trusted_claims as claims on claims.key_id = keys.key_id
    left join user_match as users on users.key_id = keys.key_id and users.rank = 1
),
resolved as (
    select
        keys.*,
        users.user_id as matched_user, users.org_id as user_org, users.team_id as user_team,
        projects.project_id as matched_project, projects.org_id as project_org, projects.team_id as project_team,
        nullif(trim(keys.hint_org), '') as claimed_org,
        coalesce(claims.org_id, users.org_id, projects.org_id, $default_org) as org_id
    from keys
    left join trusted_claims as claims on claims.key_id = keys.key_id
    left join user_match as users on users.key_id = keys.key_id and users.rank = 1
    left join project_match as projects on projects.key_id = keys.key_id and projects.rank = 1
)
select
    source_system, cwd, hint_config_dir, hint_user, hint_org, hint_project, hint_host, claimed_org, org_id,
    -- a team belongs to one org: never give a row the team of another org
    case when user_org = org_id and user_team is not null then user_team
         when project_org = org_id then project_team end as team_id,
    coalesce(matched_user, hint_user, regexp_extract(cwd, '^/(?:home|Users)/([^/]+)', 1), 'unknown') as user_id,
    coalesce(matched_project, hint_project,
             nullif(regexp_extract(rtrim(cwd, '/'), '([^/]+)$', 1), ''), 'unknown') as project_id
from resolved;
"""

_MATCH_KEYS = """
    t.source_system = k.source_system
    and t.cwd is not distinct from k.cwd and t.hint_config_dir is not distinct from k.hint_config_dir
    and t.hint_user is not distinct from k.hint_user and t.hint_org is not distinct from k.hint_org
    and t.hint_project is not distinct from k.hint_project and t.hint_host is not distinct from k.hint_host
"""

_UPDATE = f"""
update {{table}} as t set
    org_id = k.org_id, team_id = k.team_id, user_id = k.user_id, project_id = k.project_id
from attribution_keys as k
where {_MATCH_KEYS};
"""

# One flag per line and refused claim (an OTel line can hold many spans; calls and tools are attributed apart).
_FLAG_REFUSED_CLAIMS = f"""
insert into stage_quarantine (source_system, source_file, source_line, severity, reason, raw_excerpt)
select distinct t.source_system, t.source_file, t.source_line, 'flagged',
       'org claim ''' || k.claimed_org || ''' not allowed for source ' || t.source_system
       || '; attributed to ''' || k.org_id || '''',
       cast(null as varchar)
from {{table}} as t join attribution_keys as k on {_MATCH_KEYS}
where k.claimed_org <> k.org_id
except
select source_system, source_file, source_line, severity, reason, raw_excerpt from stage_quarantine;
"""


def attribute_rows(connection: duckdb.DuckDBPyConnection, table: str, config: AttributionConfig) -> None:
    """Fill org_id, team_id, user_id and project_id of a staged table from its hint columns and cwd.

    An org named in a line that the config does not let its source name is flagged in `stage_quarantine`; the row
    is still loaded, under the org the config resolves.
    """
    user_rules, project_rules = _rule_tables(config)
    connection.register("user_rules", user_rules)
    connection.register("project_rules", project_rules)
    connection.register("claim_rules", _claim_rules(config))
    try:
        connection.execute(_RESOLVE.format(table=table), {"default_org": config.default_org})
        connection.execute(_UPDATE.format(table=table))
        connection.execute(_FLAG_REFUSED_CLAIMS.format(table=table))
    finally:
        for view in ("user_rules", "project_rules", "claim_rules"):
            connection.unregister(view)


def sync_entities(connection: duckdb.DuckDBPyConnection, config: AttributionConfig) -> None:
    """Write orgs, teams, users and projects from the config (plus the default org) into the raw entity tables."""
    orgs = [(config.default_org, "Unmapped usage", None)] + [
        (org.id, org.name or org.id, org.monthly_budget_usd) for org in config.orgs if org.id != config.default_org
    ]
    teams = [(team.id, org.id, team.name or team.id) for org in config.orgs for team in org.teams]
    users = [(user.id, user.org, user.team, user.name or user.id, user.email) for user in config.users]
    projects = [
        (project.id, project.org, project.team, project.name or project.id, project.group or project.id)
        for project in config.projects
    ]
    for table, rows, width in (("orgs", orgs, 3), ("teams", teams, 3), ("users", users, 5), ("projects", projects, 5)):
        connection.execute(f"delete from raw.{table}")
        if rows:
            placeholders = ", ".join("?" * width)
            connection.executemany(f"insert into raw.{table} values ({placeholders})", rows)
