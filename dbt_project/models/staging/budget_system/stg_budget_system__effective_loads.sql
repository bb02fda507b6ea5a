with

source as (
    select * from {{ source('budget_system', 'effective_loads') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        entity,
        fiscal_year,
        load_id,

        -- dates
        as_of

    from source
)

select * from renamed
