{# Schemas are named by layer (staging, intermediate, marts), with an optional prefix for shared PostgreSQL servers. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ env_var('AIOA_DBT_SCHEMA_PREFIX', '') }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
