-- Snapshot semantics (DATA_CONTRACT.md section 1), defined once, here.
--
-- For a point p, the effective data of an (entity, fiscal_year) is the latest load with
-- as_of <= p that has valid rows for that year; a later load of the same as_of (a corrected
-- file) wins over an earlier one. Header-only and wholly rejected files hold no valid rows,
-- so they appear in no ops.load_fiscal_years row and supersede nothing.
-- departments have no year: fiscal_year 0 stands for the whole entity.
create or replace function ops.effective_loads(p_point date)
returns table (entity text, fiscal_year integer, load_id bigint, as_of date)
language sql stable
as $$
    select distinct on (l.entity, y.fiscal_year)
        l.entity, y.fiscal_year, l.load_id, l.as_of
    from ops.loads as l
    inner join ops.load_fiscal_years as y on y.load_id = l.load_id
    where l.status = 'loaded' and l.as_of <= p_point
    order by l.entity, y.fiscal_year, l.as_of desc, l.load_id desc
$$;

-- The effective loads at every checkpoint that has run: what the dbt staging models read.
create or replace view raw.effective_loads as
select c.checkpoint_date, e.entity, e.fiscal_year, e.load_id, e.as_of
from ops.checkpoint_runs as c
cross join lateral ops.effective_loads(c.checkpoint_date) as e;

create or replace view raw.effective_departments as
select e.checkpoint_date, r.*
from raw.effective_loads as e
inner join raw.departments as r on r.load_id = e.load_id
where e.entity = 'departments';

create or replace view raw.effective_projects as
select e.checkpoint_date, r.*
from raw.effective_loads as e
inner join raw.projects as r on r.load_id = e.load_id and r.fiscal_year = e.fiscal_year
where e.entity = 'projects';

create or replace view raw.effective_performance_targets as
select e.checkpoint_date, r.*
from raw.effective_loads as e
inner join raw.performance_targets as r on r.load_id = e.load_id and r.fiscal_year = e.fiscal_year
where e.entity = 'performance_targets';

create or replace view raw.effective_pre_assessments as
select e.checkpoint_date, r.*
from raw.effective_loads as e
inner join raw.pre_assessments as r on r.load_id = e.load_id and r.fiscal_year = e.fiscal_year
where e.entity = 'pre_assessments';

create or replace view raw.effective_budget_execution as
select e.checkpoint_date, r.*
from raw.effective_loads as e
inner join raw.budget_execution as r on r.load_id = e.load_id and r.fiscal_year = e.fiscal_year
where e.entity = 'budget_execution';

create or replace view raw.effective_indicator_actuals as
select e.checkpoint_date, r.*
from raw.effective_loads as e
inner join raw.indicator_actuals as r on r.load_id = e.load_id and r.fiscal_year = e.fiscal_year
where e.entity = 'indicator_actuals';

create or replace view raw.effective_evaluations as
select e.checkpoint_date, r.*
from raw.effective_loads as e
inner join raw.evaluations as r on r.load_id = e.load_id and r.fiscal_year = e.fiscal_year
where e.entity = 'evaluations';

create or replace view raw.effective_budget_requests as
select e.checkpoint_date, r.*
from raw.effective_loads as e
inner join raw.budget_requests as r on r.load_id = e.load_id and r.budget_year = e.fiscal_year
where e.entity = 'budget_requests';
