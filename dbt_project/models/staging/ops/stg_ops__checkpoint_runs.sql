with

source as (
    select * from {{ source('ops', 'checkpoint_runs') }}
),

renamed as (
    select
        checkpoint_date,
        fiscal_year,
        last_run_at,
        last_run_id
    from source
)

select * from renamed
