{#
  Model-level range check: returns one row per value below zero (or above its column's maximum, when one is given);
  NULLs pass. `columns` maps each column to its maximum or null. One query per model rather than one test node per
  column (dbt spends ~40 ms per node), and each failing row names its column.
#}
{% test non_negative(model, columns) %}
{%- for column, max_value in columns.items() %}
{% if not loop.first %}union all{% endif %}
select '{{ column }}' as column_name, cast({{ column }} as double precision) as value
from {{ model }}
where {{ column }} < 0{% if max_value is not none %} or {{ column }} > {{ max_value }}{% endif %}
{%- endfor %}
{% endtest %}
