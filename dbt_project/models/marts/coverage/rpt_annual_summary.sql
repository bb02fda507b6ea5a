-- The figures a year-end report states, one row per (fiscal_year, figure), with a Chinese
-- label. Figures about a budget (targets, proposals) sit under that budget's year: the 2021
-- report quotes the 2022 budget's targets from fiscal_year 2022.
with

coverage as (
    select * from {{ ref('rpt_coverage') }}
),

projects as (
    select * from {{ ref('int_projects_reported') }}
),

evaluated as (
    select * from {{ ref('int_projects_evaluated') }}
),

proposals as (
    select * from {{ ref('int_budget_requests_cut') }}
),

idle_funds as (
    select * from {{ ref('fct_idle_funds') }}
),

grades as (
    select * from {{ ref('int_grade_bands') }}
),

coverage_figures as (
    select
        fiscal_year,
        figure,
        label_zh,
        sort_order,
        sum(numerator) as value,
        sum(numerator_yuan) as value_yuan
    from (
        select
            coverage.*,
            spec.figure,
            spec.label_zh,
            spec.sort_order
        from coverage
        inner join (
            values
            ('projects_with_targets', '申报绩效目标的项目', 'target_declared', 'all', 20),
            ('targets_declared_county', '县本级资金项目绩效目标', 'target_declared', 'county', 40),
            (
                'targets_declared_transfer', '中央和自治区转移支付项目绩效目标',
                'target_declared', 'central_transfer', 50
            ),
            (
                'targets_declared_transfer', '中央和自治区转移支付项目绩效目标',
                'target_declared', 'region_transfer', 50
            ),
            ('pre_assessed_new_projects', '开展事前绩效评估的新增项目', 'pre_assessed', 'all', 60),
            ('monitored_projects', '纳入绩效运行监控的项目', 'monitored', 'all', 70),
            ('evaluated_projects', '完成绩效评价的项目', 'evaluated', 'all', 80),
            (
                'department_evaluations', '开展部门整体支出绩效评价的部门',
                'department_evaluated', 'all', 90
            )
        ) as spec (figure, label_zh, metric, fund_source, sort_order)
            on
                coverage.metric = spec.metric
                and coverage.fund_source = spec.fund_source
                and coverage.budget_type = 'all'
    ) as coverage_matched
    group by fiscal_year, figure, label_zh, sort_order
),

project_figures as (
    select
        fiscal_year,
        'projects' as figure,
        '项目总数' as label_zh,
        10 as sort_order,
        count(*) as value,
        sum(budget_amount_yuan) as value_yuan
    from projects
    group by fiscal_year

    union all
    select
        fiscal_year,
        'departments_with_targets' as figure,
        '申报绩效目标的部门（单位）' as label_zh,
        30 as sort_order,
        count(distinct department_code) as value,
        null as value_yuan
    from projects
    where has_target
    group by fiscal_year

    union all
    select
        fiscal_year,
        'departments_with_targets_county' as figure,
        '县本级资金申报绩效目标的部门（单位）' as label_zh,
        41 as sort_order,
        count(distinct department_code) as value,
        null as value_yuan
    from projects
    where has_target and fund_source = 'county'
    group by fiscal_year

    union all
    select
        fiscal_year,
        'indicator_system_categories' as figure,
        '绩效评价指标体系覆盖的专项类别' as label_zh,
        100 as sort_order,
        count(distinct category) as value,
        null as value_yuan
    from projects
    where has_target and category <> 'other'
    group by fiscal_year

    union all
    select
        fiscal_year,
        'indicator_system_sectors' as figure,
        '绩效评价指标体系覆盖的行业' as label_zh,
        101 as sort_order,
        count(distinct sector) as value,
        null as value_yuan
    from projects
    where has_target and category <> 'other'
    group by fiscal_year

    union all
    select
        fiscal_year,
        'indicator_system_departments' as figure,
        '绩效评价指标体系覆盖的部门' as label_zh,
        102 as sort_order,
        count(distinct department_code) as value,
        null as value_yuan
    from projects
    where has_target and category <> 'other'
    group by fiscal_year
),

evaluated_years as (
    select distinct fiscal_year from evaluated
),

grade_figures as (
    select
        years.fiscal_year,
        'grade_' || grades.grade as figure,
        '评价等级为' || grades.grade_label_zh || '的项目' as label_zh,
        110 + row_number() over (
            partition by years.fiscal_year order by grades.min_score desc
        ) as sort_order,
        count(evaluated.project_code) as value,
        coalesce(sum(evaluated.budget_amount_yuan), 0) as value_yuan
    from grades
    cross join evaluated_years as years
    left join evaluated
        on
            years.fiscal_year = evaluated.fiscal_year
            and grades.grade = evaluated.grade
    group by years.fiscal_year, grades.grade, grades.grade_label_zh, grades.min_score
),

proposal_figures as (
    select
        budget_year as fiscal_year,
        'budget_requests' as figure,
        '下年预算申报项目（申报金额）' as label_zh,
        120 as sort_order,
        count(*) as value,
        sum(requested_yuan) as value_yuan
    from proposals
    group by budget_year

    union all
    select
        budget_year as fiscal_year,
        'requests_cut_by_results' as figure,
        '因评价结果（中、差）额外压减的项目（压减金额）' as label_zh,
        121 as sort_order,
        count(*) filter (where extra_cut_rate > 0) as value,
        coalesce(
            sum(requested_yuan - proposed_yuan) filter (where extra_cut_rate > 0), 0
        ) as value_yuan
    from proposals
    group by budget_year

    union all
    select
        budget_year as fiscal_year,
        'budget_cut_total' as figure,
        '预算安排压减合计（压减金额）' as label_zh,
        122 as sort_order,
        count(*) filter (where total_cut_rate > 0) as value,
        sum(requested_yuan - proposed_yuan) as value_yuan
    from proposals
    group by budget_year

    union all
    select
        budget_year as fiscal_year,
        'proposed_total' as figure,
        '建议安排预算（建议金额）' as label_zh,
        123 as sort_order,
        count(*) as value,
        sum(proposed_yuan) as value_yuan
    from proposals
    group by budget_year
),

idle_figures as (
    select
        fiscal_year,
        'idle_funds' as figure,
        '拟收回闲置资金的项目（可收回金额）' as label_zh,
        130 as sort_order,
        count(*) as value,
        sum(recoverable_yuan) as value_yuan
    from idle_funds
    group by fiscal_year
),

all_figures as (
    select * from coverage_figures
    union all
    select * from project_figures
    union all
    select * from grade_figures
    union all
    select * from proposal_figures
    union all
    select * from idle_figures
)

select
    cast(fiscal_year as integer) as fiscal_year,
    cast(figure as text) as figure,
    cast(label_zh as text) as label_zh,
    cast(sort_order as integer) as sort_order,
    cast(value as numeric) as value,
    cast(value_yuan as numeric(18, 2)) as value_yuan,
    cast(round(value_yuan / 10000, 2) as numeric(18, 2)) as value_wan_yuan
from all_figures
