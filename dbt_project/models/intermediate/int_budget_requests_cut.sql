-- R6: next-year budget proposals (预算安排挂钩). For a request of budget year B with prior
-- project p (a project of B-1) and the request's department d:
--   extra_cut = max(extra(grade of p), extra(grade of d)), extra from the grades seed
--   total_cut = uniform_cut(B) + extra_cut;  proposed = round(requested * (1 - total_cut), 2)
-- A request without a prior project gets the uniform cut only. Requests are taken as
-- delivered at the year-end point of B-1, once that point has run.
--
-- Hash joins only: PostgreSQL cannot estimate the requests at the year-end point (a join
-- through the snapshot views on checkpoint and budget_year = fiscal_year + 1) and took
-- them for one row; at 100 counties (64,200 requests) its nested loops over the graded
-- departments ran 45 s instead of 0.3 s. Every input holds at most one row per project or
-- department and year, so hash joins are never the worse choice here.
{{ config(pre_hook="set local enable_nestloop = off") }}
{%- set extra_cut -%}
    case
        when year_end_requests.prior_project_code is null then 0
        else greatest(
            coalesce(prior_band.extra_cut_rate, 0),
            coalesce(department_band.extra_cut_rate, 0)
        )
    end
{%- endset %}

with

checkpoints as (
    select * from {{ ref('int_checkpoints') }}
    where is_year_end
),

requests as (
    select * from {{ ref('stg_budget_system__budget_requests') }}
),

projects as (
    select * from {{ ref('int_projects_evaluated') }}
),

departments as (
    select * from {{ ref('int_departments_evaluated') }}
),

bands as (
    select * from {{ ref('int_grade_bands') }}
),

uniform_cuts as (
    select * from {{ ref('uniform_cuts') }}
),

year_end_requests as (
    select requests.*
    from requests
    inner join checkpoints
        on
            requests.checkpoint_date = checkpoints.checkpoint_date
            and requests.budget_year = checkpoints.fiscal_year + 1
),

graded as (
    select
        year_end_requests.budget_year,
        year_end_requests.project_code,
        year_end_requests.department_code,
        year_end_requests.prior_project_code,
        year_end_requests.requested_yuan,
        {{ rate('coalesce(uniform_cuts.uniform_cut_rate, 0)') }} as uniform_cut_rate,
        prior_project.grade as prior_project_grade,
        prior_project.grade_label_zh as prior_project_grade_label_zh,
        department.grade as department_grade,
        department.grade_label_zh as department_grade_label_zh,
        {{ rate(extra_cut) }} as extra_cut_rate
    from year_end_requests
    left join uniform_cuts
        on year_end_requests.budget_year = uniform_cuts.budget_year
    left join projects as prior_project
        on
            prior_project.fiscal_year = year_end_requests.budget_year - 1
            and year_end_requests.prior_project_code = prior_project.project_code
    left join departments as department
        on
            department.fiscal_year = year_end_requests.budget_year - 1
            and year_end_requests.department_code = department.department_code
    left join bands as prior_band on prior_project.grade = prior_band.grade
    left join bands as department_band on department.grade = department_band.grade
)

select
    *,
    uniform_cut_rate + extra_cut_rate as total_cut_rate,
    {{ yuan('requested_yuan * (1 - (uniform_cut_rate + extra_cut_rate))') }} as proposed_yuan
from graded
