-- R9 coverage metrics per fiscal year, for the grouping sets (fund_source, budget_type),
-- (fund_source, all), (all, budget_type), (all, all); only where the denominator > 0.
-- Each metric is a set of rows (a project, an indicator or a department) with its
-- grouping keys, whether it counts in the numerator, and its money.
with

projects as (
    select * from {{ ref('int_projects_reported') }}
),

evaluated as (
    select * from {{ ref('int_projects_evaluated') }}
),

departments_evaluated as (
    select * from {{ ref('int_departments_evaluated') }}
),

targets as (
    select * from {{ ref('stg_budget_system__performance_targets') }}
),

indicators as (
    select
        targets.fiscal_year,
        projects.fund_source,
        projects.budget_type,
        targets.comparator
    from targets
    inner join projects
        on
            targets.checkpoint_date = projects.reporting_date
            and targets.fiscal_year = projects.fiscal_year
            and targets.project_code = projects.project_code
),

members as (
    select
        fiscal_year,
        'target_declared' as metric,
        fund_source,
        budget_type,
        has_target as in_numerator,
        budget_amount_yuan as amount_yuan
    from projects

    union all
    select
        fiscal_year,
        'pre_assessed' as metric,
        fund_source,
        budget_type,
        is_pre_assessed as in_numerator,
        budget_amount_yuan as amount_yuan
    from projects
    where is_new

    union all
    select
        fiscal_year,
        'monitored' as metric,
        fund_source,
        budget_type,
        is_monitored as in_numerator,
        budget_amount_yuan as amount_yuan
    from projects

    union all
    -- from the year-end point on: int_projects_evaluated only holds years whose
    -- year-end point has run
    select
        projects.fiscal_year,
        'evaluated' as metric,
        projects.fund_source,
        projects.budget_type,
        evaluated.final_score is not null as in_numerator,
        projects.budget_amount_yuan as amount_yuan
    from projects
    inner join evaluated
        on
            projects.fiscal_year = evaluated.fiscal_year
            and projects.project_code = evaluated.project_code

    union all
    select
        fiscal_year,
        'indicator_quantified' as metric,
        fund_source,
        budget_type,
        comparator <> 'qualitative' as in_numerator,
        null as amount_yuan
    from indicators

    union all
    select
        fiscal_year,
        'target_published' as metric,
        fund_source,
        budget_type,
        target_published as in_numerator,
        budget_amount_yuan as amount_yuan
    from projects
    where has_target
),

grouped as (
    select
        fiscal_year,
        metric,
        coalesce(fund_source, 'all') as fund_source,
        coalesce(budget_type, 'all') as budget_type,
        count(*) filter (where in_numerator) as numerator,
        count(*) as denominator,
        sum(amount_yuan) filter (where in_numerator) as numerator_yuan,
        sum(amount_yuan) as denominator_yuan
    from members
    group by
        fiscal_year,
        metric,
        grouping sets ((fund_source, budget_type), (fund_source), (budget_type), ())
),

department_rows as (
    -- department_evaluated: all/all only, from the year-end point on
    select
        fiscal_year,
        'department_evaluated' as metric,
        'all' as fund_source,
        'all' as budget_type,
        count(*) filter (where is_imported) as numerator,
        count(*) as denominator,
        coalesce(sum(total_budget_yuan) filter (where is_imported), 0) as numerator_yuan,
        sum(total_budget_yuan) as denominator_yuan
    from departments_evaluated
    where projects > 0
    group by fiscal_year
),

all_rows as (
    select * from grouped
    union all
    select * from department_rows
)

select
    fiscal_year,
    cast(metric as text) as metric,
    cast(fund_source as text) as fund_source,
    cast(budget_type as text) as budget_type,
    cast(numerator as integer) as numerator,
    cast(denominator as integer) as denominator,
    cast(
        case when metric <> 'indicator_quantified' then coalesce(numerator_yuan, 0) end
        as numeric(18, 2)
    ) as numerator_yuan,
    cast(denominator_yuan as numeric(18, 2)) as denominator_yuan,
    {{ rate('cast(numerator as numeric) / denominator') }} as rate,
    {{ rate('coalesce(numerator_yuan, 0) / nullif(denominator_yuan, 0)') }} as rate_yuan
from all_rows
where denominator > 0
