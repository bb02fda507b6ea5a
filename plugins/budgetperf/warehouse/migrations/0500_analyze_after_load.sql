-- Planner statistics for freshly loaded raw tables.
--
-- The raw gate runs right after the load, before autovacuum has analysed anything. Without
-- statistics PostgreSQL planned one of its joins (qualitative actuals against their
-- targets, 0.3 M x 0.4 M rows at scale 100) as a nested loop that ran for over ten minutes
-- instead of a second. The loader therefore analyses each table it has loaded into. Only a
-- table's owner may ANALYZE it (before PostgreSQL 17's MAINTAIN privilege), so this
-- function runs as the owner for the loader, and only on tables of schema raw.
create or replace function ops.analyze_raw_table(p_table text)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if not exists (
        select from pg_catalog.pg_tables where schemaname = 'raw' and tablename = p_table
    ) then
        raise exception 'raw.% is not a table of schema raw', p_table;
    end if;
    execute format('analyze raw.%I', p_table);
end
$$;

revoke all on function ops.analyze_raw_table(text) from public;
