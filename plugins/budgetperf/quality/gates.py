"""Write-audit-publish gates: run the catalogue's rules of one gate with Great Expectations.

``run_gate`` validates every rule of a gate (``raw`` after the load, ``marts`` after dbt)
for one checkpoint, as SQL in the warehouse, and:

- stores every rule's verdict in ``ops.dq_results`` (run, point, gate, rule, severity,
  success, observed value, and in ``details`` the texts, sample rows and the SQL to see
  the offending rows), so the quality history is queryable and warnings reach the reports;
- writes the run's self-contained quality report (``runs/<checkpoint>/quality_<gate>.html``)
  and builds the GX Data Docs pages, both readable offline;
- for the marts gate, records row counts first and, when the gate passes, makes them the
  baseline of the checkpoint (``budgetperf.quality.rowcounts``).

It never raises for a rule that fails or cannot run because of the data or the catalogue
(a missing relation, a SQL error): those are failures of that rule, reported like any
other. It raises when the warehouse itself is unreachable (GateUnavailable, psycopg
errors): that is not a verdict, and the task's retry should run the gate again. The caller
decides what a failed outcome means (the DAG's gate task alerts and fails without retry;
see ``budgetperf.pipeline.tasks``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from budgetperf.quality.catalogue import Rule, catalogue_path, load_catalogue
from budgetperf.settings import Settings
from budgetperf.warehouse import connect

log = logging.getLogger(__name__)

SAMPLE_ROWS = 5
GATE_NAMES_ZH = {"raw": "装载数据", "marts": "数据集市"}


class GateUnavailable(RuntimeError):
    """The warehouse could not be reached while the gate ran: an infrastructure failure,
    not a data-quality verdict. Raised (so the task is retried) instead of being reported
    as failing rules (which would alert and block without retry)."""


_DRIVER_ERROR = re.compile(r"\((psycopg(?:\.errors)?\.\w+)\)")


def is_transient(error: str) -> bool:
    """Whether a rule's error text (SQLAlchemy's "(psycopg.X) ..." form) is a connection
    problem (psycopg OperationalError and its subclasses: shutdown, lost connection)."""
    import psycopg

    for name in _DRIVER_ERROR.findall(error):
        found = getattr(psycopg.errors, name.rsplit(".", 1)[1], None) or getattr(
            psycopg, name.rsplit(".", 1)[1], None
        )
        if isinstance(found, type) and issubclass(found, psycopg.OperationalError):
            return True
    return False


@dataclass
class RuleResult:
    rule: Rule
    success: bool
    observed: str
    sample: list[Any] = field(default_factory=list)
    unexpected_count: int | None = None
    element_count: int | None = None
    error: str | None = None
    sql: str = ""  # paste into psql to see every offending row

    @property
    def state_zh(self) -> str:
        if self.success:
            return "通过"
        if self.error:
            return "无法执行"
        return "未通过" if self.rule.is_fatal else "警告"

    def line(self) -> str:
        return (
            f"[{self.rule.id}] {self.state_zh}：{self.rule.description_zh} / "
            f"{self.rule.description_en}（观测值 {self.observed}）"
        )

    def details(self) -> dict[str, Any]:
        """What ops.dq_results.details keeps, so history reads without the catalogue."""
        return {
            "relation": self.rule.relation,
            "batch": self.rule.batch,
            "category": self.rule.category,
            "owner": self.rule.owner,
            "description_zh": self.rule.description_zh,
            "description_en": self.rule.description_en,
            "fix_zh": self.rule.fix_zh,
            "fix_en": self.rule.fix_en,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "error": self.error,
            "sample": self.sample,
            "sql": self.sql,
        }


@dataclass
class GateOutcome:
    gate: str
    checkpoint: dt.date
    run_id: str
    results: list[RuleResult]
    data_docs: Path | None = None  # the GX Data Docs index (offline-ready)
    data_docs_pages: list[Path] = field(default_factory=list)  # this run's GX pages
    report: Path | None = None  # the self-contained quality report people open
    checked_at: dt.datetime | None = None

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.success and r.rule.is_fatal]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.success and not r.rule.is_fatal]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def gate_zh(self) -> str:
        return GATE_NAMES_ZH.get(self.gate, self.gate)

    def one_line(self) -> str:
        return (
            f"{self.gate} gate for {self.checkpoint}: {len(self.results)} rules, "
            f"{len(self.failures)} fatal failure(s), {len(self.warnings)} warning(s)"
            + (f"; report {self.report}" if self.report else "")
        )

    def failure_message(self) -> str:
        lines = [
            f"{self.checkpoint} {self.gate_zh}质量闸门未通过，不发布 / "
            f"{self.gate} gate failed for checkpoint {self.checkpoint}:"
        ]
        lines += ["  " + r.line() + f" → {r.rule.fix_zh}" for r in self.failures]
        if self.report:
            lines.append(f"  质量报告 / report: {self.report}")
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "checkpoint": self.checkpoint.isoformat(),
            "rules": len(self.results),
            "passed": self.passed,
            "failures": [r.rule.id for r in self.failures],
            "warnings": [r.rule.id for r in self.warnings],
            "report": str(self.report) if self.report else None,
            "data_docs": str(self.data_docs) if self.data_docs else None,
        }


def gate_rules(settings: Settings, gate: str) -> list[Rule]:
    rules = [r for r in load_catalogue(catalogue_path(settings.expectations_dir)) if r.gate == gate]
    if not rules:
        raise ValueError(f"the catalogue has no rule for gate {gate!r}")
    return rules


@dataclass
class Preflight:
    cannot_run: dict[str, str]  # rule id -> why (relation or checkpoint_date missing)
    no_rows: set[str]  # native checkpoint rules whose batch is empty at the checkpoint


def preflight(url: str, rules: list[Rule], checkpoint: dt.date) -> Preflight:
    """What GX cannot be asked: a missing relation fails a whole GX checkpoint, and GX
    cannot build a partitioned batch from zero rows. A native expectation on an empty
    batch has nothing to object to, so it passes (observed "0 rows at the checkpoint"),
    as GX itself reports an empty whole-table batch."""
    from psycopg import sql

    cannot_run: dict[str, str] = {}
    no_rows: set[str] = set()
    emptiness: dict[str, bool] = {}
    with connect(url, autocommit=True) as conn:
        for rule in rules:
            found = conn.execute(
                """
                select exists (
                           select 1 from information_schema.tables
                           where table_schema = %s and table_name = %s),
                       exists (
                           select 1 from information_schema.columns
                           where table_schema = %s and table_name = %s
                             and column_name = 'checkpoint_date')
                """,
                (rule.schema, rule.table, rule.schema, rule.table),
            ).fetchone()
            assert found is not None
            if not found[0]:
                cannot_run[rule.id] = (
                    f"关系 {rule.relation} 不存在 / relation {rule.relation} does not exist"
                )
                continue
            if rule.batch == "checkpoint" and not found[1]:
                cannot_run[rule.id] = (
                    f"{rule.relation} 没有 checkpoint_date 列 / has no checkpoint_date column"
                )
                continue
            if rule.batch_definition == "checkpoint":
                if rule.relation not in emptiness:
                    row = conn.execute(
                        sql.SQL(
                            "select not exists (select 1 from {} where checkpoint_date = %s)"
                        ).format(sql.Identifier(rule.schema, rule.table)),
                        (checkpoint,),
                    ).fetchone()
                    emptiness[rule.relation] = bool(row and row[0])
                if emptiness[rule.relation]:
                    no_rows.add(rule.id)
    return Preflight(cannot_run, no_rows)


def _number(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


def describe(rule: Rule, success: bool, result: dict[str, Any], error: str | None) -> str:
    """The observed value, in words both readers understand."""
    if error:
        return f"规则无法执行 / the rule could not run: {error}"
    if rule.query is not None:
        count = _number(result.get("observed_value"))
        if count is None:
            return json.dumps(result, ensure_ascii=False, default=str)[:500]
        return f"{count} 行问题数据 / {count} offending row(s)"
    unexpected = _number(result.get("unexpected_count"))
    total = _number(result.get("element_count"))
    if unexpected is None:
        return json.dumps(result, ensure_ascii=False, default=str)[:500]
    text = f"{unexpected} 行不符合 / {unexpected} row(s) fail"
    if total:
        share = Decimal(100 * unexpected) / Decimal(total)
        text = (
            f"{total} 行中 {unexpected} 行不符合（{share:.2f}%）/ "
            f"{unexpected} of {total} rows fail ({share:.2f}%)"
        )
    counts = result.get("partial_unexpected_counts") or []
    if counts and rule.expectation_type != "expect_compound_columns_to_be_unique":
        values = "，".join(f"{c.get('value')!s}×{c.get('count')}" for c in counts[:SAMPLE_ROWS])
        text += f"；样例值 / values: {values}"
    return text


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def sample_rows(url: str, sql_text: str, limit: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """The first rows of the offending-rows SQL (for alerts and reports)."""
    from psycopg.rows import dict_row

    with connect(url) as conn:
        # a sample is a courtesy: never let it hang the gate
        conn.execute("set local statement_timeout = '60s'")
        cursor = conn.cursor(row_factory=dict_row)
        rows = cursor.execute(
            f"select * from ({sql_text}) as offending limit {int(limit)}"  # noqa: S608 - catalogue SQL
        ).fetchall()
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def run_gate(
    gate: str,
    *,
    warehouse_url: str,
    checkpoint: dt.date,
    run_id: str,
    settings: Settings,
) -> GateOutcome:
    """Validate every rule of ``gate`` for ``checkpoint``; record, report, return the outcome."""
    from budgetperf.quality import gxproject, report, rowcounts

    rules = gate_rules(settings, gate)
    if gate == "marts":
        rowcounts.record_row_counts(warehouse_url, checkpoint, run_id)
    checks = preflight(warehouse_url, rules, checkpoint)
    cannot_run = checks.cannot_run
    runnable = [r for r in rules if r.id not in cannot_run and r.id not in checks.no_rows]
    docs: dict[str, Path] = {}
    with gxproject.gx_lock(settings), gxproject.quiet_gx():
        import great_expectations  # noqa: F401 - imported here, quietly, on purpose

        context = gxproject.open_context(settings, warehouse_url)
        validation = gxproject.validate(
            context, runnable, gate=gate, checkpoint=checkpoint, run_id=run_id
        )
        gxproject.prune_history(settings)
        docs = gxproject.build_offline_data_docs(context, validation)

    lost = [v for v in validation.verdicts.values() if v.error and is_transient(v.error)]
    if lost:
        raise GateUnavailable(
            f"数据仓库连接中断，{gate} 闸门未能完成（{len(lost)} 条规则），将重试 / the warehouse "
            f"was unreachable during the {gate} gate ({len(lost)} rule(s)); the task is "
            f"retried. First error: {lost[0].error}"
        )

    results: list[RuleResult] = []
    for rule in rules:
        sql_text = rule.offending_rows_sql(checkpoint)
        verdict = validation.verdicts.get(rule.id)
        if rule.id in checks.no_rows:
            results.append(
                RuleResult(
                    rule,
                    True,
                    "本检查点无数据（0 行）/ no rows at this checkpoint",
                    unexpected_count=0,
                    element_count=0,
                    sql=sql_text,
                )
            )
            continue
        if rule.id in cannot_run or verdict is None:
            error = cannot_run.get(rule.id, "GX 未返回结果 / GX returned no result")
            results.append(
                RuleResult(rule, False, describe(rule, False, {}, error), error=error, sql=sql_text)
            )
            continue
        result = RuleResult(
            rule,
            verdict.success,
            describe(rule, verdict.success, verdict.result, verdict.error),
            unexpected_count=_number(
                verdict.result.get("unexpected_count", verdict.result.get("observed_value"))
            ),
            element_count=_number(verdict.result.get("element_count")),
            error=verdict.error,
            sql=sql_text,
        )
        if not result.success and not result.error:
            try:
                result.sample = sample_rows(warehouse_url, sql_text)
            except Exception as exc:  # the verdict stands; only the illustration is missing
                log.warning("sample rows of %s could not be read: %s", rule.id, exc)
        results.append(result)

    outcome = GateOutcome(
        gate,
        checkpoint,
        run_id,
        results,
        data_docs=docs.get("index"),
        data_docs_pages=[path for name, path in sorted(docs.items()) if name != "index"],
        checked_at=dt.datetime.now(dt.UTC),
    )
    record_results(warehouse_url, outcome)
    outcome.report = report.write_gate_report(outcome, settings, data_docs_pages=docs)
    if gate == "marts" and outcome.passed:
        rowcounts.mark_baseline(
            warehouse_url,
            checkpoint,
            run_id,
            by=rowcounts.BASELINE_BY_GATE,
            reason="数据集市质量闸门通过 / the marts gate passed",
        )
    return outcome


def record_results(warehouse_url: str, outcome: GateOutcome) -> None:
    """One ops.dq_results row per rule, in one transaction (one checked_at per gate run)."""
    with connect(warehouse_url) as conn, conn.cursor() as cursor:
        cursor.executemany(
            """
            insert into ops.dq_results
                (run_id, checkpoint_date, gate, rule_id, severity, success, observed, details)
            values (%s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (
                    outcome.run_id,
                    outcome.checkpoint,
                    outcome.gate,
                    result.rule.id,
                    result.rule.severity,
                    result.success,
                    result.observed,
                    json.dumps(result.details(), ensure_ascii=False, default=str),
                )
                for result in outcome.results
            ],
        )
