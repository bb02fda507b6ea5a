"""Working days: the treasury pays, and offices assess and declare, on working days only.

Official public holidays and their make-up working days (调休) of the State Council
notices for 2020 and 2021; other years fall back to Monday to Friday.
"""

from __future__ import annotations

import datetime as dt
from functools import cache


def _span(year: int, month: int, first: int, last: int) -> list[dt.date]:
    return [dt.date(year, month, d) for d in range(first, last + 1)]


_HOLIDAYS: dict[int, list[dt.date]] = {
    2020: [
        dt.date(2020, 1, 1),
        *_span(2020, 1, 24, 31),
        *_span(2020, 2, 1, 2),
        *_span(2020, 4, 4, 6),
        *_span(2020, 5, 1, 5),
        *_span(2020, 6, 25, 27),
        *_span(2020, 10, 1, 8),
    ],
    2021: [
        *_span(2021, 1, 1, 3),
        *_span(2021, 2, 11, 17),
        *_span(2021, 4, 3, 5),
        *_span(2021, 5, 1, 5),
        *_span(2021, 6, 12, 14),
        *_span(2021, 9, 19, 21),
        *_span(2021, 10, 1, 7),
    ],
}
_MAKEUP_WORKDAYS: dict[int, list[dt.date]] = {
    2020: [dt.date(2020, m, d) for m, d in ((1, 19), (4, 26), (5, 9), (6, 28), (9, 27), (10, 10))],
    2021: [
        dt.date(2021, m, d)
        for m, d in ((2, 7), (2, 20), (4, 25), (5, 8), (9, 18), (9, 26), (10, 9))
    ],
}


@cache
def workdays(year: int) -> tuple[dt.date, ...]:
    """All working days of ``year`` in order."""
    holidays = set(_HOLIDAYS.get(year, ()))
    makeup = set(_MAKEUP_WORKDAYS.get(year, ()))
    day = dt.date(year, 1, 1)
    out: list[dt.date] = []
    while day.year == year:
        if day in makeup or (day.weekday() < 5 and day not in holidays):
            out.append(day)
        day += dt.timedelta(days=1)
    return tuple(out)


def workdays_between(first: dt.date, last: dt.date) -> tuple[dt.date, ...]:
    """Working days in ``[first, last]`` (both inside one year)."""
    return tuple(d for d in workdays(first.year) if first <= d <= last)
