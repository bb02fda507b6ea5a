"""The gate on rejects: what blocks publication at a checkpoint, and how people unblock it.

Rejected data blocks publication for a checkpoint until it is fixed (a corrected delivery
supersedes the load) or explicitly accepted (``budgetperf rejects accept``), or while the
entity's rejected rows stay within its tolerance (``budgetperf rejects tolerance``,
default 0). The rule itself is SQL (``ops.reject_problems(date)`` and the view
``ops.checkpoint_reject_problems``, migration 0100) so the quality gate and this module
read the same answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from budgetperf.ingest.entities import ENTITIES
from budgetperf.warehouse import connect


class GateError(Exception):
    """A request the ledger cannot honour (unknown load, nothing to accept...)."""


@dataclass(frozen=True)
class RejectProblem:
    checkpoint_date: dt.date
    load_id: int
    entity: str
    as_of: dt.date
    file_path: str
    problem: str  # rejected_rows | rejected_file
    rows_rejected: int
    tolerance: int | None
    reason: str

    @property
    def look_command(self) -> str:
        return f"budgetperf rejects --as-of {self.as_of:%Y%m%d} --load-id {self.load_id}"

    @property
    def accept_command(self) -> str:
        return f"budgetperf rejects accept --load-id {self.load_id} --by NAME --why TEXT"

    @property
    def message(self) -> str:
        if self.problem == "rejected_file":
            head = (
                f"{self.file_path}：整个文件被拒绝，检查点 {self.checkpoint_date} 不能发布 / "
                f"{self.file_path}: the whole file was rejected; checkpoint "
                f"{self.checkpoint_date} cannot publish"
            )
        else:
            head = (
                f"{self.file_path}：{self.rows_rejected} 行被拒绝，超出 {self.entity} 的容忍度 "
                f"{self.tolerance} 行 / {self.file_path}: {self.rows_rejected} rejected rows, "
                f"more than the {self.entity} tolerance of {self.tolerance}"
            )
        return (
            f"{head}. 原因 / reason: {self.reason}. "
            f"查看 / see: `{self.look_command}`; "
            f"修正后重新交付，或接受 / fix and deliver again, or accept: `{self.accept_command}`"
        )


def reject_problems(url: str, checkpoint: dt.date) -> list[RejectProblem]:
    """Everything about rejected data that blocks publication at ``checkpoint``."""
    with connect(url) as conn:
        rows = conn.execute(
            "select checkpoint_date, load_id, entity, as_of, file_path, problem,"
            " rows_rejected, tolerance, reason from ops.reject_problems(%s)"
            " order by as_of, entity, load_id",
            (checkpoint,),
        ).fetchall()
    return [
        RejectProblem(
            checkpoint_date=r[0],
            load_id=int(r[1]),
            entity=r[2],
            as_of=r[3],
            file_path=r[4],
            problem=r[5],
            rows_rejected=int(r[6]),
            tolerance=None if r[7] is None else int(r[7]),
            reason=r[8] or "",
        )
        for r in rows
    ]


def accept_rejects(url: str, load_id: int, *, by: str, why: str) -> int:
    """Record that the rejects of one load are accepted; return the acceptance id."""
    if not by.strip() or not why.strip():
        raise GateError("accepting rejects needs who (--by) and why (--why)")
    with connect(url) as conn:
        load = conn.execute(
            "select status, rows_rejected from ops.loads where load_id = %s", (load_id,)
        ).fetchone()
        if load is None:
            raise GateError(f"there is no load {load_id}")
        status, rows_rejected = load
        if status != "rejected" and not rows_rejected:
            raise GateError(f"load {load_id} has no rejected rows to accept")
        row = conn.execute(
            "insert into ops.reject_acceptances (load_id, accepted_by, reason)"
            " values (%s, %s, %s) returning acceptance_id",
            (load_id, by.strip(), why.strip()),
        ).fetchone()
        assert row is not None
        return int(row[0])


def set_tolerance(url: str, entity: str, rows: int, *, by: str, why: str) -> None:
    """Set how many unaccepted rejected rows an entity tolerates at a checkpoint."""
    if entity not in ENTITIES:
        raise GateError(f"unknown entity {entity!r}; one of {', '.join(ENTITIES)}")
    if rows < 0:
        raise GateError("a tolerance is a number of rows, 0 or more")
    if not by.strip() or not why.strip():
        raise GateError("setting a tolerance needs who (--by) and why (--why)")
    with connect(url) as conn:
        conn.execute(
            "insert into ops.reject_tolerances (entity, max_rejected_rows, set_by, reason)"
            " values (%s, %s, %s, %s)",
            (entity, rows, by.strip(), why.strip()),
        )


@dataclass(frozen=True)
class Tolerance:
    entity: str
    max_rejected_rows: int
    set_by: str | None
    reason: str | None
    set_at: dt.datetime | None


def tolerances(url: str) -> list[Tolerance]:
    with connect(url) as conn:
        rows = conn.execute(
            "select entity, max_rejected_rows, set_by, reason, set_at"
            " from ops.current_reject_tolerances"
        ).fetchall()
    return [Tolerance(r[0], int(r[1]), r[2], r[3], r[4]) for r in rows]


@dataclass(frozen=True)
class RejectedRow:
    load_id: int
    as_of: dt.date
    file_path: str
    line_no: int | None
    column_name: str | None
    rule: str
    reason: str
    raw_line: str | None
    accepted: bool


def rejected_rows(
    url: str,
    *,
    as_of: dt.date | None = None,
    load_id: int | None = None,
    limit: int | None = None,
) -> tuple[list[RejectedRow], int]:
    """Rejected rows (oldest delivery first) and how many match in all."""
    params = {"as_of": as_of, "load_id": load_id, "limit": limit}
    with connect(url) as conn:
        count_row = conn.execute(
            "select count(*) from ops.rejected_rows as r"
            " join ops.loads as l on l.load_id = r.load_id"
            " where (%(as_of)s::date is null or l.as_of = %(as_of)s)"
            " and (%(load_id)s::bigint is null or l.load_id = %(load_id)s)",
            params,
        ).fetchone()
        rows = conn.execute(
            "select r.load_id, l.as_of, r.file_path, r.line_no, r.column_name, r.rule,"
            " r.reason, r.raw_line,"
            " exists (select 1 from ops.reject_acceptances a where a.load_id = r.load_id)"
            " from ops.rejected_rows as r join ops.loads as l on l.load_id = r.load_id"
            " where (%(as_of)s::date is null or l.as_of = %(as_of)s)"
            " and (%(load_id)s::bigint is null or l.load_id = %(load_id)s)"
            " order by l.as_of, r.load_id, r.line_no nulls first, r.reject_id"
            " limit %(limit)s",
            params,
        ).fetchall()
    found = [
        RejectedRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])) for r in rows
    ]
    return found, int(count_row[0]) if count_row else 0
