with

source as (
    select * from {{ source('budget_system', 'effective_evaluations') }}
),

renamed as (
    select
        -- ids
        checkpoint_date,
        fiscal_year,
        subject_type,
        subject_code,
        evaluator,
        load_id,

        -- scores
        score,
        report_quality_score,

        -- attributes
        grade as imported_grade,

        -- dates
        evaluated_on

    from source
)

select * from renamed
