-- Cost per commit: the calls attributed to each commit (int_llm_calls__commits), per org, team, user and project.
with attributed as (
    select * from {{ ref('int_llm_calls__commits') }}
    where commit_sha is not null
),

commits as (
    select * from {{ ref('stg_raw__git_commits') }}
),

commit_usage as (
    select
        org_id,
        team_id,
        user_id,
        project_id,
        repo_path,
        branch,
        commit_sha,
        count(*) as calls,
        count(distinct session_id) as sessions,
        sum(case when price_status = 'unpriced' then 1 else 0 end) as unpriced_calls,
        sum(cost_usd) as cost_usd,
        min(ts_utc) as first_call_at,
        max(ts_utc) as last_call_at
    from attributed
    group by org_id, team_id, user_id, project_id, repo_path, branch, commit_sha
),

described as (
    select
        -- ids
        {{ usage_key(['commit_usage.org_id', 'commit_usage.team_id', 'commit_usage.user_id', 'commit_usage.project_id', 'commit_usage.repo_path', 'commit_usage.branch', 'commit_usage.commit_sha']) }} as commit_cost_key,
        commit_usage.org_id,
        commit_usage.team_id,
        commit_usage.user_id,
        commit_usage.project_id,
        commit_usage.repo_path,
        commits.github_repo,
        commit_usage.branch,
        commit_usage.commit_sha,
        commits.summary,
        -- numerics
        commit_usage.calls,
        commit_usage.sessions,
        commit_usage.unpriced_calls,
        commit_usage.cost_usd,
        -- timestamps
        commits.committed_at,
        commit_usage.first_call_at,
        commit_usage.last_call_at
    from commit_usage
    inner join commits
        on commits.org_id = commit_usage.org_id
        and commits.repo_path = commit_usage.repo_path
        and commits.branch = commit_usage.branch
        and commits.commit_sha = commit_usage.commit_sha
)

select * from described
