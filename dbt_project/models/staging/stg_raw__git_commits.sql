-- Commits of the branches the org's calls ran on, as `aioa integrations link-git` read them: renaming and typing.
with source as (
    select * from {{ source('raw', 'git_commits') }}
),

renamed as (
    select
        -- ids
        org_id,
        repo_path,
        commit_sha,
        branch,
        remote_url,
        -- GitHub `owner/name` of the origin remote (https or ssh form)
        {{ github_repo('remote_url') }} as github_repo,
        -- text
        message,
        split_part(message, chr(10), 1) as summary,
        parent_count,
        -- timestamps
        cast(committed_at as timestamp) as committed_at,
        cast(linked_at as timestamp) as linked_at
    from source
)

select * from renamed
