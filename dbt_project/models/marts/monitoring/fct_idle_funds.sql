-- R7: at the idle-funds point (11-30), a project spending less than the threshold of its
-- budget is proposed for recovery of the unspent budget. Only proposed projects are listed.
with

progress as (
    select * from {{ ref('int_projects_progress_measured') }}
    where is_idle_funds_point
)

select
    fiscal_year,
    checkpoint_date,
    project_code,
    project_name,
    department_code,
    budget_amount_yuan,
    cast(spent_yuan as numeric(18, 2)) as spent_yuan,
    cast(execution_rate as numeric) as execution_rate,
    cast(budget_amount_yuan - spent_yuan as numeric(18, 2)) as recoverable_yuan
from progress
where execution_rate < {{ var('idle_rate_threshold') }}
