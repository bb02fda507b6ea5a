with

source as (
    select * from {{ source('budget_system', 'effective_projects') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        fiscal_year,
        project_code,
        department_code,
        load_id,

        -- attributes
        project_name,
        budget_type,
        fund_source,
        category,

        -- amounts
        cast(budget_amount_yuan as numeric(18, 2)) as budget_amount_yuan,

        -- flags
        is_new,
        is_monitored,
        is_ppp,
        is_debt

    from source
)

select * from renamed
