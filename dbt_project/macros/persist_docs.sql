{#-
  Column comments for DuckDB, rendered in one loop. dbt-duckdb's own version re-reads the relation's columns (the
  default persist_docs has just done so and kept only existing columns) and escapes every comment through a macro
  call; across ~500 documented columns that was seconds of every build.
-#}
{% macro duckdb__alter_column_comment(relation, column_dict) %}
  {%- set magic = '$dbt_comment_literal_block$' -%}
  {%- for column_name, column in column_dict.items() %}
    {%- if magic in column['description'] %}
      {%- do exceptions.raise_compiler_error('The string ' ~ magic ~ ' is not allowed in comments.') -%}
    {%- endif %}
  comment on column {{ relation }}.{{ adapter.quote(column_name) if column['quote'] else column_name }} is {{ magic }}{{ column['description'] }}{{ magic }};
  {%- endfor %}
{% endmacro %}
