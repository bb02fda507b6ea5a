with

checkpoints as (
    select * from {{ ref('int_checkpoints') }}
)

select
    checkpoint_date,
    fiscal_year,
    cast(expected_rate as numeric) as expected_rate,
    case when is_year_end then 'year_end' else 'monitoring' end as checkpoint_kind,
    is_idle_funds_point,
    cast(
        extract(year from checkpoint_date) || '年'
        || extract(month from checkpoint_date) || '月'
        || extract(day from checkpoint_date) || '日'
        || case when is_year_end then '年终评价点' else '运行监控点' end
        as text
    ) as label_zh
from checkpoints
