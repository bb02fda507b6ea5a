with

indicators as (
    select * from {{ ref('int_indicators_progress_measured') }}
)

select
    fiscal_year,
    checkpoint_date,
    project_code,
    indicator_code,
    indicator_name,
    level1,
    level2,
    comparator,
    cast(target_value as numeric) as target_value,
    unit,
    cast(weight as numeric) as weight,
    is_published,
    cast(actual_value as numeric) as actual_value,
    actual_as_of,
    cast(completion as numeric) as completion,
    cast(expected_rate as numeric) as expected_rate,
    is_deviating
from indicators
