-- Imported evaluations of a fiscal year as delivered at its year-end point, scores rounded
-- to 2 decimals (half away from zero), with the grade band of the rounded score. R5 takes
-- the grade from the band, never from the file; a contradicting imported grade is flagged
-- for the quality gate.
with

checkpoints as (
    select * from {{ ref('int_checkpoints') }}
),

evaluations as (
    select * from {{ ref('stg_budget_system__evaluations') }}
),

bands as (
    select * from {{ ref('int_grade_bands') }}
),

year_end as (
    select
        evaluations.checkpoint_date,
        evaluations.fiscal_year,
        evaluations.subject_type,
        evaluations.subject_code,
        evaluations.evaluator,
        {{ score('evaluations.score') }} as score,
        evaluations.imported_grade,
        evaluations.evaluated_on
    from evaluations
    inner join checkpoints
        on
            evaluations.checkpoint_date = checkpoints.checkpoint_date
            and evaluations.fiscal_year = checkpoints.fiscal_year
            and checkpoints.is_year_end
)

select
    year_end.*,
    bands.grade as band_grade,
    coalesce(year_end.imported_grade = bands.grade, true) as imported_grade_matches
from year_end
left join bands
    on
        year_end.score >= bands.min_score
        and (bands.below_score is null or year_end.score < bands.below_score)
