{#
  Generic test: the columns together identify a row. (dbt_utils is a hub package and hub
  packages do not install offline, so the few generic tests we need live here.)
#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_sharing_the_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
