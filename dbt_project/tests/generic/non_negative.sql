{# Fails for values below zero (and above max_value when given); NULLs pass. #}
{% test non_negative(model, column_name, max_value=none) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} < 0
{% if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
{% endtest %}
