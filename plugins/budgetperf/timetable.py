"""The checkpoint timetable (DOMAIN.md R1): one run per monitoring point of the fiscal year.

Points are month-days (default 06-30, 09-30, 11-30 and the year-end 12-31). The run for
point ``c`` has the data interval ``[day after the previous point, day after c)`` in the
bureau's time zone, so a run starts once point ``c`` has fully passed, and its checkpoint
is always ``data_interval_end - 1 day``. Catchup and ``airflow backfill`` walk the points
of past years in order; a manual run at time ``t`` takes the latest point on or before
``t``'s local date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

if TYPE_CHECKING:
    from airflow.timetables.base import TimeRestriction

DEFAULT_POINTS: tuple[str, ...] = ("06-30", "09-30", "11-30", "12-31")
DEFAULT_TIMEZONE = "Asia/Shanghai"


class InvalidCheckpoints(ValueError):
    """The configured checkpoint list cannot define a schedule."""


def parse_points(points: Sequence[str] | str) -> tuple[tuple[int, int], ...]:
    """Parse ``"06-30,09-30"`` or ``["06-30", ...]`` into sorted (month, day) pairs."""
    items = points.split(",") if isinstance(points, str) else list(points)
    parsed: list[tuple[int, int]] = []
    for raw in items:
        text = raw.strip()
        try:
            month_text, day_text = text.split("-")
            month, day = int(month_text), int(day_text)
            dt.date(2021, month, day)  # 2021 is not a leap year: 02-29 is refused on purpose
        except ValueError:
            raise InvalidCheckpoints(
                f"checkpoint {text!r} is not a month-day like 06-30 (02-29 is not allowed)"
            ) from None
        parsed.append((month, day))
    if not parsed:
        raise InvalidCheckpoints("at least one checkpoint is required")
    if len(set(parsed)) != len(parsed):
        raise InvalidCheckpoints(f"checkpoints repeat: {items}")
    return tuple(sorted(parsed))


class CheckpointTimetable(Timetable):
    """Runs at the budget monitoring checkpoints of every fiscal year."""

    def __init__(
        self,
        points: Sequence[str] | str = DEFAULT_POINTS,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self._points = parse_points(points)
        self._timezone_name = timezone
        self._tz = pendulum.timezone(timezone)

    # -- presentation and serialization -------------------------------------------------

    @property
    def points(self) -> tuple[str, ...]:
        return tuple(f"{m:02d}-{d:02d}" for m, d in self._points)

    @property
    def summary(self) -> str:
        return "checkpoints " + ", ".join(self.points)

    @property
    def description(self) -> str:  # type: ignore[override]
        return (
            f"After each budget monitoring checkpoint ({', '.join(self.points)}) "
            f"in {self._timezone_name}"
        )

    def serialize(self) -> dict[str, Any]:
        return {"points": list(self.points), "timezone": self._timezone_name}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> CheckpointTimetable:
        return cls(points=data["points"], timezone=data["timezone"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CheckpointTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.points, self._timezone_name))

    # -- calendar arithmetic ----------------------------------------------------------

    def points_of_year(self, year: int) -> list[dt.date]:
        return [dt.date(year, m, d) for m, d in self._points]

    def point_on_or_before(self, day: dt.date) -> dt.date:
        for year in (day.year, day.year - 1):
            candidates = [p for p in self.points_of_year(year) if p <= day]
            if candidates:
                return candidates[-1]
        raise AssertionError("unreachable: every year has at least one point")

    def point_after(self, day: dt.date) -> dt.date:
        for year in (day.year, day.year + 1):
            candidates = [p for p in self.points_of_year(year) if p > day]
            if candidates:
                return candidates[0]
        raise AssertionError("unreachable: every year has at least one point")

    def previous_point(self, point: dt.date) -> dt.date:
        return self.point_on_or_before(point - dt.timedelta(days=1))

    def is_point(self, day: dt.date) -> bool:
        return (day.month, day.day) in self._points

    def _local_midnight(self, day: dt.date) -> pendulum.DateTime:
        return pendulum.datetime(day.year, day.month, day.day, tz=self._tz)

    def data_interval_for(self, point: dt.date) -> DataInterval:
        start = self._local_midnight(self.previous_point(point) + dt.timedelta(days=1))
        end = self._local_midnight(point + dt.timedelta(days=1))
        return DataInterval(start=start.in_timezone("UTC"), end=end.in_timezone("UTC"))

    def checkpoint_of_interval_end(self, end: dt.datetime) -> dt.date:
        """The point a data interval ending at ``end`` stands for."""
        local = pendulum.instance(end).in_timezone(self._tz)
        return self.point_on_or_before(local.date() - dt.timedelta(days=1))

    def logical_date_for(self, point: dt.date) -> str:
        """A logical date for ``airflow dags test`` whose manual interval is ``point``'s."""
        return self._local_midnight(point).add(hours=12).isoformat()

    def local_date(self, moment: dt.datetime) -> dt.date:
        return pendulum.instance(moment).in_timezone(self._tz).date()

    # -- the Timetable protocol -------------------------------------------------------

    def infer_manual_data_interval(self, *, run_after: pendulum.DateTime) -> DataInterval:
        return self.data_interval_for(self.point_on_or_before(self.local_date(run_after)))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            last_point = self.checkpoint_of_interval_end(last_automated_data_interval.end)
            point = self.point_after(last_point)
        elif restriction.earliest is None:
            return None
        else:
            earliest_day = self.local_date(restriction.earliest)
            first = earliest_day if self.is_point(earliest_day) else self.point_after(earliest_day)
            if restriction.catchup:
                point = first
            else:
                # Without catchup, start with the latest point that has already passed,
                # as Airflow's interval timetables do, but never before start_date.
                today = self.local_date(pendulum.now("UTC"))
                latest_passed = self.point_on_or_before(today - dt.timedelta(days=1))
                point = max(first, latest_passed)
        # end_date bounds the checkpoints themselves: end_date=2021-12-31 includes the
        # year-end point of 2021, end_date=2021-12-01 stops after 11-30.
        if restriction.latest is not None and self._local_midnight(point) > restriction.latest:
            return None
        interval = self.data_interval_for(point)
        return DagRunInfo.interval(start=interval.start, end=interval.end)


def configured_timetable(environ: dict[str, str] | None = None) -> CheckpointTimetable:
    """The timetable as configured by ``BUDGETPERF_CHECKPOINTS`` and ``BUDGETPERF_TIMEZONE``.

    Reading two environment variables is cheap and safe at DAG parse time.
    """
    import os

    env = os.environ if environ is None else environ
    return CheckpointTimetable(
        points=env.get("BUDGETPERF_CHECKPOINTS") or DEFAULT_POINTS,
        timezone=env.get("BUDGETPERF_TIMEZONE") or DEFAULT_TIMEZONE,
    )
