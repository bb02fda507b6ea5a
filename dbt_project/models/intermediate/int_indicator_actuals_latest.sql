-- R3: an indicator's actual at c is the value reported with the latest as_of <= c.
with

actuals as (
    select * from {{ ref('stg_budget_system__indicator_actuals') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by checkpoint_date, fiscal_year, project_code, indicator_code
            order by reported_as_of desc
        ) as recency
    from actuals
    where reported_as_of <= checkpoint_date
)

select
    checkpoint_date,
    fiscal_year,
    project_code,
    indicator_code,
    actual_value,
    reported_as_of
from ranked
where recency = 1
