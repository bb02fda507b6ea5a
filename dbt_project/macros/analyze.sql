{% macro analyze_table() %}
    {#-
        A table dbt has just created has no planner statistics until autovacuum reaches it,
        and the next model is built at once. Without them PostgreSQL guesses, and one wrong
        guess (a merge join on (checkpoint_date, fiscal_year) with the project and indicator
        as a filter, over a table holding one checkpoint) turned a one-second model into a
        137-second one at scale 10. Every table model is analysed as it is built.
    -#}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{% endmacro %}
