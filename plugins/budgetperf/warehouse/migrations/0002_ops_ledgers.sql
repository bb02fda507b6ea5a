-- The load ledger: one row per file the loader looked at (DATA_CONTRACT.md section 1).
create table if not exists ops.loads (
    load_id        bigint generated always as identity primary key,
    entity         text        not null,
    as_of          date        not null,
    file_path      text        not null,   -- relative to the landing: <as_of>/<entity>.<ext>
    file_format    text,                   -- csv | xlsx
    encoding       text,                   -- utf-8 | utf-8-sig | gb18030 (csv only)
    sha256         text        not null,
    bytes          bigint      not null,
    rows_read      integer     not null default 0,
    rows_loaded    integer     not null default 0,
    rows_rejected  integer     not null default 0,
    status         text        not null check (status in ('loading', 'loaded', 'rejected')),
    reason         text,                   -- why a file was rejected whole
    started_at     timestamptz not null default now(),
    finished_at    timestamptz
);
create index if not exists loads_entity_as_of on ops.loads (entity, as_of);
create index if not exists loads_sha256 on ops.loads (sha256);

-- The fiscal years a load holds valid rows for: what it supersedes (snapshot semantics).
-- departments have no year and use 0, "the whole entity".
create table if not exists ops.load_fiscal_years (
    load_id      bigint  not null references ops.loads (load_id),
    fiscal_year  integer not null,
    rows_loaded  integer not null,
    primary key (load_id, fiscal_year)
);

-- Every rejected row (or whole file, line_no null), verbatim, with an actionable reason.
create table if not exists ops.rejected_rows (
    reject_id    bigint generated always as identity primary key,
    load_id      bigint  not null references ops.loads (load_id),
    file_path    text    not null,
    line_no      integer,             -- physical line (CSV) or row number (XLSX), 1-based
    column_name  text,
    rule         text    not null,    -- parse | required | reference_value | range | duplicate_key | reference | file
    reason       text    not null,    -- Chinese first, then English
    raw_line     text,
    created_at   timestamptz not null default now()
);
create index if not exists rejected_rows_load on ops.rejected_rows (load_id);

-- Accepting rejects is an explicit, recorded act (who, why), never a code change.
create table if not exists ops.reject_acceptances (
    acceptance_id  bigint generated always as identity primary key,
    load_id        bigint not null references ops.loads (load_id),
    accepted_by    text   not null,
    reason         text   not null,
    accepted_at    timestamptz not null default now()
);

-- The checkpoints that have run. The marts compute every point listed here.
create table if not exists ops.checkpoint_runs (
    checkpoint_date  date primary key,
    fiscal_year      integer not null,
    first_run_at     timestamptz not null default now(),
    last_run_at      timestamptz not null default now(),
    last_run_id      text
);
