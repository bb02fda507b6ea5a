-- Least privilege (re-applied after every migration run, so objects added by later
-- migrations are covered too). Five login roles, none of them superuser:
--
--   budgetperf_loader       writes raw and the load ledgers; reads what reference checks need
--   budgetperf_transformer  dbt: reads raw and the checkpoint ledger, owns staging/intermediate/marts
--   budgetperf_quality      the gates: reads every layer, writes data-quality results and alerts
--   budgetperf_publisher    reads marts, writes notices and run summaries
--   budgetperf_analyst      reads marts, nothing else
--
-- Roles are created without a password; `budgetperf` sets one for the embedded warehouse,
-- a DBA sets them in production. Migrations themselves run as the warehouse owner.
do $$
declare
    role_name text;
begin
    foreach role_name in array array[
        'budgetperf_loader', 'budgetperf_transformer', 'budgetperf_quality',
        'budgetperf_publisher', 'budgetperf_analyst'
    ] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            execute format(
                'create role %I login nosuperuser nocreatedb nocreaterole noinherit', role_name
            );
        end if;
    end loop;
end
$$;

-- nothing reaches these schemas through PUBLIC
revoke all on schema raw, ops, staging, intermediate, marts from public;
revoke create on schema public from public;

do $$
begin
    execute format('grant connect on database %I to budgetperf_loader, budgetperf_transformer, '
                   'budgetperf_quality, budgetperf_publisher, budgetperf_analyst',
                   current_database());
end
$$;

-- loader: append to raw, keep the load ledgers; never update or delete raw rows
grant usage on schema raw, ops to budgetperf_loader;
grant select, insert on all tables in schema raw to budgetperf_loader;
grant select, insert, update on all tables in schema ops to budgetperf_loader;
grant usage on all sequences in schema ops to budgetperf_loader;
grant execute on all functions in schema ops to budgetperf_loader;

-- transformer (dbt): reads raw and the checkpoint ledger, owns the modelled layers
grant usage on schema raw, ops to budgetperf_transformer;
grant select on all tables in schema raw to budgetperf_transformer;
grant select on ops.checkpoint_runs, ops.loads, ops.load_fiscal_years to budgetperf_transformer;
-- owner of the analysts' view marts.rpt_quality_history (the quality history, read-only)
grant select on ops.dq_results to budgetperf_transformer;
grant execute on all functions in schema ops to budgetperf_transformer;
alter schema staging owner to budgetperf_transformer;
alter schema intermediate owner to budgetperf_transformer;
alter schema marts owner to budgetperf_transformer;

-- quality gates: read every layer, write results and alerts
grant usage on schema raw, ops, staging, intermediate, marts to budgetperf_quality;
grant select on all tables in schema raw, ops to budgetperf_quality;
grant insert, update on all tables in schema ops to budgetperf_quality;
grant usage on all sequences in schema ops to budgetperf_quality;
grant execute on all functions in schema ops to budgetperf_quality;

-- publisher: read the marts, write notices and run summaries
grant usage on schema marts, ops to budgetperf_publisher;
grant select on ops.dq_results, ops.checkpoint_runs, ops.notices, ops.run_summaries
    to budgetperf_publisher;
grant insert, update on ops.notices, ops.run_summaries to budgetperf_publisher;
grant usage on all sequences in schema ops to budgetperf_publisher;

-- analyst: the marts, read only
grant usage on schema marts to budgetperf_analyst;

-- what dbt creates later is readable by the roles that need it
alter default privileges for role budgetperf_transformer in schema marts
    grant select on tables to budgetperf_analyst, budgetperf_publisher, budgetperf_quality;
alter default privileges for role budgetperf_transformer in schema staging
    grant select on tables to budgetperf_quality;
alter default privileges for role budgetperf_transformer in schema intermediate
    grant select on tables to budgetperf_quality;

-- the run lease: taken by the load stage, given back by the finishing task
grant select, update on ops.pipeline_lease to budgetperf_publisher;
