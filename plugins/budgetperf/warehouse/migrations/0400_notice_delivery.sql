-- Notice delivery (issue 7): revisions, claims, and the states a delivery can be in.
--
-- 0005 keyed a notice by (kind, key, content_hash), unique. That cannot express "the
-- content went A, then B, then back to A": the department last received B and must get a
-- correction saying A again. A notice key (kind, department, fiscal year, checkpoint) now
-- has revisions 1, 2, ...; the highest revision is what the recipient should hold.
--
-- States (status):
--   pending       rendered, waiting to be delivered
--   sending       claimed by a delivery attempt (claimed_at, claimed_by); see ledger.py for
--                 what happens to a claim that is never finished
--   sent          handed to the SMTP server (or written to the outbox)
--   failed        the last attempt failed for a reason that may pass (server down, 4xx):
--                 retried by the next delivery
--   rejected      the SMTP server refused the recipient or message for good (5xx): fix
--                 the address, then `update ... set status = 'pending'`
--   no_recipient  the department has no contact email: kept and reported, not sent
--   superseded    never delivered, and a newer revision replaced it (nothing to correct)

alter table ops.notices drop constraint if exists notices_status_check;
alter table ops.notices add constraint notices_status_check check (
    status in (
        'pending', 'sending', 'sent', 'failed', 'rejected', 'no_recipient', 'superseded'
    )
);

alter table ops.notices add column if not exists revision integer;
update ops.notices as n
set revision = r.revision
from (
    select
        notice_id,
        row_number() over (
            partition by
                kind,
                coalesce(department_code, ''),
                coalesce(fiscal_year, 0),
                coalesce(checkpoint_date, date '1900-01-01')
            order by notice_id
        ) as revision
    from ops.notices
) as r
where r.notice_id = n.notice_id and n.revision is null;
alter table ops.notices alter column revision set default 1;
alter table ops.notices alter column revision set not null;

drop index if exists ops.notices_once;
create unique index if not exists notices_revision on ops.notices
    (kind, coalesce(department_code, ''), coalesce(fiscal_year, 0),
     coalesce(checkpoint_date, date '1900-01-01'), revision);

alter table ops.notices add column if not exists message_id text;       -- the Message-ID header
alter table ops.notices add column if not exists claimed_at timestamptz; -- when 'sending' began
alter table ops.notices add column if not exists claimed_by text;        -- which delivery claimed it
alter table ops.notices add column if not exists supersedes bigint references ops.notices (notice_id);
alter table ops.notices add column if not exists content text;           -- the canonical data hashed

create index if not exists notices_deliverable on ops.notices (notice_id)
    where status in ('pending', 'failed', 'sending');
create index if not exists notices_point on ops.notices (checkpoint_date, kind);
