-- R5, departments: an imported department evaluation (third_party > finance > self) when
-- one exists, covering the department's total budget; otherwise the budget-weighted mean of
-- the final scores of its projects that have one (source weighted_projects), covering the
-- budgets weighted. Every department with projects in the year or an imported evaluation.
with

projects as (
    select * from {{ ref('int_projects_evaluated') }}
),

imported as (
    select * from {{ ref('int_evaluations_scored') }}
    where subject_type = 'department'
),

bands as (
    select * from {{ ref('int_grade_bands') }}
),

department_budgets as (
    select
        fiscal_year,
        department_code,
        sum(budget_amount_yuan) as total_budget_yuan,
        count(*) as projects
    from projects
    group by fiscal_year, department_code
),

weighted as (
    select
        fiscal_year,
        department_code,
        sum(budget_amount_yuan * final_score) / nullif(sum(budget_amount_yuan), 0)
            as weighted_score,
        sum(budget_amount_yuan) as weighted_budget_yuan
    from projects
    where final_score is not null
    group by fiscal_year, department_code
),

imported_winner as (
    select
        fiscal_year,
        subject_code as department_code,
        evaluator,
        score
    from (
        select
            *,
            row_number() over (
                partition by fiscal_year, subject_code
                order by
                    case evaluator
                        when 'third_party' then 1 when 'finance' then 2 else 3
                    end
            ) as rank_in_precedence
        from imported
    ) as ranked
    where rank_in_precedence = 1
),

departments as (
    select
        fiscal_year,
        department_code
    from department_budgets
    union
    select
        fiscal_year,
        department_code
    from imported_winner
),

scored as (
    select
        departments.fiscal_year,
        departments.department_code,
        coalesce(department_budgets.projects, 0) as projects,
        imported_winner.department_code is not null as is_imported,
        coalesce(imported_winner.score, {{ score('weighted.weighted_score') }}) as score,
        case
            when imported_winner.department_code is not null then imported_winner.evaluator
            when weighted.weighted_score is not null then 'weighted_projects'
        end as source,
        case
            when imported_winner.department_code is not null
                then coalesce(department_budgets.total_budget_yuan, 0)
            when weighted.weighted_score is not null then weighted.weighted_budget_yuan
        end as evaluated_budget_yuan,
        coalesce(department_budgets.total_budget_yuan, 0) as total_budget_yuan
    from departments
    left join department_budgets
        on
            departments.fiscal_year = department_budgets.fiscal_year
            and departments.department_code = department_budgets.department_code
    left join weighted
        on
            departments.fiscal_year = weighted.fiscal_year
            and departments.department_code = weighted.department_code
    left join imported_winner
        on
            departments.fiscal_year = imported_winner.fiscal_year
            and departments.department_code = imported_winner.department_code
)

select
    scored.*,
    bands.grade,
    bands.grade_label_zh
from scored
left join bands
    on
        scored.score >= bands.min_score
        and (bands.below_score is null or scored.score < bands.below_score)
