{# A BRIN index on a mart's event time, on PostgreSQL only (server mode): facts arrive in time order, so the index
   stays a few pages and a date-bounded read skips most blocks. DuckDB keeps min/max per row group by itself. #}
{% macro brin_index_on(column) -%}
    {%- if target.type == 'postgres' -%}
        create index if not exists {{ this.identifier }}_{{ column }}_brin on {{ this }} using brin ({{ column }})
    {%- endif -%}
{%- endmacro %}
