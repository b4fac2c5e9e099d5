-- Each call that ran in a linked repository, with the commit its cost goes to (docs/integrations.md): the first
-- commit on the call's branch made at or after the call and no later than `commit_grace_minutes` after the last
-- call of its session. Calls after a session's last commit stay unattributed (commit_sha NULL).
with commits as (
    select * from {{ ref('stg_raw__git_commits') }}
),

repositories as (
    select distinct org_id, repo_path from commits
),

-- the innermost repository whose working tree holds the call's cwd (the working directory is kept in the
-- deduplicated calls, not in the fact table); an org without linked repositories joins nothing
located as (
    select
        context.call_key,
        repositories.repo_path,
        row_number() over (partition by context.call_key order by length(repositories.repo_path) desc) as depth_rank
    from {{ ref('int_llm_calls__deduplicated') }} as context
    inner join repositories
        on repositories.org_id = context.org_id
        and (context.cwd = repositories.repo_path or left(context.cwd, length(repositories.repo_path) + 1) = repositories.repo_path || '/')
    where context.git_branch is not null
),

calls_in_repositories as (
    select
        facts.call_key, facts.org_id, facts.team_id, facts.user_id, facts.project_id, facts.session_id,
        facts.ts_utc, facts.git_branch, facts.cost_usd, facts.price_status, located.repo_path
    from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }} as facts
    inner join located on located.call_key = facts.call_key and located.depth_rank = 1
),

-- a session ends at its last call anywhere, not only in the repository
session_ends as (
    select facts.org_id, facts.session_id, max(facts.ts_utc) as session_end
    from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }} as facts
    where exists (
        select 1 from calls_in_repositories as linked
        where linked.org_id = facts.org_id and linked.session_id = facts.session_id
    )
    group by facts.org_id, facts.session_id
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
        and session_ends.session_id = located.session_id
    inner join commits
        on commits.org_id = located.org_id
        and commits.repo_path = located.repo_path
        and commits.branch = located.git_branch
        and commits.committed_at >= located.ts_utc
        and commits.committed_at <= session_ends.session_end + interval '{{ var("commit_grace_minutes") }} minutes'
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
)

select * from attributed
