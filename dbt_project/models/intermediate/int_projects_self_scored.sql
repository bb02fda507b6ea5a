-- R4: the self-evaluation score computed from data at the year-end point.
--   execution_score = 10 * min(1, execution rate at Y-12-31)
--   indicator_score = 90 * sum(w * min(1, completion)) / sum(w), over the indicators that
--                     have an actual (and so a completion) at Y-12-31; an indicator never
--                     reported is left out, not counted as 0
--   self_score      = round(execution_score + indicator_score, 2)
-- No self score when the budget is 0 or no indicator has an actual. The 10 and 90 points
-- are the vars self_score_execution_points and self_score_indicator_points.
{%- set execution_score -%}
    {{ var('self_score_execution_points') }} * least(1, progress.execution_rate)
{%- endset %}
{%- set indicator_score -%}
    {{ var('self_score_indicator_points') }}
    * sum(weight * least(1, completion)) / nullif(sum(weight), 0)
{%- endset %}
with

progress as (
    select * from {{ ref('int_projects_progress_measured') }}
    where is_year_end
),

indicators as (
    select * from {{ ref('int_indicators_progress_measured') }}
    where is_year_end and completion is not null
),

indicator_scores as (
    select
        fiscal_year,
        project_code,
        {{ rate(indicator_score) }} as indicator_score,
        count(*) as indicators_scored
    from indicators
    group by fiscal_year, project_code
),

scored as (
    select
        progress.fiscal_year,
        progress.project_code,
        progress.budget_amount_yuan,
        progress.execution_rate,
        case
            when progress.budget_amount_yuan > 0
                then {{ rate(execution_score) }}
        end as execution_score,
        indicator_scores.indicator_score,
        coalesce(indicator_scores.indicators_scored, 0) as indicators_scored
    from progress
    left join indicator_scores
        on
            progress.fiscal_year = indicator_scores.fiscal_year
            and progress.project_code = indicator_scores.project_code
)

select
    *,
    case
        when execution_score is not null and indicator_score is not null
            then {{ score('execution_score + indicator_score') }}
    end as self_score
from scored
