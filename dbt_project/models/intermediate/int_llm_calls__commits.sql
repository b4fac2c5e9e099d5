-- Each call that ran in a linked repository, with the commit its cost goes to (docs/integrations.md): the first
-- commit on the call's branch made at or after the call and no later than `commit_grace_minutes` after the last
-- call of its session. Calls after a session's last commit stay unattributed (commit_sha NULL).
with calls as (
    select
        facts.call_key, facts.org_id, facts.team_id, facts.user_id, facts.project_id, facts.session_id,
        facts.ts_utc, context.cwd, facts.git_branch, facts.cost_usd, facts.price_status
    from {{ ref('fct_llm_calls') }} as facts
    -- the working directory is kept in the deduplicated calls, not in the fact table
    inner join {{ ref('int_llm_calls__deduplicated') }} as context on context.call_key = facts.call_key
    where context.cwd is not null and facts.git_branch is not null
),

commits as (
    select * from {{ ref('stg_raw__git_commits') }}
),

repositories as (
    select distinct org_id, repo_path from commits
),

session_ends as (
    select org_id, session_id, max(ts_utc) as session_end
    from calls
    group by org_id, session_id
),

-- the innermost repository whose working tree holds the call's cwd
calls_in_repositories as (
    select
        calls.*,
        repositories.repo_path,
        row_number() over (partition by calls.call_key order by length(repositories.repo_path) desc) as depth_rank
    from calls
    inner join repositories
        on repositories.org_id = calls.org_id
        and (calls.cwd = repositories.repo_path or left(calls.cwd, length(repositories.repo_path) + 1) = repositories.repo_path || '/')
),

candidate_commits as (
    select
        located.call_key,
        commits.commit_sha,
        commits.committed_at,
        row_number() over (partition by located.call_key order by commits.committed_at, commits.commit_sha) as commit_rank
    from calls_in_repositories as located
    inner join session_ends
        on session_ends.org_id = located.org_id
        and session_ends.session_id is not distinct from located.session_id
    inner join commits
        on commits.org_id = located.org_id
        and commits.repo_path = located.repo_path
        and commits.branch = located.git_branch
        and commits.committed_at >= located.ts_utc
        and commits.committed_at <= session_ends.session_end + interval '{{ var("commit_grace_minutes") }} minutes'
    where located.depth_rank = 1
),

attributed as (
    select
        -- ids
        located.call_key,
        located.org_id,
        located.team_id,
        located.user_id,
        located.project_id,
        located.session_id,
        located.repo_path,
        located.git_branch as branch,
        first_commit.commit_sha,
        -- money
        located.cost_usd,
        located.price_status,
        -- timestamps
        located.ts_utc,
        first_commit.committed_at
    from calls_in_repositories as located
    left join candidate_commits as first_commit
        on first_commit.call_key = located.call_key
        and first_commit.commit_rank = 1
    where located.depth_rank = 1
)

select * from attributed
