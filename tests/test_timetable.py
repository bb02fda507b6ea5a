"""The checkpoint timetable (DOMAIN.md R1), exercised through Airflow's own protocol."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from budgetperf.timetable import CheckpointTimetable, InvalidCheckpoints, configured_timetable

SHANGHAI = pendulum.timezone("Asia/Shanghai")


def _points_of(infos: list) -> list[dt.date]:
    timetable = CheckpointTimetable()
    return [timetable.checkpoint_of_interval_end(i.data_interval.end) for i in infos]


def _walk(timetable: CheckpointTimetable, restriction: TimeRestriction, n: int) -> list:
    infos, last = [], None
    for _ in range(n):
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None:
            break
        infos.append(info)
        last = info.data_interval
    return infos


def test_catchup_over_2021_runs_the_four_points_in_order_then_crosses_the_year() -> None:
    timetable = CheckpointTimetable()
    start = pendulum.datetime(2021, 1, 1, tz=SHANGHAI)
    infos = _walk(timetable, TimeRestriction(earliest=start, latest=None, catchup=True), 6)
    assert _points_of(infos) == [
        dt.date(2021, 6, 30),
        dt.date(2021, 9, 30),
        dt.date(2021, 11, 30),
        dt.date(2021, 12, 31),
        dt.date(2022, 6, 30),
        dt.date(2022, 9, 30),
    ]
    # each data interval starts the day after the previous point and ends the day after
    # its own point, in the bureau's time zone; runs start once the interval has ended
    june = infos[0]
    assert june.data_interval.start == pendulum.datetime(2021, 1, 1, tz=SHANGHAI)
    assert june.data_interval.end == pendulum.datetime(2021, 7, 1, tz=SHANGHAI)
    assert june.run_after == june.data_interval.end
    year_end = infos[3]
    assert year_end.data_interval.start == pendulum.datetime(2021, 12, 1, tz=SHANGHAI)
    assert year_end.data_interval.end == pendulum.datetime(2022, 1, 1, tz=SHANGHAI)
    # consecutive intervals tile the calendar with no gap and no overlap
    for earlier, later in pairwise(infos):
        assert earlier.data_interval.end == later.data_interval.start


def test_next_run_after_the_year_end_point_is_june_of_the_next_year() -> None:
    timetable = CheckpointTimetable()
    last = timetable.data_interval_for(dt.date(2021, 12, 31))
    info = timetable.next_dagrun_info(
        last_automated_data_interval=last,
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert info is not None
    assert timetable.checkpoint_of_interval_end(info.data_interval.end) == dt.date(2022, 6, 30)
    assert info.data_interval.start == pendulum.datetime(2022, 1, 1, tz=SHANGHAI)


def test_start_date_on_a_point_includes_that_point_and_end_date_stops_the_walk() -> None:
    timetable = CheckpointTimetable()
    start = pendulum.datetime(2021, 9, 30, tz=SHANGHAI)
    end = pendulum.datetime(2021, 12, 1, tz=SHANGHAI)
    infos = _walk(timetable, TimeRestriction(earliest=start, latest=end, catchup=True), 10)
    assert _points_of(infos) == [dt.date(2021, 9, 30), dt.date(2021, 11, 30)]


def test_without_catchup_the_first_run_is_the_latest_point_already_passed() -> None:
    timetable = CheckpointTimetable()
    start = pendulum.datetime(2021, 1, 1, tz=SHANGHAI)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=start, latest=None, catchup=False),
    )
    assert info is not None
    point = timetable.checkpoint_of_interval_end(info.data_interval.end)
    today = pendulum.now(SHANGHAI).date()
    assert point < today
    assert timetable.point_after(point) >= today  # no later point has fully passed
    assert info.run_after <= pendulum.now("UTC")


def test_no_start_date_schedules_nothing() -> None:
    info = CheckpointTimetable().next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=None, latest=None, catchup=True),
    )
    assert info is None


@pytest.mark.parametrize(
    ("run_after", "expected_point"),
    [
        (pendulum.datetime(2021, 7, 15, 9, tz=SHANGHAI), dt.date(2021, 6, 30)),
        (pendulum.datetime(2021, 6, 30, 8, tz=SHANGHAI), dt.date(2021, 6, 30)),
        (pendulum.datetime(2021, 6, 29, 23, 59, tz=SHANGHAI), dt.date(2020, 12, 31)),
        (pendulum.datetime(2021, 3, 1, tz=SHANGHAI), dt.date(2020, 12, 31)),
        # 2021-06-29T16:30Z is already June 30 in Shanghai
        (pendulum.datetime(2021, 6, 29, 16, 30, tz="UTC"), dt.date(2021, 6, 30)),
        (pendulum.datetime(2022, 1, 1, tz=SHANGHAI), dt.date(2021, 12, 31)),
    ],
)
def test_manual_runs_take_the_latest_point_on_or_before_their_local_date(
    run_after: pendulum.DateTime, expected_point: dt.date
) -> None:
    timetable = CheckpointTimetable()
    interval = timetable.infer_manual_data_interval(run_after=run_after)
    assert interval == timetable.data_interval_for(expected_point)
    assert timetable.checkpoint_of_interval_end(interval.end) == expected_point


def test_logical_date_for_the_cli_maps_back_to_its_point() -> None:
    timetable = CheckpointTimetable()
    for point in timetable.points_of_year(2021):
        logical = pendulum.parse(timetable.logical_date_for(point))
        interval = timetable.infer_manual_data_interval(run_after=logical)
        assert timetable.checkpoint_of_interval_end(interval.end) == point


def test_serialization_round_trip_keeps_points_and_timezone() -> None:
    timetable = CheckpointTimetable(points="03-31,12-31,06-30", timezone="Asia/Urumqi")
    data = timetable.serialize()
    assert data == {"points": ["03-31", "06-30", "12-31"], "timezone": "Asia/Urumqi"}
    again = CheckpointTimetable.deserialize(data)
    assert again == timetable
    assert again.summary == "checkpoints 03-31, 06-30, 12-31"
    interval = again.data_interval_for(dt.date(2021, 6, 30))
    assert interval == DataInterval(
        start=pendulum.datetime(2021, 4, 1, tz="Asia/Urumqi"),
        end=pendulum.datetime(2021, 7, 1, tz="Asia/Urumqi"),
    )


def test_summary_lists_the_default_points() -> None:
    assert CheckpointTimetable().summary == "checkpoints 06-30, 09-30, 11-30, 12-31"


@pytest.mark.parametrize("bad", ["", "13-01", "02-29", "06-31", "0630", "06-30,06-30"])
def test_invalid_checkpoints_are_refused_with_a_clear_message(bad: str) -> None:
    with pytest.raises(InvalidCheckpoints):
        CheckpointTimetable(points=bad)


def test_checkpoints_are_configurable_by_environment() -> None:
    timetable = configured_timetable(
        {"BUDGETPERF_CHECKPOINTS": "03-31,12-31", "BUDGETPERF_TIMEZONE": "UTC"}
    )
    assert timetable.points == ("03-31", "12-31")
    assert timetable.serialize()["timezone"] == "UTC"
    assert configured_timetable({}).points == ("06-30", "09-30", "11-30", "12-31")
