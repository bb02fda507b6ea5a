-- raw.<entity>: parsed, rule-checked rows, append-only. Columns follow DATA_CONTRACT.md;
-- reference values are stored as their codes (a Chinese label in the file becomes its code).
create table if not exists raw.departments (
    load_id          bigint  not null references ops.loads (load_id),
    line_no          integer not null,
    department_code  text    not null,
    department_name  text    not null,
    kind             text    not null,
    sector           text,
    contact_email    text
);

create table if not exists raw.projects (
    load_id             bigint  not null references ops.loads (load_id),
    line_no             integer not null,
    fiscal_year         integer not null,
    project_code        text    not null,
    department_code     text    not null,
    project_name        text    not null,
    budget_type         text    not null,
    fund_source         text    not null,
    category            text    not null,
    is_new              boolean not null,
    budget_amount_yuan  numeric(18, 2) not null,
    is_monitored        boolean not null,
    is_ppp              boolean not null,
    is_debt             boolean not null
);

create table if not exists raw.performance_targets (
    load_id         bigint  not null references ops.loads (load_id),
    line_no         integer not null,
    fiscal_year     integer not null,
    project_code    text    not null,
    indicator_code  text    not null,
    level1          text    not null,
    level2          text,
    indicator_name  text    not null,
    comparator      text    not null,
    target_value    numeric,
    unit            text,
    weight          numeric not null,
    declared_on     date,
    is_published    boolean not null
);

create table if not exists raw.pre_assessments (
    load_id             bigint  not null references ops.loads (load_id),
    line_no             integer not null,
    project_code        text    not null,
    fiscal_year         integer not null,
    assessed_on         date    not null,
    necessity           numeric,
    economy             numeric,
    target_rationality  numeric,
    feasibility         numeric,
    compliance          numeric,
    conclusion          text    not null
);

create table if not exists raw.budget_execution (
    load_id       bigint  not null references ops.loads (load_id),
    line_no       integer not null,
    record_id     text    not null,
    fiscal_year   integer not null,
    project_code  text    not null,
    payment_date  date    not null,
    amount_yuan   numeric(18, 2) not null,
    voucher_no    text,
    payee         text
);

create table if not exists raw.indicator_actuals (
    load_id         bigint  not null references ops.loads (load_id),
    line_no         integer not null,
    fiscal_year     integer not null,
    project_code    text    not null,
    indicator_code  text    not null,
    as_of           date    not null,
    actual_value    numeric not null
);

create table if not exists raw.evaluations (
    load_id               bigint  not null references ops.loads (load_id),
    line_no               integer not null,
    fiscal_year           integer not null,
    subject_type          text    not null,
    subject_code          text    not null,
    evaluator             text    not null,
    score                 numeric not null,
    grade                 text,
    evaluated_on          date,
    report_quality_score  numeric
);

create table if not exists raw.budget_requests (
    load_id             bigint  not null references ops.loads (load_id),
    line_no             integer not null,
    budget_year         integer not null,
    project_code        text    not null,
    department_code     text    not null,
    requested_yuan      numeric(18, 2) not null,
    prior_project_code  text
);

create index if not exists departments_load on raw.departments (load_id);
create index if not exists projects_load on raw.projects (load_id, fiscal_year);
create index if not exists performance_targets_load on raw.performance_targets (load_id, fiscal_year);
create index if not exists pre_assessments_load on raw.pre_assessments (load_id, fiscal_year);
create index if not exists budget_execution_load on raw.budget_execution (load_id, fiscal_year);
create index if not exists indicator_actuals_load on raw.indicator_actuals (load_id, fiscal_year);
create index if not exists evaluations_load on raw.evaluations (load_id, fiscal_year);
create index if not exists budget_requests_load on raw.budget_requests (load_id, budget_year);
