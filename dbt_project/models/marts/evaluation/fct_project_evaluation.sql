with

evaluated as (
    select * from {{ ref('int_projects_evaluated') }}
)

select
    fiscal_year,
    project_code,
    department_code,
    budget_amount_yuan,
    cast(execution_score as numeric) as execution_score,
    cast(indicator_score as numeric) as indicator_score,
    cast(self_score as numeric(5, 2)) as self_score,
    cast(imported_self_score as numeric(5, 2)) as imported_self_score,
    cast(finance_score as numeric(5, 2)) as finance_score,
    cast(third_party_score as numeric(5, 2)) as third_party_score,
    cast(final_score as numeric(5, 2)) as final_score,
    final_source,
    grade,
    grade_label_zh
from evaluated
