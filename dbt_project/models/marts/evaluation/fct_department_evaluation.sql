with

evaluated as (
    select * from {{ ref('int_departments_evaluated') }}
)

select
    fiscal_year,
    department_code,
    cast(projects as integer) as projects,
    cast(score as numeric(5, 2)) as score,
    source,
    grade,
    grade_label_zh,
    is_imported,
    cast(evaluated_budget_yuan as numeric(18, 2)) as evaluated_budget_yuan,
    cast(total_budget_yuan as numeric(18, 2)) as total_budget_yuan
from evaluated
