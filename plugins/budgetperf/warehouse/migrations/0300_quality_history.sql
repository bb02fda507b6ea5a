-- Quality gates (issue 6): what the gates remember between runs, and views over the history.

-- 1. Row counts per checkpoint and run, for the marts gate's "rows did not drop" rule
-- (MART-ROW-01). The marts gate records, before it validates, the rows each mart holds for
-- the run's checkpoint (relation marts.<mart>) and the effective raw rows of the entities
-- the marts follow (relation raw.<entity>). drivers names, for a mart, the raw entities
-- whose rows it follows: a drop is explained when one of them shrank too (a corrected
-- delivery removed rows), and unexplained otherwise (a model or load problem).
create table if not exists ops.dq_row_counts (
    checkpoint_date  date        not null,
    run_id           text        not null,
    relation         text        not null,
    rows             bigint      not null,
    drivers          text[]      not null default '{}',
    recorded_at      timestamptz not null default now(),
    primary key (checkpoint_date, run_id, relation)
);

-- 2. The runs whose counts are the reference for later runs of the same checkpoint: a run
-- whose marts gate passed (accepted_by 'marts gate'), or a run a person accepted after a
-- drop was explained (budgetperf quality accept-row-counts). Comparing with the last
-- accepted run, not merely the last run, means a re-run cannot launder a drop.
create table if not exists ops.dq_row_count_baselines (
    baseline_id      bigint generated always as identity primary key,
    checkpoint_date  date        not null,
    run_id           text        not null,
    accepted_by      text        not null check (accepted_by <> ''),
    reason           text        not null check (reason <> ''),
    accepted_at      timestamptz not null default now()
);
create index if not exists dq_row_count_baselines_point
    on ops.dq_row_count_baselines (checkpoint_date, accepted_at desc);

-- 3. The latest run of each checkpoint against its baseline, one row per mart.
create or replace view ops.dq_row_count_changes as
with runs as (
    select checkpoint_date, run_id, max(recorded_at) as recorded_at
    from ops.dq_row_counts
    group by checkpoint_date, run_id
),
latest as (
    select distinct on (checkpoint_date) checkpoint_date, run_id
    from runs
    order by checkpoint_date, recorded_at desc, run_id desc
),
baseline as (
    select distinct on (l.checkpoint_date) l.checkpoint_date, b.run_id
    from latest as l
    inner join ops.dq_row_count_baselines as b
        on b.checkpoint_date = l.checkpoint_date and b.run_id <> l.run_id
    inner join runs as r on r.checkpoint_date = b.checkpoint_date and r.run_id = b.run_id
    order by l.checkpoint_date, b.accepted_at desc, b.baseline_id desc
)
select
    l.checkpoint_date,
    c.relation,
    l.run_id,
    c.rows,
    b.run_id as baseline_run_id,
    p.rows as baseline_rows,
    case when p.rows > 0 then round((p.rows - c.rows)::numeric / p.rows, 4) end
        as drop_fraction,
    c.drivers,
    exists (
        select 1
        from unnest(c.drivers) as d (entity)
        inner join ops.dq_row_counts as now_raw
            on now_raw.checkpoint_date = l.checkpoint_date
            and now_raw.run_id = l.run_id
            and now_raw.relation = 'raw.' || d.entity
        inner join ops.dq_row_counts as then_raw
            on then_raw.checkpoint_date = l.checkpoint_date
            and then_raw.run_id = b.run_id
            and then_raw.relation = 'raw.' || d.entity
        where now_raw.rows < then_raw.rows
    ) as drivers_shrank
from latest as l
inner join ops.dq_row_counts as c
    on c.checkpoint_date = l.checkpoint_date and c.run_id = l.run_id
    and c.relation like 'marts.%'
left join baseline as b on b.checkpoint_date = l.checkpoint_date
left join ops.dq_row_counts as p
    on p.checkpoint_date = l.checkpoint_date and p.run_id = b.run_id
    and p.relation = c.relation;

-- 4. Quality history for analysts and reports: the latest run of each checkpoint, and in
-- it the latest result of every rule of every gate that ran (a cleared and re-run gate
-- task keeps only its last verdict here; ops.dq_results keeps every one).
create index if not exists dq_results_run on ops.dq_results (checkpoint_date, run_id);

create or replace view ops.dq_latest_results as
with latest_run as (
    select distinct on (checkpoint_date) checkpoint_date, run_id
    from ops.dq_results
    order by checkpoint_date, checked_at desc, result_id desc
)
select distinct on (r.checkpoint_date, r.gate, r.rule_id) r.*
from ops.dq_results as r
inner join latest_run as l on l.checkpoint_date = r.checkpoint_date and l.run_id = r.run_id
order by r.checkpoint_date, r.gate, r.rule_id, r.checked_at desc, r.result_id desc;
