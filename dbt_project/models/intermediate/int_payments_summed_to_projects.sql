-- R2 spent(c): the sum of a project's payment records dated on or before c, reversals
-- (negative records) included, from the execution data as delivered as of c.
with

payments as (
    select * from {{ ref('stg_budget_system__budget_executions') }}
),

checkpoints as (
    select * from {{ ref('int_checkpoints') }}
)

select
    payments.checkpoint_date,
    payments.fiscal_year,
    payments.project_code,
    cast(sum(payments.amount_yuan) as numeric(18, 2)) as spent_yuan,
    count(*) as payment_records
from payments
inner join checkpoints
    on
        payments.checkpoint_date = checkpoints.checkpoint_date
        and payments.fiscal_year = checkpoints.fiscal_year
where payments.payment_date <= payments.checkpoint_date
group by payments.checkpoint_date, payments.fiscal_year, payments.project_code
