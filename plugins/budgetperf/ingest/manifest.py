"""``_manifest.json``: what the integration system says it delivered.

``{"files": {"budget_execution.csv": {"rows": 51234, "sha256": "...",
"amount_yuan_total": "123456.78"}}}``. Every key of an entry is optional; the ones given
are verified and any mismatch rejects that file whole. Amounts are read as exact
decimals (a JSON number is never turned into a float).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from budgetperf.ingest.values import Problem


@dataclass(frozen=True)
class ManifestEntry:
    rows: int | None
    sha256: str | None
    amount_yuan_total: Decimal | None

    def identity(self) -> dict[str, str | int | None]:
        return {
            "rows": self.rows,
            "sha256": self.sha256,
            "amount_yuan_total": None
            if self.amount_yuan_total is None
            else str(self.amount_yuan_total),
        }


class ManifestError(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.problem = Problem(
            "file",
            f"_manifest.json 无法使用：{zh}；该交付的文件无法核对，全部拒绝",
            f"_manifest.json is unusable: {en}; the delivery's files cannot be verified "
            "and are rejected",
        )


def parse_manifest(data: bytes) -> dict[str, ManifestEntry]:
    """File name -> entry. Raises ManifestError for anything but the documented shape."""
    try:
        document = json.loads(data.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"不是有效的 JSON（{exc}）", f"not valid JSON ({exc})") from None
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict):
        raise ManifestError('缺少 "files" 对象', 'no "files" object')
    entries: dict[str, ManifestEntry] = {}
    for name, entry in files.items():
        if not isinstance(entry, dict):
            raise ManifestError(f"{name} 的条目不是对象", f"the entry of {name} is not an object")
        rows = entry.get("rows")
        if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
            raise ManifestError(f"{name} 的 rows 不是非负整数", f"rows of {name} is not a count")
        sha = entry.get("sha256")
        if sha is not None and not (
            isinstance(sha, str)
            and len(sha) == 64
            and all(c in "0123456789abcdefABCDEF" for c in sha)
        ):
            raise ManifestError(
                f"{name} 的 sha256 不是 64 位十六进制", f"sha256 of {name} is not 64 hex digits"
            )
        total = entry.get("amount_yuan_total")
        amount: Decimal | None = None
        if total is not None:
            if isinstance(total, bool) or not isinstance(total, (str, int, Decimal)):
                raise ManifestError(
                    f"{name} 的 amount_yuan_total 不是数字",
                    f"amount_yuan_total of {name} is not a number",
                )
            try:
                amount = Decimal(str(total).replace(",", ""))
            except InvalidOperation:
                raise ManifestError(
                    f"{name} 的 amount_yuan_total 不是数字",
                    f"amount_yuan_total of {name} is not a number",
                ) from None
        entries[str(name)] = ManifestEntry(rows, sha.lower() if sha else None, amount)
    return entries


def sha_mismatch(entry: ManifestEntry, sha256: str) -> Problem | None:
    if entry.sha256 is None or entry.sha256 == sha256:
        return None
    return Problem(
        "file",
        f"与 _manifest.json 不符：sha256 应为 {entry.sha256}，实际为 {sha256}"
        "（文件不完整或被改动）",
        f"does not match _manifest.json: sha256 should be {entry.sha256} but is {sha256} "
        "(incomplete or altered file)",
    )


def count_mismatch(entry: ManifestEntry, rows: int, total: Decimal | None) -> Problem | None:
    if entry.rows is not None and entry.rows != rows:
        return Problem(
            "file",
            f"与 _manifest.json 不符：数据行数应为 {entry.rows}，实际为 {rows}",
            f"does not match _manifest.json: {entry.rows} data rows expected, {rows} found",
        )
    if (
        entry.amount_yuan_total is not None
        and total is not None
        and entry.amount_yuan_total != total
    ):
        return Problem(
            "file",
            f"与 _manifest.json 不符：金额合计应为 {entry.amount_yuan_total}，实际为 {total}",
            f"does not match _manifest.json: amount total {entry.amount_yuan_total} expected, "
            f"{total} found",
        )
    return None
