{# The Parquet archive (aioa.archive): rows past an org's retention live in
   aioaarchive://<schema>/<table>/org=<org>/month=<YYYY-MM>/*.parquet (registered by aioa.archive.dbt_plugin).
   `with_archive` is `relation` plus its archived rows, a row in both counted once (the relation's wins): used
   where a model must see every row, archived or not (staging of the raw rows, tables rebuilt from the facts).
   Just `relation` on PostgreSQL or when nothing of it is archived. On the encrypted target (a warehouse key is
   configured) the files are encrypted: read with the key aioa.archive.dbt_plugin added as 'aioa_archive'. #}

{% macro with_archive(relation, directory, key) -%}
    {%- if target.type == 'duckdb' and execute and archive_holds(directory) -%}
    (
        select * from {{ relation }}
        union all by name
        select * exclude (org, month)
        from read_parquet('aioaarchive://{{ directory }}/*/*/*.parquet', hive_partitioning = true,
                          hive_types_autocast = false
                          {%- if target.name == 'duckdb_encrypted' %}, encryption_config = {footer_key: 'aioa_archive'}{% endif %}) as archived
        where not exists (select 1 from {{ relation }} as kept where kept.{{ key }} = archived.{{ key }})
    )
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}

{% macro archive_holds(directory) -%}
    {%- set found = run_query("select count(*) from glob('aioaarchive://" ~ directory ~ "/*/*/*.parquet')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}
