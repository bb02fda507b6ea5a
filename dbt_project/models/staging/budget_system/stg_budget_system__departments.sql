with

source as (
    select * from {{ source('budget_system', 'effective_departments') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        department_code,
        load_id,

        -- attributes
        department_name,
        kind as department_kind,
        sector,
        contact_email

    from source
)

select * from renamed
