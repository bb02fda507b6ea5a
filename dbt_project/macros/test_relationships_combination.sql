{#
  Generic test: the columns of every row, together, are a key of the parent model (dbt's
  relationships test for a key of several columns). `columns` may be expressions (e.g.
  `budget_year - 1`); `to_columns` are the parent's columns, in the same order. A row with
  a null in its key is not checked, as in dbt's own relationships test.
#}
{% test relationships_combination(model, columns, to, to_columns) %}
with

child as (
    select
        {%- for column in columns %}
        {{ column }} as key_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
    where
        {%- for column in columns %}
        ({{ column }}) is not null{{ " and" if not loop.last }}
        {%- endfor %}
),

parent as (
    select
        {%- for column in to_columns %}
        {{ column }} as key_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ to }}
)

select child.*
from child
where not exists (
    select 1
    from parent
    where
        {%- for column in columns %}
        parent.key_{{ loop.index }} = child.key_{{ loop.index }}{{ " and" if not loop.last }}
        {%- endfor %}
)
{% endtest %}
