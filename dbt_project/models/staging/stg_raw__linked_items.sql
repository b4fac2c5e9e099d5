-- Pull requests and issues fetched from GitHub, Jira and Linear: renaming and typing only.
with source as (
    select * from {{ source('raw', 'linked_items') }}
),

renamed as (
    select
        -- ids
        org_id,
        tracker,
        item_kind,
        item_key,
        repo,
        head_branch,
        -- descriptive
        title,
        status,
        url,
        -- timestamps
        cast(fetched_at as timestamp) as fetched_at
    from source
)

select * from renamed
