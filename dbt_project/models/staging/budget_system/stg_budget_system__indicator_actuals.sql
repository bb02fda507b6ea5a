with

source as (
    select * from {{ source('budget_system', 'effective_indicator_actuals') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        fiscal_year,
        project_code,
        indicator_code,
        load_id,

        -- values
        actual_value,

        -- dates
        as_of as reported_as_of

    from source
)

select * from renamed
