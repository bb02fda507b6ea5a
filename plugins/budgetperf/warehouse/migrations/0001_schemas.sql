-- The five schemas of the warehouse (ARCHITECTURE.md).
--   raw           append-only deliveries, one table per entity, every row tagged with its load
--   ops           ledgers: loads, rejected rows, checkpoint runs, data-quality results, notices
--   staging, intermediate, marts   owned by dbt
create schema if not exists raw;
create schema if not exists ops;
create schema if not exists staging;
create schema if not exists intermediate;
create schema if not exists marts;
