with

source as (
    select * from {{ source('budget_system', 'effective_budget_requests') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        budget_year,
        project_code,
        department_code,
        prior_project_code,
        load_id,

        -- amounts
        cast(requested_yuan as numeric(18, 2)) as requested_yuan

    from source
)

select * from renamed
