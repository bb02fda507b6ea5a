-- R2: spending progress of every project at every checkpoint.
--   execution_rate = spent / budget;  gap = expected(c) - execution_rate
--   status, in this order: budget 0 -> no_budget (rate and gap null); rate > 1 -> overspent;
--   gap <= on_track_max_gap -> on_track; gap <= lagging_max_gap -> lagging;
--   else seriously_lagging. Exact numeric comparisons; nothing is rounded here.
with

projects as (
    select * from {{ ref('int_projects_at_checkpoints') }}
),

spending as (
    select * from {{ ref('int_payments_summed_to_projects') }}
),

measured as (
    select
        projects.*,
        cast(coalesce(spending.spent_yuan, 0) as numeric(18, 2)) as spent_yuan,
        case
            when projects.budget_amount_yuan = 0 then null
            else {{ rate('coalesce(spending.spent_yuan, 0) / projects.budget_amount_yuan') }}
        end as execution_rate
    from projects
    left join spending
        on
            projects.checkpoint_date = spending.checkpoint_date
            and projects.fiscal_year = spending.fiscal_year
            and projects.project_code = spending.project_code
),

with_gap as (
    select
        *,
        {{ rate('expected_rate - execution_rate') }} as gap
    from measured
)

select
    *,
    case
        when budget_amount_yuan = 0 then 'no_budget'
        when execution_rate > 1 then 'overspent'
        when gap <= {{ var('on_track_max_gap') }} then 'on_track'
        when gap <= {{ var('lagging_max_gap') }} then 'lagging'
        else 'seriously_lagging'
    end as progress_status
from with_gap
