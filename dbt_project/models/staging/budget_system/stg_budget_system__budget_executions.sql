with

source as (
    select * from {{ source('budget_system', 'effective_budget_execution') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        record_id,
        fiscal_year,
        project_code,
        load_id,

        -- amounts (negative = reversal)
        cast(amount_yuan as numeric(18, 2)) as amount_yuan,

        -- dates
        payment_date,

        -- attributes
        voucher_no,
        payee

    from source
)

select * from renamed
