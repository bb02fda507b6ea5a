-- R6 proposals with a reason a finance officer can read (Chinese).
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
                when uniform_cut_rate > 0
                    then '统一压减' || to_char(uniform_cut_rate * 100, 'FM990.##') || '%'
            end,
            case
                when extra_cut_rate > 0
                    then
                        '评价结果应用额外压减' || to_char(extra_cut_rate * 100, 'FM990.##') || '%'
                        || '（上年项目评价：' || coalesce(prior_project_grade_label_zh, '无')
                        || '；部门评价：' || coalesce(department_grade_label_zh, '无') || '）'
            end,
            case
                when prior_project_code is null then '新增项目，无上年评价结果'
            end,
            case
                when uniform_cut_rate = 0 and extra_cut_rate = 0 and prior_project_code is not null
                    then '上年评价结果良好，不额外压减'
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
