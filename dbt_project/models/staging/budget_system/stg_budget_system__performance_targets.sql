with

source as (
    select * from {{ source('budget_system', 'effective_performance_targets') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        fiscal_year,
        project_code,
        indicator_code,
        load_id,

        -- attributes
        level1,
        level2,
        indicator_name,
        comparator,
        unit,

        -- values
        target_value,
        weight,

        -- dates
        declared_on,

        -- flags
        is_published

    from source
)

select * from renamed
