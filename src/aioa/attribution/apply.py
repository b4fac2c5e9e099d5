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


_RESOLVE = """
create or replace temp table attribution_keys as
with keys as (
    select distinct cwd, hint_config_dir, hint_user, hint_org, hint_project, hint_host from {table}
),
user_match as (
    select keys.*, rules.user_id, rules.org_id, rules.team_id,
           row_number() over (partition by keys.cwd, keys.hint_config_dir, keys.hint_user, keys.hint_org,
                                           keys.hint_project, keys.hint_host
                              order by case rules.kind when 'name' then 1 when 'config_dir' then 2
                                                       when 'home' then 3 else 4 end, rules.priority) as rank
    from keys join user_rules as rules on
        (rules.kind = 'name' and lower(keys.hint_user) = lower(rules.pattern))
        or (rules.kind = 'config_dir' and (keys.hint_config_dir = rules.pattern
            or ends_with(rtrim(keys.hint_config_dir, '/'), '/' || rules.pattern)))
        or (rules.kind = 'home' and (keys.cwd = rules.pattern or starts_with(keys.cwd, rules.pattern || '/')))
        or (rules.kind = 'host' and keys.hint_host = rules.pattern)
),
project_match as (
    select keys.*, rules.project_id, rules.org_id, rules.team_id,
           row_number() over (partition by keys.cwd, keys.hint_config_dir, keys.hint_user, keys.hint_org,
                                           keys.hint_project, keys.hint_host
                              order by case rules.kind when 'name' then 1 else 2 end, rules.priority) as rank
    from keys join project_rules as rules on
        (rules.kind = 'name' and keys.hint_project = rules.pattern)
        or (rules.kind = 'cwd' and keys.cwd glob rules.pattern)
)
select
    keys.cwd, keys.hint_config_dir, keys.hint_user, keys.hint_org, keys.hint_project, keys.hint_host,
    coalesce(keys.hint_org, users.org_id, projects.org_id, $default_org) as org_id,
    coalesce(users.team_id, projects.team_id) as team_id,
    coalesce(users.user_id, keys.hint_user,
             regexp_extract(keys.cwd, '^/(?:home|Users)/([^/]+)', 1), 'unknown') as user_id,
    coalesce(projects.project_id, keys.hint_project,
             nullif(regexp_extract(rtrim(keys.cwd, '/'), '([^/]+)$', 1), ''), 'unknown') as project_id
from keys
left join user_match as users
    on users.rank = 1 and users.cwd is not distinct from keys.cwd
    and users.hint_config_dir is not distinct from keys.hint_config_dir
    and users.hint_user is not distinct from keys.hint_user and users.hint_org is not distinct from keys.hint_org
    and users.hint_project is not distinct from keys.hint_project
    and users.hint_host is not distinct from keys.hint_host
left join project_match as projects
    on projects.rank = 1 and projects.cwd is not distinct from keys.cwd
    and projects.hint_config_dir is not distinct from keys.hint_config_dir
    and projects.hint_user is not distinct from keys.hint_user
    and projects.hint_org is not distinct from keys.hint_org
    and projects.hint_project is not distinct from keys.hint_project
    and projects.hint_host is not distinct from keys.hint_host;
"""

_UPDATE = """
update {table} as t set
    org_id = k.org_id, team_id = k.team_id, user_id = k.user_id, project_id = k.project_id
from attribution_keys as k
where t.cwd is not distinct from k.cwd and t.hint_config_dir is not distinct from k.hint_config_dir
  and t.hint_user is not distinct from k.hint_user and t.hint_org is not distinct from k.hint_org
  and t.hint_project is not distinct from k.hint_project and t.hint_host is not distinct from k.hint_host;
"""


def attribute_rows(connection: duckdb.DuckDBPyConnection, table: str, config: AttributionConfig) -> None:
    """Fill org_id, team_id, user_id and project_id of a staged table from its hint columns and cwd."""
    user_rules, project_rules = _rule_tables(config)
    connection.register("user_rules", user_rules)
    connection.register("project_rules", project_rules)
    try:
        connection.execute(_RESOLVE.format(table=table), {"default_org": config.default_org})
        connection.execute(_UPDATE.format(table=table))
    finally:
        connection.unregister("user_rules")
        connection.unregister("project_rules")


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
