-- Every project of a fiscal year at every checkpoint of that year, monitored or not (R2),
-- with the budget as delivered as of the checkpoint.
with

checkpoints as (
    select * from {{ ref('int_checkpoints') }}
),

projects as (
    select * from {{ ref('stg_budget_system__projects') }}
),

departments as (
    select * from {{ ref('stg_budget_system__departments') }}
)

select
    checkpoints.checkpoint_date,
    checkpoints.fiscal_year,
    checkpoints.expected_rate,
    checkpoints.is_year_end,
    checkpoints.is_monitoring_point,
    checkpoints.is_idle_funds_point,
    projects.project_code,
    projects.project_name,
    projects.department_code,
    departments.department_name,
    projects.budget_type,
    projects.fund_source,
    projects.category,
    projects.is_new,
    projects.is_monitored,
    projects.is_ppp,
    projects.is_debt,
    projects.budget_amount_yuan
from checkpoints
inner join projects
    on
        checkpoints.checkpoint_date = projects.checkpoint_date
        and checkpoints.fiscal_year = projects.fiscal_year
left join departments
    on
        checkpoints.checkpoint_date = departments.checkpoint_date
        and projects.department_code = departments.department_code
