-- R1: the checkpoints that have run, with their expected progress (序时进度) and kind.
-- expected(c) = month(c) / 12, exact numeric (11/12 is not rounded).
with

runs as (
    select * from {{ ref('stg_ops__checkpoint_runs') }}
),

calendar as (
    select
        checkpoint_date,
        cast(extract(year from checkpoint_date) as integer) as fiscal_year,
        {{ rate('cast(extract(month from checkpoint_date) as numeric) / 12') }} as expected_rate,
        to_char(checkpoint_date, 'MM-DD') = '{{ var("year_end_month_day") }}' as is_year_end,
        to_char(checkpoint_date, 'MM-DD') = '{{ var("idle_funds_month_day") }}'
            as is_idle_funds_point
    from runs
)

select
    checkpoint_date,
    fiscal_year,
    expected_rate,
    is_year_end,
    not is_year_end as is_monitoring_point,
    is_idle_funds_point
from calendar
