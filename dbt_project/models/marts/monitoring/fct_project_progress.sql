-- R2 per project and checkpoint, plus needs_correction (R3): the project is lagging or
-- seriously lagging, or one of its indicators deviates.
with

progress as (
    select * from {{ ref('int_projects_progress_measured') }}
),

indicators as (
    select * from {{ ref('int_indicators_progress_measured') }}
),

deviations as (
    select
        checkpoint_date,
        fiscal_year,
        project_code,
        count(*) filter (where is_deviating) as deviating_indicators,
        count(*) as indicators
    from indicators
    group by checkpoint_date, fiscal_year, project_code
)

select
    progress.fiscal_year,
    progress.checkpoint_date,
    progress.project_code,
    progress.project_name,
    progress.department_code,
    progress.department_name,
    progress.budget_type,
    progress.fund_source,
    progress.category,
    progress.is_monitored,
    progress.budget_amount_yuan,
    cast(progress.spent_yuan as numeric(18, 2)) as spent_yuan,
    cast(progress.execution_rate as numeric) as execution_rate,
    cast(progress.expected_rate as numeric) as expected_rate,
    cast(progress.gap as numeric) as gap,
    progress.progress_status,
    cast(coalesce(deviations.indicators, 0) as integer) as indicators,
    cast(coalesce(deviations.deviating_indicators, 0) as integer) as deviating_indicators,
    (
        progress.progress_status in ('lagging', 'seriously_lagging')
        or coalesce(deviations.deviating_indicators, 0) > 0
    ) as needs_correction
from progress
left join deviations
    on
        progress.checkpoint_date = deviations.checkpoint_date
        and progress.fiscal_year = deviations.fiscal_year
        and progress.project_code = deviations.project_code
