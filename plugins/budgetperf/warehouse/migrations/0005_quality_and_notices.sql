-- Data-quality history: one row per rule per gate run (quality gates, issue 6).
create table if not exists ops.dq_results (
    result_id        bigint generated always as identity primary key,
    run_id           text        not null,
    checkpoint_date  date        not null,
    gate             text        not null check (gate in ('raw', 'marts')),
    rule_id          text        not null,
    severity         text        not null check (severity in ('fatal', 'warning')),
    success          boolean     not null,
    observed         text,
    details          jsonb,
    checked_at       timestamptz not null default now()
);
create index if not exists dq_results_point on ops.dq_results (checkpoint_date, gate);

-- The notice ledger (R8): every notice rendered, and its delivery state.
create table if not exists ops.notices (
    notice_id        bigint generated always as identity primary key,
    kind             text        not null check (kind in ('department', 'summary', 'alert')),
    run_id           text,       -- the DAG run that rendered it
    fiscal_year      integer,
    checkpoint_date  date,
    department_code  text,
    recipient        text,
    subject          text        not null,
    content_hash     text        not null,
    is_correction    boolean     not null default false,
    status           text        not null default 'pending'
                                 check (status in ('pending', 'sent', 'failed', 'no_recipient')),
    attempts         integer     not null default 0,
    last_error       text,
    body_text        text,
    body_html        text,
    message          bytea,      -- the whole rendered MIME message, as sent
    outbox_path      text,
    created_at       timestamptz not null default now(),
    sent_at          timestamptz
);
create unique index if not exists notices_once on ops.notices
    (kind, coalesce(department_code, ''), coalesce(fiscal_year, 0),
     coalesce(checkpoint_date, date '1900-01-01'), content_hash);

-- One row per DAG run of a checkpoint: what happened, for people and for the next run.
create table if not exists ops.run_summaries (
    run_id           text primary key,
    checkpoint_date  date        not null,
    status           text        not null,
    started_at       timestamptz not null default now(),
    finished_at      timestamptz,
    summary          jsonb       not null default '{}'::jsonb
);
