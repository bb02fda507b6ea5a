-- The projects of each fiscal year as of the year's reporting point: the latest checkpoint
-- run on or before the year-end point of Y (var year_end_month_day, 12-31 by default; so
-- the 2022 budget delivered in 2021 is reported from the 2021-12-31 point until a 2022
-- point runs). Flags for the coverage metrics (R9).
with

projects as (
    select * from {{ ref('stg_budget_system__projects') }}
),

departments as (
    select * from {{ ref('stg_budget_system__departments') }}
),

targets as (
    select * from {{ ref('stg_budget_system__performance_targets') }}
),

pre_assessments as (
    select * from {{ ref('stg_budget_system__pre_assessments') }}
),

reporting_points as (
    select
        fiscal_year,
        max(checkpoint_date) as reporting_date
    from projects
    where checkpoint_date <= {{ date_in_year('fiscal_year', var('year_end_month_day')) }}
    group by fiscal_year
),

target_summary as (
    select
        checkpoint_date,
        fiscal_year,
        project_code,
        count(*) as indicators,
        count(*) filter (where comparator <> 'qualitative') as quantified_indicators,
        bool_and(is_published) as all_published
    from targets
    group by checkpoint_date, fiscal_year, project_code
)

select
    reporting_points.reporting_date,
    projects.fiscal_year,
    projects.project_code,
    projects.department_code,
    departments.sector,
    projects.budget_type,
    projects.fund_source,
    projects.category,
    projects.budget_amount_yuan,
    projects.is_new,
    projects.is_monitored,
    target_summary.project_code is not null as has_target,
    coalesce(target_summary.indicators, 0) as indicators,
    coalesce(target_summary.quantified_indicators, 0) as quantified_indicators,
    coalesce(target_summary.all_published, false) as target_published,
    pre_assessments.project_code is not null as is_pre_assessed
from projects
inner join reporting_points
    on
        projects.fiscal_year = reporting_points.fiscal_year
        and projects.checkpoint_date = reporting_points.reporting_date
left join departments
    on
        projects.checkpoint_date = departments.checkpoint_date
        and projects.department_code = departments.department_code
left join target_summary
    on
        projects.checkpoint_date = target_summary.checkpoint_date
        and projects.fiscal_year = target_summary.fiscal_year
        and projects.project_code = target_summary.project_code
left join pre_assessments
    on
        projects.checkpoint_date = pre_assessments.checkpoint_date
        and projects.fiscal_year = pre_assessments.fiscal_year
        and projects.project_code = pre_assessments.project_code
