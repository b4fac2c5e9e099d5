{#
  Model-level key check for a key of several columns (e.g. `(org_id, project_id)`): returns one row per key value
  that occurs more than once, with how often. dbt's built-in `unique` takes one column only.
#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
