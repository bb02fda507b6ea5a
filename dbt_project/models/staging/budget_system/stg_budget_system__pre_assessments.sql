with

source as (
    select * from {{ source('budget_system', 'effective_pre_assessments') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        fiscal_year,
        project_code,
        load_id,

        -- scores (five dimensions, 0–20 each)
        necessity as necessity_score,
        economy as economy_score,
        target_rationality as target_rationality_score,
        feasibility as feasibility_score,
        compliance as compliance_score,

        -- attributes
        conclusion,

        -- dates
        assessed_on

    from source
)

select * from renamed
