"""The watermark of an incremental pull: the largest value of the incremental column seen.

The next pull asks for rows with ``column >= watermark - lookback``: ``>=`` and the
lookback re-read a margin (rows committed late with an earlier timestamp, rows sharing the
watermark's value). Re-reading is harmless: rows merge by key into the snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Watermark:
    kind: str  # date | datetime | number | text
    text: str  # how it is stored and, for HTTP, sent

    @staticmethod
    def of(value: Any) -> Watermark | None:
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime):
            return Watermark("datetime", value.isoformat())
        if isinstance(value, dt.date):
            return Watermark("date", value.isoformat())
        if isinstance(value, bool):
            return None  # not something that grows
        if isinstance(value, (int, Decimal, float)):
            return Watermark("number", str(value))
        text = str(value).strip()
        # API timestamps arrive as text: compare them as the times they are
        for kind, parse in (("date", dt.date.fromisoformat), ("datetime", _datetime)):
            try:
                parse(text)
            except ValueError:
                continue
            return Watermark(kind, text)
        return Watermark("text", text)

    def typed(self) -> Any:
        """The value as the source's type (a query parameter for SQL)."""
        if self.kind == "date":
            return dt.date.fromisoformat(self.text)
        if self.kind == "datetime":
            return _datetime(self.text)
        if self.kind == "number":
            try:
                return int(self.text)
            except ValueError:
                return Decimal(self.text)
        return self.text

    def later(self, other: Watermark | None) -> Watermark:
        """The larger of two watermarks of one column."""
        if other is None:
            return self
        if other.kind != self.kind:
            # one column, two kinds (e.g. a text column holding both dates and junk):
            # fall back to text order rather than guess
            return self if self.text >= other.text else other
        try:
            return self if self.typed() >= other.typed() else other
        except (TypeError, InvalidOperation):  # naive vs aware timestamps
            return self if self.text >= other.text else other

    def minus_days(self, days: int) -> Watermark:
        if days <= 0 or self.kind not in ("date", "datetime"):
            return self
        moved = self.typed() - dt.timedelta(days=days)
        if self.kind == "date":
            return Watermark("date", moved.isoformat())
        # keep the API's own spelling: "2021-09-30 18:00:00" stays space-separated
        sep = " " if " " in self.text else "T"
        return Watermark("datetime", moved.isoformat(sep=sep))


def _datetime(text: str) -> dt.datetime:
    if "T" not in text and " " not in text:
        raise ValueError("a date, not a time")
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
