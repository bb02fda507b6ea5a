{#
  A month-day var ("12-31") as a date of the given year, so the points of the policy
  (year_end_month_day, idle_funds_month_day) stay in dbt_project.yml and never appear as
  literal months and days in SQL.
#}
{% macro date_in_year(year_expression, month_day) -%}
    {%- set parts = month_day.split('-') -%}
    make_date({{ year_expression }}, {{ parts[0] | int }}, {{ parts[1] | int }})
{%- endmacro %}
