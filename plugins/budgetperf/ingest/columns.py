"""Column-at-a-time conversion of raw cells (bytes in the file's encoding) to COPY CSV.

Why columns and bytes: a budget_execution export has a million rows but only a few
hundred distinct years, dates, codes and flags. Converting each *distinct* value once
(memoised) and checking whole columns with one C-level call (``b'' in column``, one regex
over the joined column) keeps the per-row Python work to a handful of list operations, so
the loader keeps pace with PostgreSQL's own COPY. Cells stay in the file's encoding (UTF-8
or GB18030) and go to ``COPY ... (ENCODING ...)`` as they are; only distinct values and
rejected rows are ever decoded.

A converted column holds, per row, the value as a field of ``COPY ... (FORMAT csv)``:
the text (quoted only if it holds a comma, quote or line break), an empty field for NULL,
or ``ERR`` where the cell was refused (the row's Problem is in the error map). CSV rather
than PostgreSQL's text format because unquoted cells of a delivered CSV are already valid
CSV fields: backslashes and tabs need no escaping, and whole lines can often be passed on
as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from budgetperf.ingest.entities import Column, Kind
from budgetperf.ingest.values import (
    Problem,
    ValueProblem,
    choice_lookup,
    parse_value,
    required_problem,
)

NULL = b""  # an unquoted empty CSV field
# A refused cell. NUL never reaches a converted column as data (text with NUL is refused),
# so it cannot be mistaken for a value.
ERR = b"\x00"

_MEMO_LIMIT = 200_000  # distinct values remembered per column before starting over

# Plain amounts (the shape machine exports write), checked for a whole column with one
# regex over the joined column; possessive quantifiers keep the engine from backtracking.
_AMOUNT = rb"-?+\d{1,16}+(?:\.\d\d?+)?+"
_PLAIN_MONEY = re.compile(rb"(?:%s\n)*+%s" % (_AMOUNT, _AMOUNT))
# the same, refusing zero amounts (0, 0.00, -0, 000.0 ...)
_ZERO = rb"-?+0*+(?:\.0*+)?+"
_PLAIN_NONZERO_MONEY = re.compile(
    rb"(?:(?!%s\n)%s\n)*+(?!%s$)%s" % (_ZERO, _AMOUNT, _ZERO, _AMOUNT)
)
# Amounts as finance exports write them, with thousands separators in their proper places
# (1,234,567.89) or none: such a column is plain once the commas are taken out.
_SEPARATED_AMOUNT = rb"-?+(?:\d{1,3}+(?:,\d{3}){1,4}+|\d{1,16}+)(?:\.\d\d?+)?+"
SEPARATED_MONEY = re.compile(rb"(?:%s\n)*+%s" % (_SEPARATED_AMOUNT, _SEPARATED_AMOUNT))

ErrorMap = dict[int, Problem]


def csv_field(text: str) -> str:
    """A str as a COPY CSV field (never empty: blank values are NULL, handled apart)."""
    if "," in text or '"' in text or "\n" in text or "\r" in text or text == "\\.":
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_unfield(field: str) -> str:
    if len(field) >= 2 and field[0] == '"' and field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def encode_text(text: str, encoding: str) -> bytes:
    """A str as the converted form of a TEXT cell of a file in ``encoding``."""
    return csv_field(text).encode(encoding)


class ColumnConverter:
    """Converts one column of one file; remembers distinct values across batches."""

    def __init__(self, column: Column, encoding: str) -> None:
        self.column = column
        self.encoding = "utf-8" if encoding.startswith("utf-8") else encoding
        self._lookup = choice_lookup(column) if column.kind is Kind.CHOICE else None
        self._memo: dict[bytes, bytes | Problem] = {}
        self._plain_money = (_PLAIN_NONZERO_MONEY if column.nonzero else _PLAIN_MONEY).fullmatch
        if column.default is not None:
            self._blank: bytes | Problem = column.default.encode("ascii")
        elif column.required:
            self._blank = required_problem()
        else:
            self._blank = NULL
        kind = column.kind
        self.convert: Callable[[list[bytes], bool], tuple[list[bytes], ErrorMap]]
        if kind is Kind.TEXT:
            self.convert = self._convert_text
        elif kind is Kind.MONEY:
            self.convert = self._convert_money
        else:
            self.convert = self._convert_memo

    # -- one value ----------------------------------------------------------------------

    def parse_one(self, raw: bytes) -> bytes | Problem:
        """Convert a single cell (the slow, exact path every fast path falls back to)."""
        if self.column.kind is Kind.TEXT:
            # Text loses surrounding ASCII whitespace only (safe on GB18030 bytes too);
            # any other character, a full-width space included, is data.
            stripped = raw.strip()
            if not stripped:
                return self._blank
            if b"\x00" in stripped:
                return Problem("parse", "含有 NUL 控制字符", "contains a NUL character")
            return encode_text(stripped.decode(self.encoding), self.encoding)
        text = raw.decode(self.encoding).strip()
        if not text:
            return self._blank
        try:
            return parse_value(text, self.column, self._lookup).encode("ascii")
        except ValueProblem as exc:
            return exc.problem

    def _per_value(self, values: list[bytes]) -> tuple[list[bytes], ErrorMap]:
        out: list[bytes] = []
        errors: ErrorMap = {}
        parse = self.parse_one
        for index, raw in enumerate(values):
            result = parse(raw)
            if isinstance(result, Problem):
                errors[index] = result
                out.append(ERR)
            else:
                out.append(result)
        return out, errors

    # -- whole columns --------------------------------------------------------------------

    def _convert_text(self, values: list[bytes], clean: bool) -> tuple[list[bytes], ErrorMap]:
        if not clean:
            # the batch may hold spaces, quotes, separators, line breaks or NUL: look closer
            joined = b"\n".join(values)
            if (
                b'"' in joined
                or b"," in joined
                or b"\r" in joined
                or b"\x00" in joined
                or b"\x0b" in joined
                or b"\x0c" in joined
                or b"\t" in joined
                or joined.count(b"\n") != len(values) - 1
            ):
                return self._per_value(values)
            if b" " in joined:
                values = [v.strip() for v in values]
        if b"" not in values:
            return values, {}
        blank = self._blank
        if isinstance(blank, Problem):
            errors = {i: blank for i, v in enumerate(values) if not v}
            return [v or ERR for v in values], errors
        if blank == NULL:
            return values, {}  # a blank optional text is NULL: the empty field already is
        return [v or blank for v in values], {}

    def _convert_memo(self, values: list[bytes], clean: bool) -> tuple[list[bytes], ErrorMap]:
        memo = self._memo
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        distinct = set(values)
        parse = self.parse_one
        for value in distinct:
            if value not in memo:
                memo[value] = parse(value)
        bad = {v for v in distinct if isinstance(memo[v], Problem)}
        if not bad:
            if all(memo[v] == v for v in distinct):
                return values, {}  # already canonical (ISO dates, 2021, codes): no copy
            return list(map(memo.__getitem__, values)), {}  # type: ignore[arg-type]
        out: list[bytes] = []
        errors: ErrorMap = {}
        for index, value in enumerate(values):
            result = memo[value]
            if isinstance(result, Problem):
                errors[index] = result
                out.append(ERR)
            else:
                out.append(result)
        return out, errors

    def _convert_money(self, values: list[bytes], clean: bool) -> tuple[list[bytes], ErrorMap]:
        joined = b"\n".join(values)
        if b"," in joined and SEPARATED_MONEY.fullmatch(joined):
            joined = joined.replace(b",", b"")
            values = joined.split(b"\n")
        if self._plain_money(joined):
            column = self.column
            if column.maximum is None and (column.minimum is None or b"-" not in joined):
                return values, {}
        return self._per_value(values)
