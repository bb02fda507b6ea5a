-- R8: departments ranked by execution rate at each checkpoint (RANK(): highest first,
-- ties shared, a department without budget has no rate and no rank).
with

progress as (
    select * from {{ ref('fct_project_progress') }}
),

departments as (
    select * from {{ ref('stg_budget_system__departments') }}
),

summed as (
    select
        fiscal_year,
        checkpoint_date,
        department_code,
        count(*) as projects,
        count(*) filter (
            where progress_status in ('lagging', 'seriously_lagging')
        ) as lagging_projects,
        count(*) filter (where needs_correction) as projects_needing_correction,
        sum(budget_amount_yuan) as budget_amount_yuan,
        sum(spent_yuan) as spent_yuan
    from progress
    group by fiscal_year, checkpoint_date, department_code
),

rated as (
    select
        *,
        {{ rate('spent_yuan / nullif(budget_amount_yuan, 0)') }} as execution_rate
    from summed
)

select
    rated.fiscal_year,
    rated.checkpoint_date,
    rated.department_code,
    departments.department_name,
    departments.department_kind,
    departments.contact_email,
    cast(rated.projects as integer) as projects,
    cast(rated.lagging_projects as integer) as lagging_projects,
    cast(rated.projects_needing_correction as integer) as projects_needing_correction,
    cast(rated.budget_amount_yuan as numeric(18, 2)) as budget_amount_yuan,
    cast(rated.spent_yuan as numeric(18, 2)) as spent_yuan,
    cast(rated.execution_rate as numeric) as execution_rate,
    cast(
        case
            when rated.execution_rate is not null
                then rank() over (
                    partition by
                        rated.fiscal_year,
                        rated.checkpoint_date,
                        rated.execution_rate is null
                    order by rated.execution_rate desc
                )
        end as integer
    ) as rank
from rated
left join departments
    on
        rated.checkpoint_date = departments.checkpoint_date
        and rated.department_code = departments.department_code
