-- R6 proposals with a reason a finance officer can read (Chinese): what the evaluation
-- results were (and that a missing grade is missing, never "good"), then each cut applied.
--   new project (no prior project):   新增项目，无上年评价结果，仅执行统一压减
--   neither prior project nor department graded: 上年项目及部门均无评价等级，仅执行统一压减
--   otherwise: 上年项目评价为X（or 上年项目无评价等级），部门评价为Y（or 部门无评价等级）
--              [，不额外压减 when no extra cut]
-- then 统一压减n%, 评价结果应用额外压减m%, or 本年度无统一压减，按申报金额安排 when nothing is cut.
-- Percentages are exact (2.5%, not rounded to 3%: to_char has no optional-digit pattern).
with

proposals as (
    select * from {{ ref('int_budget_requests_cut') }}
),

explained as (
    select
        *,
        concat_ws(
            '；',
            case
                when prior_project_code is null
                    then '新增项目，无上年评价结果，仅执行统一压减'
                when prior_project_grade is null and department_grade is null
                    then '上年项目及部门均无评价等级，仅执行统一压减'
                else
                    coalesce('上年项目评价为' || prior_project_grade_label_zh, '上年项目无评价等级')
                    || '，'
                    || coalesce('部门评价为' || department_grade_label_zh, '部门无评价等级')
                    || case when extra_cut_rate = 0 then '，不额外压减' else '' end
            end,
            case
                when uniform_cut_rate > 0
                    then '统一压减' || cast({{ rate('uniform_cut_rate * 100') }} as text) || '%'
            end,
            case
                when extra_cut_rate > 0
                    then
                        '评价结果应用额外压减'
                        || cast({{ rate('extra_cut_rate * 100') }} as text) || '%'
            end,
            case
                when uniform_cut_rate = 0 and extra_cut_rate = 0
                    then '本年度无统一压减，按申报金额安排'
            end
        ) as reason
    from proposals
)

select
    budget_year,
    project_code,
    department_code,
    prior_project_code,
    prior_project_grade,
    department_grade,
    requested_yuan,
    cast(uniform_cut_rate as numeric) as uniform_cut_rate,
    cast(extra_cut_rate as numeric) as extra_cut_rate,
    cast(total_cut_rate as numeric) as total_cut_rate,
    proposed_yuan,
    cast(requested_yuan - proposed_yuan as numeric(18, 2)) as cut_yuan,
    cast(reason as text) as reason
from explained
