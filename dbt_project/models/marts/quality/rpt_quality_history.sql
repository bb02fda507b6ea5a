-- Quality history for analysts, who read schema marts only: every verdict the quality
-- gates stored in ops.dq_results, one row per rule per gate run, with the texts a finance
-- officer reads. A view (dbt_project.yml), so the verdicts the marts gate writes after dbt
-- has run show at once. is_latest marks what ops.dq_latest_results holds: the latest run of
-- each checkpoint and, in it, the latest verdict of each rule of each gate.
with

results as (
    select * from {{ ref('stg_ops__dq_results') }}
),

runs_ranked as (
    select
        checkpoint_date,
        run_id,
        row_number() over (
            partition by checkpoint_date order by checked_at desc, result_id desc
        ) as recency
    from results
),

latest_runs as (
    select
        checkpoint_date,
        run_id
    from runs_ranked
    where recency = 1
),

verdicts_ranked as (
    select
        *,
        row_number() over (
            partition by checkpoint_date, run_id, gate, rule_id
            order by checked_at desc, result_id desc
        ) as recency_in_run
    from results
)

select
    verdicts_ranked.result_id,
    verdicts_ranked.checkpoint_date,
    cast(extract(year from verdicts_ranked.checkpoint_date) as integer) as fiscal_year,
    verdicts_ranked.run_id,
    verdicts_ranked.gate,
    verdicts_ranked.rule_id,
    verdicts_ranked.severity,
    verdicts_ranked.success,
    cast(
        case
            when verdicts_ranked.success then 'passed'
            when verdicts_ranked.error is not null then 'error'
            when verdicts_ranked.severity = 'fatal' then 'failed'
            else 'warning'
        end as text
    ) as outcome,
    cast(
        case
            when verdicts_ranked.success then '通过'
            when verdicts_ranked.error is not null then '无法执行'
            when verdicts_ranked.severity = 'fatal' then '未通过'
            else '警告'
        end as text
    ) as outcome_zh,
    verdicts_ranked.observed,
    verdicts_ranked.relation,
    verdicts_ranked.category,
    verdicts_ranked.rule_owner,
    verdicts_ranked.description_zh,
    verdicts_ranked.description_en,
    verdicts_ranked.fix_zh,
    verdicts_ranked.fix_en,
    verdicts_ranked.unexpected_count,
    verdicts_ranked.element_count,
    verdicts_ranked.error,
    verdicts_ranked.checked_at,
    (
        latest_runs.run_id is not null and verdicts_ranked.recency_in_run = 1
    ) as is_latest
from verdicts_ranked
left join latest_runs
    on
        verdicts_ranked.checkpoint_date = latest_runs.checkpoint_date
        and verdicts_ranked.run_id = latest_runs.run_id
