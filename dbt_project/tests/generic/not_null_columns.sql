{#
  Model-level not-null check: returns one row per listed column that holds NULLs, with how many. One query per
  model rather than one test node per column (dbt spends ~40 ms per node); each failing row names its column.
#}
{% test not_null_columns(model, columns) %}
{%- for column in columns %}
{% if not loop.first %}union all{% endif %}
select '{{ column }}' as column_name, count(*) as null_rows
from {{ model }}
where {{ column }} is null
having count(*) > 0
{%- endfor %}
{% endtest %}
