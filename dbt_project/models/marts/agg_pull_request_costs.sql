-- Cost per pull request: the calls attributed to commits of the pull request's head branch in its repository.
with attributed as (
    select * from {{ ref('int_llm_calls__commits') }}
    where commit_sha is not null
),

commits as (
    select * from {{ ref('stg_raw__git_commits') }}
),

pull_requests as (
    select * from {{ ref('stg_raw__linked_items') }}
    where item_kind = 'pull_request'
),

pull_request_calls as (
    select
        pull_requests.item_key as pull_request_key,
        attributed.*
    from pull_requests
    inner join commits
        on commits.org_id = pull_requests.org_id
        and commits.github_repo = pull_requests.repo
        and commits.branch = pull_requests.head_branch
    inner join attributed
        on attributed.org_id = commits.org_id
        and attributed.repo_path = commits.repo_path
        and attributed.branch = commits.branch
        and attributed.commit_sha = commits.commit_sha
),

pull_request_usage as (
    select
        org_id,
        team_id,
        user_id,
        project_id,
        pull_request_key,
        count(distinct call_key) as calls,
        count(distinct commit_sha) as commits,
        count(distinct session_id) as sessions,
        sum(case when price_status = 'unpriced' then 1 else 0 end) as unpriced_calls,
        sum(cost_usd) as cost_usd
    from pull_request_calls
    group by org_id, team_id, user_id, project_id, pull_request_key
),

described as (
    select
        -- ids
        {{ usage_key(['usage.org_id', 'usage.team_id', 'usage.user_id', 'usage.project_id', 'usage.pull_request_key']) }} as pull_request_cost_key,
        usage.org_id,
        usage.team_id,
        usage.user_id,
        usage.project_id,
        usage.pull_request_key,
        pull_requests.repo,
        pull_requests.head_branch,
        pull_requests.title,
        pull_requests.status,
        pull_requests.url,
        -- numerics
        usage.calls,
        usage.commits,
        usage.sessions,
        usage.unpriced_calls,
        usage.cost_usd
    from pull_request_usage as usage
    inner join pull_requests
        on pull_requests.org_id = usage.org_id
        and pull_requests.item_key = usage.pull_request_key
)

select * from described
