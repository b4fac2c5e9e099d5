{# Issue keys (ABC-123) and GitHub repositories in text: the same patterns as aioa.integrations.issues/github. #}

{% macro issue_key_rows(column) -%}
    {{ return(adapter.dispatch('issue_key_rows')(column)) }}
{%- endmacro %}

{# A set-returning select expression: one row per issue key found in `column`. #}
{% macro default__issue_key_rows(column) -%}
    (regexp_matches({{ column }}, '[A-Z][A-Z0-9]+-[0-9]+', 'g'))[1]
{%- endmacro %}

{% macro duckdb__issue_key_rows(column) -%}
    unnest(regexp_extract_all({{ column }}, '[A-Z][A-Z0-9]+-[0-9]+'))
{%- endmacro %}

{% macro github_repo(column) -%}
    {{ return(adapter.dispatch('github_repo')(column)) }}
{%- endmacro %}

{% macro default__github_repo(column) -%}
    nullif(regexp_replace(substring({{ column }} from 'github\.com[:/]+([^/]+/[^/]+)/?$'), '\.git$', ''), '')
{%- endmacro %}

{% macro duckdb__github_repo(column) -%}
    nullif(regexp_replace(regexp_extract({{ column }}, 'github\.com[:/]+([^/]+/[^/]+)/?$', 1), '\.git$', ''), '')
{%- endmacro %}
