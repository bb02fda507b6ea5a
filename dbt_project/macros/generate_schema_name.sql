{#
  Use the folder's schema name as is (staging, intermediate, marts) rather than dbt's
  default "<target schema>_<custom schema>": the warehouse's five schemas are fixed by
  the migrations and by the analysts' grants.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
