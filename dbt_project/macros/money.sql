{# Money in 元: numeric(18,2), exact. round() on numeric rounds half away from zero. #}
{% macro yuan(expression) -%}
    cast(round({{ expression }}, 2) as numeric(18, 2))
{%- endmacro %}

{# Scores: 0–100, two decimals, rounded half away from zero (R5). #}
{% macro score(expression) -%}
    cast(round({{ expression }}, 2) as numeric(5, 2))
{%- endmacro %}

{#
  Rates and other exact ratios: numeric without trailing zeros. trim_scale changes how the
  value is written (0.40000000000000000000 -> 0.4), never the value, so comparisons stay
  exact and analysts read 0.4.
#}
{% macro rate(expression) -%}
    trim_scale({{ expression }})
{%- endmacro %}
