-- Planner statistics for the small ledgers every effective view joins.
--
-- raw.effective_* join ops.checkpoint_runs, ops.loads and ops.load_fiscal_years. Those
-- hold a few rows per checkpoint, fewer than autovacuum's threshold for analysing a table
-- (50 changed rows), so they were never analysed. Without statistics PostgreSQL guessed
-- about a thousand checkpoints where there were four and, at the year end of a 100-county
-- province, sorted all 11 M rows of raw.budget_execution (0.6 GB spilled to disk) for a
-- merge join; with statistics it hashes the one effective load and scans once (a marts
-- reconciliation rule: 8.8 s -> 2.9 s). The loader therefore analyses these ledgers after
-- it writes them, through this function: only a table's owner may ANALYZE it (before
-- PostgreSQL 17's MAINTAIN privilege), so it runs as the owner, on these three tables only.
create or replace function ops.analyze_load_ledgers()
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    analyze ops.checkpoint_runs;
    analyze ops.loads;
    analyze ops.load_fiscal_years;
end
$$;

revoke all on function ops.analyze_load_ledgers() from public;
