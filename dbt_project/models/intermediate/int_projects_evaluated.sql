-- R5, projects: the final score by precedence third_party > finance > self, where self is
-- the R4 score, or an imported self evaluation where R4 gives none. Every project of the
-- year gets a row (null scores where there are none); the grade is the rounded score's band.
with

projects as (
    select * from {{ ref('int_projects_at_checkpoints') }}
    where is_year_end
),

self_scores as (
    select * from {{ ref('int_projects_self_scored') }}
),

imported as (
    select * from {{ ref('int_evaluations_scored') }}
    where subject_type = 'project'
),

bands as (
    select * from {{ ref('int_grade_bands') }}
),

candidates as (
    select
        fiscal_year,
        subject_code as project_code,
        evaluator as source,
        score,
        1 as precedence
    from imported
    where evaluator = 'third_party'
    union all
    select
        fiscal_year,
        subject_code as project_code,
        evaluator as source,
        score,
        2 as precedence
    from imported
    where evaluator = 'finance'
    union all
    select
        fiscal_year,
        project_code,
        'self' as source,
        self_score as score,
        3 as precedence
    from self_scores
    where self_score is not null
    union all
    select
        fiscal_year,
        subject_code as project_code,
        evaluator as source,
        score,
        4 as precedence
    from imported
    where evaluator = 'self'
),

winners as (
    select
        fiscal_year,
        project_code,
        source as final_source,
        score as final_score
    from (
        select
            *,
            row_number() over (
                partition by fiscal_year, project_code order by precedence
            ) as rank_in_precedence
        from candidates
    ) as ranked
    where rank_in_precedence = 1
),

pivoted as (
    select
        fiscal_year,
        subject_code as project_code,
        max(case when evaluator = 'third_party' then score end) as third_party_score,
        max(case when evaluator = 'finance' then score end) as finance_score,
        max(case when evaluator = 'self' then score end) as imported_self_score
    from imported
    group by fiscal_year, subject_code
)

select
    projects.fiscal_year,
    projects.project_code,
    projects.department_code,
    projects.budget_amount_yuan,
    self_scores.execution_score,
    self_scores.indicator_score,
    self_scores.self_score,
    pivoted.imported_self_score,
    pivoted.finance_score,
    pivoted.third_party_score,
    winners.final_score,
    winners.final_source,
    bands.grade,
    bands.grade_label_zh
from projects
left join self_scores
    on
        projects.fiscal_year = self_scores.fiscal_year
        and projects.project_code = self_scores.project_code
left join pivoted
    on
        projects.fiscal_year = pivoted.fiscal_year
        and projects.project_code = pivoted.project_code
left join winners
    on
        projects.fiscal_year = winners.fiscal_year
        and projects.project_code = winners.project_code
left join bands
    on
        winners.final_score >= bands.min_score
        and (bands.below_score is null or winners.final_score < bands.below_score)
