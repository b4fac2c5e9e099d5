-- Cost per issue: a call links to the issue keys in its branch name and in the message of the commit it is
-- attributed to (each call counted once per issue; a call linked to two issues counts for both).
with calls as (
    select * from {{ with_archive(ref('fct_llm_calls'), 'marts/fct_llm_calls', 'call_key') }}
    where git_branch is not null
),

attributed as (
    select * from {{ ref('int_llm_calls__commits') }}
    where commit_sha is not null
),

commits as (
    select * from {{ ref('stg_raw__git_commits') }}
),

issues as (
    select * from {{ ref('stg_raw__linked_items') }}
    where item_kind = 'issue'
),

keys_in_branches as (
    select call_key, {{ issue_key_rows('git_branch') }} as issue_key
    from calls
),

keys_in_commits as (
    select attributed.call_key, {{ issue_key_rows('commits.message') }} as issue_key
    from attributed
    inner join commits
        on commits.org_id = attributed.org_id
        and commits.repo_path = attributed.repo_path
        and commits.branch = attributed.branch
        and commits.commit_sha = attributed.commit_sha
),

call_issues as (
    select call_key, issue_key from keys_in_branches
    union
    select call_key, issue_key from keys_in_commits
),

issue_usage as (
    select
        calls.org_id,
        calls.team_id,
        calls.user_id,
        calls.project_id,
        call_issues.issue_key,
        count(*) as calls,
        count(distinct calls.session_id) as sessions,
        sum(case when calls.price_status = 'unpriced' then 1 else 0 end) as unpriced_calls,
        sum(calls.cost_usd) as cost_usd,
        min(calls.ts_utc) as first_call_at,
        max(calls.ts_utc) as last_call_at
    from call_issues
    inner join calls on calls.call_key = call_issues.call_key
    group by calls.org_id, calls.team_id, calls.user_id, calls.project_id, call_issues.issue_key
),

described as (
    select
        -- ids
        {{ usage_key(['issue_usage.org_id', 'issue_usage.team_id', 'issue_usage.user_id', 'issue_usage.project_id', 'issue_usage.issue_key']) }} as issue_cost_key,
        issue_usage.org_id,
        issue_usage.team_id,
        issue_usage.user_id,
        issue_usage.project_id,
        issue_usage.issue_key,
        -- from the tracker, when configured
        issues.tracker,
        issues.title,
        issues.status,
        issues.url,
        -- numerics
        issue_usage.calls,
        issue_usage.sessions,
        issue_usage.unpriced_calls,
        issue_usage.cost_usd,
        -- timestamps
        issue_usage.first_call_at,
        issue_usage.last_call_at
    from issue_usage
    left join issues
        on issues.org_id = issue_usage.org_id
        and issues.item_key = issue_usage.issue_key
)

select * from described
