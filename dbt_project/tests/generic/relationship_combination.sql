{#
  Model-level relationship check for a key of several columns: returns the rows whose key (e.g. `(org_id,
  project_id)`) is not in `to`. Rows with a NULL in any key column pass, as in dbt's built-in `relationships`.
#}
{% test relationship_combination(model, to, columns) %}
select {% for column in columns %}child.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
from {{ model }} as child
where {% for column in columns %}child.{{ column }} is not null and {% endfor %}not exists (
    select 1 from {{ to }} as parent
    where {% for column in columns %}parent.{{ column }} = child.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
)
{% endtest %}
