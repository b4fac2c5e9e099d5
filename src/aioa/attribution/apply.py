"""Set-based attribution of staged rows, resolved once per distinct (bound org of the file, cwd, config dir, logged
ids) combination."""

from __future__ import annotations

import contextlib

import duckdb
import pyarrow as pa

from aioa.attribution.config import AttributionConfig
from aioa.ingest.columns import table_from_rows  # from_pylist imports pandas

_USER_RULES = pa.schema(
    [
        ("user_id", pa.string()),
        ("org_id", pa.string()),
        ("team_id", pa.string()),
        ("kind", pa.string()),
        ("pattern", pa.string()),
        ("priority", pa.int64()),
        ("bound_only", pa.bool_()),  # the rule matches only rows of files bound to its org
    ]
)
_PROJECT_RULES = pa.schema(
    [
        ("project_id", pa.string()),
        ("org_id", pa.string()),
        ("team_id", pa.string()),
        ("kind", pa.string()),
        ("pattern", pa.string()),
        ("priority", pa.int64()),
        ("bound_only", pa.bool_()),  # the rule matches only rows of files bound to its org
    ]
)


def _rule_tables(config: AttributionConfig) -> tuple[pa.Table, pa.Table]:
    user_rules, project_rules = [], []
    for user in config.users:
        kinds = {
            "name": user.match.names + [user.id] + ([user.email] if user.email else []),
            "config_dir": user.match.config_dirs,
            "home": user.match.homes,
            "host": user.match.hosts,
        }
        for kind, patterns in kinds.items():
            for pattern in patterns:
                user_rules.append(
                    (
                        *(user.id, user.org, user.team, kind, pattern.rstrip("/") or "/"),
                        *(len(user_rules), user.bound_files_only),
                    )
                )
    for project in config.projects:
        for kind, patterns in {"name": project.match.names + [project.id], "cwd": project.match.cwd}.items():
            for pattern in patterns:
                project_rules.append(
                    (project.id, project.org, project.team, kind, pattern, len(project_rules), project.bound_files_only)
                )
    return (
        table_from_rows([dict(zip(_USER_RULES.names, row, strict=True)) for row in user_rules], _USER_RULES),
        table_from_rows([dict(zip(_PROJECT_RULES.names, row, strict=True)) for row in project_rules], _PROJECT_RULES),
    )


_CLAIM_RULES = pa.schema([("source_system", pa.string()), ("org_id", pa.string())])


def _claim_rules(config: AttributionConfig) -> pa.Table:
    """(source_system, org_id) pairs: which source may name which org inside a log line."""
    rows = [{"source_system": source, "org_id": org.id} for org in config.orgs for source in org.accept_claims_from]
    return table_from_rows(rows, _CLAIM_RULES)


_FILE_ORGS = pa.schema([("source_system", pa.string()), ("source_file", pa.string()), ("bound_org", pa.string())])


def _bind_files(connection: duckdb.DuckDBPyConnection, table: str, config: AttributionConfig) -> None:
    """Set `bound_org` of the staged rows of files under a location bound to an org (`orgs[].sources`).

    Resolved once per distinct file of the batch, with the same rule `aioa doctor` uses; without bindings the
    column stays NULL and attribution matches names as before."""
    connection.execute(f"alter table {table} add column if not exists bound_org varchar")
    if not config.source_bindings():
        return
    files = connection.execute(f"select distinct source_system, source_file from {table}").fetchall()
    rows = [
        {"source_system": system, "source_file": path, "bound_org": config.bound_org(system, path)}
        for system, path in files
    ]
    rows = [row for row in rows if row["bound_org"] is not None]
    if not rows:
        return
    connection.register("bound_files", table_from_rows(rows, _FILE_ORGS))
    try:
        connection.execute(f"""
            update {table} as t set bound_org = f.bound_org from bound_files as f
            where t.source_system = f.source_system and t.source_file = f.source_file
        """)
    finally:
        with contextlib.suppress(duckdb.Error):
            connection.unregister("bound_files")


# The org of a row comes from where its file lies, then from the config: a file under a location bound to an org
# (`bound_org`) is that org's; otherwise the matched user, then project, then the default org. A user or project
# named in a bound file that belongs to another org is not used (the line is flagged). An org named inside the log
# line (`hint_org`) is taken only for unbound files, and only when the config trusts that source to name that org.
_RESOLVE = """
create or replace temp table attribution_keys as
with keys as (
    select *, row_number() over () as key_id
    from (select distinct source_system, cwd, hint_config_dir, hint_user, hint_org, hint_project, hint_host,
                          bound_org
          from {table})
),
trusted_claims as (
    select keys.key_id, claims.org_id
    from keys join claim_rules as claims
        on claims.source_system = keys.source_system and claims.org_id = nullif(trim(keys.hint_org), '')
    where keys.bound_org is null
),
-- in a bound file a user of the bound org comes first; a best match of another org is a claim to flag
user_match as (
    select keys.key_id, rules.user_id, rules.org_id, rules.team_id,
           row_number() over (partition by keys.key_id
                              order by coalesce(rules.org_id = keys.bound_org, false) desc,
                                       case rules.kind when 'name' then 1 when 'config_dir' then 2
                                                       when 'home' then 3 else 4 end, rules.priority) as rank
    from keys join user_rules as rules on
        (rules.kind = 'name' and lower(keys.hint_user) = lower(rules.pattern))
        or (rules.kind = 'config_dir' and (keys.hint_config_dir = rules.pattern
            or ends_with(rtrim(keys.hint_config_dir, '/'), '/' || rules.pattern)))
        or (rules.kind = 'home' and (keys.cwd = rules.pattern or starts_with(keys.cwd, rules.pattern || '/')))
        or (rules.kind = 'host' and keys.hint_host = rules.pattern)
    where not rules.bound_only or rules.org_id = keys.bound_org  -- an org's own rules: only its bound files
),
-- a project id is a name within its org: a project of the row's own org (bound, trusted claim, else user's) first
project_match as (
    select keys.key_id, rules.project_id, rules.org_id, rules.team_id,
           row_number() over (partition by keys.key_id
                              order by rules.org_id is not distinct from
                                           coalesce(keys.bound_org, claims.org_id, users.org_id) desc,
                                       case rules.kind when 'name' then 1 else 2 end, rules.priority) as rank
    from keys join project_rules as rules on
        ((rules.kind = 'name' and keys.hint_project = rules.pattern)
         or (rules.kind = 'cwd' and keys.cwd glob rules.pattern))
        -- an org's own rules (tenant settings) match only in files bound to that org
        and (not rules.bound_only or rules.org_id = keys.bound_org)
    left join trusted_claims as claims on claims.key_id = keys.key_id
    left join user_match as users on users.key_id = keys.key_id and users.rank = 1
),
matched as (
    select
        keys.*,
        claims.org_id as trusted_org,
        users.user_id as best_user, users.org_id as user_org, users.team_id as user_team,
        projects.project_id as best_project, projects.org_id as project_org, projects.team_id as project_team,
        case when keys.bound_org is not null and users.org_id <> keys.bound_org then users.user_id end
            as foreign_user_id,
        case when keys.bound_org is not null and projects.org_id <> keys.bound_org then projects.project_id end
            as foreign_project_id
    from keys
    left join trusted_claims as claims on claims.key_id = keys.key_id
    left join user_match as users on users.key_id = keys.key_id and users.rank = 1
    left join project_match as projects on projects.key_id = keys.key_id and projects.rank = 1
),
resolved as (
    select
        *,
        nullif(trim(hint_org), '') as claimed_org,
        coalesce(bound_org, trusted_org, user_org, project_org, $default_org) as org_id
    from matched
)
select
    source_system, cwd, hint_config_dir, hint_user, hint_org, hint_project, hint_host, bound_org, claimed_org,
    org_id, foreign_user_id, user_org, foreign_project_id, project_org,
    -- a team belongs to one org: never give a row the team of another org
    case when user_org = org_id and user_team is not null then user_team
         when project_org = org_id then project_team end as team_id,
    -- another org's user named in a bound file is not kept (user ids are global, they would join to that user)
    case when foreign_user_id is not null then 'unknown'
         else coalesce(best_user, hint_user, regexp_extract(cwd, '^/(?:home|Users)/([^/]+)', 1), 'unknown')
    end as user_id,
    -- a project id is per org: the name stays, it does not bring the other org's project (or team) along
    coalesce(best_project, hint_project,
             nullif(regexp_extract(rtrim(cwd, '/'), '([^/]+)$', 1), ''), 'unknown') as project_id
from resolved;
"""

_MATCH_KEYS = """
    t.source_system = k.source_system
    and t.cwd is not distinct from k.cwd and t.hint_config_dir is not distinct from k.hint_config_dir
    and t.hint_user is not distinct from k.hint_user and t.hint_org is not distinct from k.hint_org
    and t.hint_project is not distinct from k.hint_project and t.hint_host is not distinct from k.hint_host
    and t.bound_org is not distinct from k.bound_org
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
with refused as (
    select *, unnest(list_filter([
        case when claimed_org <> org_id and bound_org is null
             then 'org claim ''' || claimed_org || ''' not allowed for source ' || source_system
                  || '; attributed to ''' || org_id || '''' end,
        case when claimed_org <> org_id and bound_org is not null
             then 'org claim ''' || claimed_org || ''' does not match org ''' || bound_org
                  || ''' the file is bound to; attributed to ''' || org_id || '''' end,
        case when foreign_user_id is not null
             then 'user claim ''' || foreign_user_id || ''' belongs to org ''' || user_org
                  || ''', file bound to ''' || bound_org || '''; attributed to ''' || org_id || '''' end,
        case when foreign_project_id is not null
             then 'project claim ''' || foreign_project_id || ''' belongs to org ''' || project_org
                  || ''', file bound to ''' || bound_org || '''; attributed to ''' || org_id || '''' end
    ], lambda reason: reason is not null)) as reason
    from attribution_keys
    where claimed_org <> org_id or foreign_user_id is not null or foreign_project_id is not null
)
select distinct t.source_system, t.source_file, t.source_line, 'flagged', k.reason, cast(null as varchar)
from {{table}} as t join refused as k on {_MATCH_KEYS}
except
select source_system, source_file, source_line, severity, reason, raw_excerpt from stage_quarantine;
"""


def attribute_rows(connection: duckdb.DuckDBPyConnection, table: str, config: AttributionConfig) -> None:
    """Fill org_id, team_id, user_id and project_id of a staged table from where its files lie (locations bound to
    an org), its hint columns and cwd.

    Flagged in `stage_quarantine` (the row is still loaded, under the org resolved): an org named in a line that
    the config does not let its source name; in a bound file, an org, user or project of another org.
    """
    _bind_files(connection, table, config)
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
            with contextlib.suppress(duckdb.Error):  # an aborted transaction must not hide the error that aborted it
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
