-- One pipeline run at a time per warehouse: the marts are rebuilt as a whole, so two runs
-- (two checkpoints, or the same one started twice from the scheduler and the CLI) must
-- not interleave. The load stage takes the lease, `finish` gives it back; a lease whose
-- holder died expires (BUDGETPERF_RUN_LEASE_HOURS) or is released by hand.
create table if not exists ops.pipeline_lease (
    lease_name       text primary key default 'warehouse',
    run_id           text,
    checkpoint_date  date,
    acquired_at      timestamptz,
    heartbeat_at     timestamptz
);
insert into ops.pipeline_lease (lease_name) values ('warehouse') on conflict do nothing;
