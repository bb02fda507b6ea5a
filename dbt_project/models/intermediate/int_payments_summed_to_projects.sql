-- R2 spent(c): the sum of a project's payment records dated on or before c, reversals
-- (negative records) included, from the execution data as delivered as of c.
--
-- Incremental. Payment records are the one large input (every delivery carries the year to
-- date, so a year-end build would otherwise re-sum every point's copy of them), and the
-- sums of a (checkpoint, fiscal year) depend only on the budget_execution load in effect
-- there, which each row keeps as source_load_id. A build first deletes the pairs whose
-- load is no longer the effective one (a corrected delivery; the pre-hook, which also
-- refuses a table built before this model was incremental), then sums the pairs not
-- present. `--full-refresh` rebuilds every pair.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="
            {% if is_incremental() %}
            {% if 'source_load_id' not in (
                adapter.get_columns_in_relation(this) | map(attribute='name') | list
            ) %}
                {{ exceptions.raise_compiler_error(
                    this ~ ' was built before it became incremental: rebuild it once with'
                    ~ ' `budgetperf dbt build --select int_payments_summed_to_projects+'
                    ~ ' --full-refresh`'
                ) }}
            {% endif %}
            delete from {{ this }} as summed
            where not exists (
                select from {{ ref('stg_budget_system__effective_loads') }} as effective
                where
                    effective.entity = 'budget_execution'
                    and effective.checkpoint_date = summed.checkpoint_date
                    and effective.fiscal_year = summed.fiscal_year
                    and effective.load_id = summed.source_load_id
            )
            {% endif %}
        ",
    )
}}

with

effective_loads as (
    select * from {{ ref('stg_budget_system__effective_loads') }}
    where entity = 'budget_execution'
),

checkpoints as (
    select * from {{ ref('int_checkpoints') }}
),

-- the checkpoint's own fiscal year only, and (incrementally) only the pairs not yet summed
to_sum as materialized (
    select
        effective_loads.checkpoint_date,
        effective_loads.fiscal_year,
        effective_loads.load_id
    from effective_loads
    inner join checkpoints
        on
            effective_loads.checkpoint_date = checkpoints.checkpoint_date
            and effective_loads.fiscal_year = checkpoints.fiscal_year
    {% if is_incremental() %}
        where not exists (
            select from {{ this }} as summed
            where
                summed.checkpoint_date = effective_loads.checkpoint_date
                and summed.fiscal_year = effective_loads.fiscal_year
        )
    {% endif %}
),

payments as (
    select * from {{ ref('stg_budget_system__budget_executions') }}
)

select
    payments.checkpoint_date,
    payments.fiscal_year,
    payments.project_code,
    to_sum.load_id as source_load_id,
    cast(sum(payments.amount_yuan) as numeric(18, 2)) as spent_yuan,
    count(*) as payment_records
from payments
inner join to_sum
    on
        payments.checkpoint_date = to_sum.checkpoint_date
        and payments.fiscal_year = to_sum.fiscal_year
        and payments.load_id = to_sum.load_id
where payments.payment_date <= payments.checkpoint_date
group by
    payments.checkpoint_date,
    payments.fiscal_year,
    payments.project_code,
    to_sum.load_id
