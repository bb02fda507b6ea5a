-- R3: completion of every declared indicator at every checkpoint of its year.
--   >=  completion = a / t            (t = 0 -> null)
--   <=  completion = t / a            (a = 0 -> 1)
--   =   completion = min(a,t)/max(a,t) (both 0 -> 1)
--   qualitative: the reported achievement itself, a fraction in [0, 1]
-- An indicator deviates at a monitoring checkpoint when completion < expected(c) - margin;
-- never at the year-end point, never without an actual.
with

checkpoints as (
    select * from {{ ref('int_checkpoints') }}
),

targets as (
    select * from {{ ref('stg_budget_system__performance_targets') }}
),

actuals as (
    select * from {{ ref('int_indicator_actuals_latest') }}
),

joined as (
    select
        checkpoints.checkpoint_date,
        checkpoints.fiscal_year,
        checkpoints.expected_rate,
        checkpoints.is_year_end,
        checkpoints.is_monitoring_point,
        targets.project_code,
        targets.indicator_code,
        targets.indicator_name,
        targets.level1,
        targets.level2,
        targets.comparator,
        targets.target_value,
        targets.unit,
        targets.weight,
        targets.is_published,
        actuals.actual_value,
        actuals.reported_as_of as actual_as_of
    from checkpoints
    inner join targets
        on
            checkpoints.checkpoint_date = targets.checkpoint_date
            and checkpoints.fiscal_year = targets.fiscal_year
    left join actuals
        on
            targets.checkpoint_date = actuals.checkpoint_date
            and targets.fiscal_year = actuals.fiscal_year
            and targets.project_code = actuals.project_code
            and targets.indicator_code = actuals.indicator_code
),

measured as (
    select
        *,
        case
            when actual_value is null then null
            when comparator = '>='
                then
                    case when target_value = 0 then null else actual_value / target_value end
            when comparator = '<='
                then
                    case when actual_value = 0 then 1 else target_value / actual_value end
            when comparator = '='
                then
                    case
                        when actual_value = target_value then 1
                        when greatest(actual_value, target_value) = 0 then null
                        else
                            least(actual_value, target_value)
                            / greatest(actual_value, target_value)
                    end
            when comparator = 'qualitative' then actual_value
        end as completion
    from joined
)

select
    checkpoint_date,
    fiscal_year,
    expected_rate,
    is_year_end,
    is_monitoring_point,
    project_code,
    indicator_code,
    indicator_name,
    level1,
    level2,
    comparator,
    target_value,
    unit,
    weight,
    is_published,
    actual_value,
    actual_as_of,
    {{ rate('completion') }} as completion,
    coalesce(
        is_monitoring_point and completion < expected_rate - {{ var('deviation_margin') }},
        false
    ) as is_deviating
from measured
