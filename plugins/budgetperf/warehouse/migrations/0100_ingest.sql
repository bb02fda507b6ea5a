-- Ingestion (issue 3): what the loader needs beyond 0002-0004, and the gate on rejects.

-- 1. raw.* rows point at their load without a foreign key.
-- A foreign key fires one RI trigger per inserted row: measured, it made COPY of a
-- million payments 4x slower (7.9 s against 1.8 s). The loader writes a load's ledger row
-- and its raw rows in one transaction and nothing ever deletes a load, so the reference
-- cannot dangle; tests/ingest check it.
alter table raw.departments drop constraint if exists departments_load_id_fkey;
alter table raw.projects drop constraint if exists projects_load_id_fkey;
alter table raw.performance_targets drop constraint if exists performance_targets_load_id_fkey;
alter table raw.pre_assessments drop constraint if exists pre_assessments_load_id_fkey;
alter table raw.budget_execution drop constraint if exists budget_execution_load_id_fkey;
alter table raw.indicator_actuals drop constraint if exists indicator_actuals_load_id_fkey;
alter table raw.evaluations drop constraint if exists evaluations_load_id_fkey;
alter table raw.budget_requests drop constraint if exists budget_requests_load_id_fkey;

-- 2. The ledger: what a load's outcome depended on, and remarks that are not rejections.
-- fingerprint: sha256 of the file's bytes plus everything else its outcome depends on
-- (format, its manifest entry, a csv/xlsx conflict, the loads it was checked against).
-- A file whose fingerprint equals that of the latest load of its (entity, as_of) is
-- skipped; any other is loaded again and supersedes.
alter table ops.loads add column if not exists fingerprint text;
alter table ops.loads add column if not exists notes text;
create index if not exists loads_latest on ops.loads (entity, as_of, load_id desc);

-- 2b. raw.* find a load's rows through a BRIN index instead of a b-tree.
-- raw.* are append-only and a load's rows are written contiguously, so a block-range index
-- on load_id locates them as well as a b-tree, for almost nothing. Measured on a million
-- payments, the (load_id, fiscal_year) b-trees of 0003 cost 1.2-1.5 s of server CPU per
-- COPY (the server then needs twice what psql \copy needs); BRIN costs about 0.4 s.
-- autosummarize lets autovacuum summarize each new block range as it fills.
drop index if exists raw.departments_load;
drop index if exists raw.projects_load;
drop index if exists raw.performance_targets_load;
drop index if exists raw.pre_assessments_load;
drop index if exists raw.budget_execution_load;
drop index if exists raw.indicator_actuals_load;
drop index if exists raw.evaluations_load;
drop index if exists raw.budget_requests_load;
create index if not exists departments_load_brin on raw.departments
    using brin (load_id) with (autosummarize = on);
create index if not exists projects_load_brin on raw.projects
    using brin (load_id) with (autosummarize = on);
create index if not exists performance_targets_load_brin on raw.performance_targets
    using brin (load_id) with (autosummarize = on);
create index if not exists pre_assessments_load_brin on raw.pre_assessments
    using brin (load_id) with (autosummarize = on);
create index if not exists budget_execution_load_brin on raw.budget_execution
    using brin (load_id) with (autosummarize = on);
create index if not exists indicator_actuals_load_brin on raw.indicator_actuals
    using brin (load_id) with (autosummarize = on);
create index if not exists evaluations_load_brin on raw.evaluations
    using brin (load_id) with (autosummarize = on);
create index if not exists budget_requests_load_brin on raw.budget_requests
    using brin (load_id) with (autosummarize = on);

-- 3. What the landing held that was not loaded (unknown names, links to folders, ...).
-- Entity files that are refused are ops.loads rows (status rejected) instead, so the gate
-- sees them. Recorded once per (path, kind, identity): re-running writes nothing new.
create table if not exists ops.landing_findings (
    finding_id     bigint generated always as identity primary key,
    as_of          date,
    path           text not null,
    kind           text not null,
    reason         text not null,
    identity       text not null default '',
    first_seen_at  timestamptz not null default now(),
    unique (path, kind, identity)
);

-- 4. Per-entity tolerance of rejected rows: data, set with who and why, history kept.
create table if not exists ops.reject_tolerances (
    tolerance_id       bigint generated always as identity primary key,
    entity             text    not null check (entity in (
                           'departments', 'projects', 'performance_targets',
                           'pre_assessments', 'budget_execution', 'indicator_actuals',
                           'evaluations', 'budget_requests')),
    max_rejected_rows  integer not null check (max_rejected_rows >= 0),
    set_by             text    not null check (set_by <> ''),
    reason             text    not null check (reason <> ''),
    set_at             timestamptz not null default now()
);

create or replace view ops.current_reject_tolerances as
select e.entity,
       coalesce(t.max_rejected_rows, 0) as max_rejected_rows,
       t.set_by,
       t.reason,
       t.set_at
from unnest(array[
    'departments', 'projects', 'performance_targets', 'pre_assessments',
    'budget_execution', 'indicator_actuals', 'evaluations', 'budget_requests'
]) as e (entity)
left join lateral (
    select r.max_rejected_rows, r.set_by, r.reason, r.set_at
    from ops.reject_tolerances as r
    where r.entity = e.entity
    order by r.set_at desc, r.tolerance_id desc
    limit 1
) as t on true;

-- 5. The gate on rejects: one row per problem that blocks publication at point p_point.
--   rejected_rows  a load in effect at p_point (or a load whose every row was rejected and
--                  that no later successful load of its entity superseded) whose
--                  unaccepted rejected rows, summed over the entity, exceed the entity's
--                  tolerance;
--   rejected_file  a file rejected or refused whole, as_of <= p_point, not accepted and
--                  not superseded by a later load of its entity that holds valid rows.
-- Accepting (ops.reject_acceptances) covers every reject of that load.
create or replace function ops.reject_problems(p_point date)
returns table (
    checkpoint_date date,
    load_id bigint,
    entity text,
    as_of date,
    file_path text,
    problem text,
    rows_rejected integer,
    tolerance integer,
    reason text
)
language sql stable
as $$
    with effective as (
        select distinct e.entity, e.load_id from ops.effective_loads(p_point) as e
    ),
    succeeded as (
        select l.entity, l.as_of, l.load_id
        from ops.loads as l
        where l.status = 'loaded' and l.as_of <= p_point
          and exists (select 1 from ops.load_fiscal_years as y where y.load_id = l.load_id)
    ),
    failed as (
        select l.*
        from ops.loads as l
        where l.as_of <= p_point
          and (l.status = 'rejected'
               or (l.status = 'loaded' and l.rows_rejected > 0
                   and not exists (
                       select 1 from ops.load_fiscal_years as y where y.load_id = l.load_id)))
          and not exists (
              select 1 from succeeded as s
              where s.entity = l.entity and (s.as_of, s.load_id) > (l.as_of, l.load_id))
    ),
    row_loads as (
        select l.* from ops.loads as l
        inner join effective as e on e.load_id = l.load_id
        where l.rows_rejected > 0
        union
        select f.* from failed as f where f.status = 'loaded'
    ),
    unaccepted as (
        select r.load_id, r.entity, r.as_of, r.file_path, r.rows_rejected,
               t.max_rejected_rows as tolerance,
               sum(r.rows_rejected) over (partition by r.entity) as entity_rejected
        from row_loads as r
        inner join ops.current_reject_tolerances as t on t.entity = r.entity
        where not exists (
            select 1 from ops.reject_acceptances as a where a.load_id = r.load_id)
    )
    select p_point, u.load_id, u.entity, u.as_of, u.file_path, 'rejected_rows',
           u.rows_rejected, u.tolerance,
           (select string_agg(s.rule || ' ' || s.n, ', ' order by s.n desc, s.rule)
            from (select rr.rule, count(*) as n from ops.rejected_rows as rr
                  where rr.load_id = u.load_id group by rr.rule) as s)
           || '; ' ||
           (select rr.reason from ops.rejected_rows as rr
            where rr.load_id = u.load_id order by rr.line_no nulls first, rr.reject_id limit 1)
    from unaccepted as u
    where u.entity_rejected > u.tolerance
    union all
    select p_point, f.load_id, f.entity, f.as_of, f.file_path, 'rejected_file',
           f.rows_rejected, null::integer, f.reason
    from failed as f
    where f.status = 'rejected'
      and not exists (select 1 from ops.reject_acceptances as a where a.load_id = f.load_id)
$$;

-- The problems at every checkpoint that has run: the quality gate asserts that its run's
-- checkpoint has no row here.
create or replace view ops.checkpoint_reject_problems as
select p.*
from ops.checkpoint_runs as c
cross join lateral ops.reject_problems(c.checkpoint_date) as p;
