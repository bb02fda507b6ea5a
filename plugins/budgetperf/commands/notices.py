"""``budgetperf notices ...``: see the notice ledger, deliver what is waiting, and put a
refused notice back in line once its address is fixed.

Delivery uses the Airflow connection ``smtp_default`` when it is configured (e.g.
``AIRFLOW_CONN_SMTP_DEFAULT``), else writes ``.eml`` files to the outbox, exactly as the
DAG's publish step does; the ledger guarantees the same exactly-once behaviour.
"""

from __future__ import annotations

import argparse
import datetime as dt

from budgetperf.settings import load_settings
from budgetperf.warehouse import connect, resolve_url


def register(subparsers: argparse._SubParsersAction) -> None:
    notices = subparsers.add_parser(
        "notices",
        help="list the notice ledger; deliver waiting notices; retry refused ones",
        description=(
            "Without an action: list the latest revision of every notice (newest checkpoint "
            "first) with its delivery state. Notices are kept in ops.notices; a notice is "
            "sent once per content, corrections are marked 更正."
        ),
    )
    notices.add_argument("--checkpoint", type=dt.date.fromisoformat, metavar="YYYY-MM-DD")
    notices.add_argument(
        "--status",
        choices=("pending", "sending", "sent", "failed", "rejected", "no_recipient"),
        help="only notices in this state",
    )
    notices.set_defaults(handler=_list)
    actions = notices.add_subparsers(dest="notices_action", metavar="ACTION")
    deliver = actions.add_parser(
        "deliver",
        help="deliver every pending or failed notice now",
        description="Send what is waiting (pending, failed, or claimed by a delivery that "
        "died): through smtp_default when configured, else to the outbox folder.",
    )
    deliver.set_defaults(handler=_deliver)
    retry = actions.add_parser(
        "retry",
        help="put refused (rejected) notices back in line, e.g. after a mailbox was fixed",
        description="Mark the given rejected notices pending again; the next delivery sends "
        "them. To change an address, fix the department's contact_email in the next "
        "delivery instead: the next run re-addresses a notice that has not been sent.",
    )
    retry.add_argument("notice_ids", type=int, nargs="+", metavar="NOTICE_ID")
    retry.set_defaults(handler=_retry)


def _list(args: argparse.Namespace) -> int:
    url = resolve_url(load_settings())
    where, params = ["kind in ('department', 'summary')"], []
    if args.checkpoint:
        where.append("checkpoint_date = %s")
        params.append(args.checkpoint)
    with connect(url) as conn:
        rows = conn.execute(
            f"""
            select * from (
                select distinct on (kind, coalesce(department_code, ''), checkpoint_date)
                    notice_id, checkpoint_date, kind, department_code, recipient, status,
                    revision, is_correction, attempts, sent_at, last_error
                from ops.notices where {" and ".join(where)}
                order by kind, coalesce(department_code, ''), checkpoint_date, revision desc
            ) as latest
            {"where status = %s" if args.status else ""}
            order by checkpoint_date desc, kind desc, department_code
            """,  # noqa: S608 - fixed fragments; values are parameters
            [*params, *([args.status] if args.status else [])],
        ).fetchall()
    if not rows:
        print("no notices")
        return 0
    for (
        notice_id,
        point,
        kind,
        department,
        recipient,
        status,
        revision,
        fix,
        tries,
        sent,
        err,
    ) in rows:
        mark = " 更正" if fix else ""
        when = f" sent {sent:%Y-%m-%d %H:%M}" if sent else ""
        print(
            f"{notice_id:>6}  {point}  {kind:<10} {department or '-':<14} "
            f"{recipient or '(no contact email)':<36} {status:<12} r{revision}{mark} "
            f"tries {tries}{when}" + (f"\n        {err}" if err and status != "sent" else "")
        )
    return 0


def _deliver(args: argparse.Namespace) -> int:
    from budgetperf.publish.channel import smtp_settings_from_airflow
    from budgetperf.publish.ledger import deliver_pending

    settings = load_settings()
    smtp = smtp_settings_from_airflow()
    result = deliver_pending(resolve_url(settings), smtp=smtp, outbox=settings.outbox)
    where = f"SMTP {smtp.host}:{smtp.port}" if smtp else f"the outbox {settings.outbox}"
    print(
        f"delivered {result.delivered} through {where}; {result.failed} failed (will be "
        f"retried), {result.rejected} refused, {result.deferred} deferred"
    )
    for error in result.errors:
        print("  " + error)
    return 0 if result.undelivered == 0 else 1


def _retry(args: argparse.Namespace) -> int:
    with connect(resolve_url(load_settings())) as conn:
        changed = conn.execute(
            """
            update ops.notices set status = 'pending', last_error = null
            where notice_id = any(%s) and status = 'rejected'
            returning notice_id
            """,
            (args.notice_ids,),
        ).fetchall()
    print(f"{len(changed)} notice(s) back in line; run `budgetperf notices deliver` to send now")
    return 0
