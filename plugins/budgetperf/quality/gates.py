"""Write-audit-publish gates: run the catalogue's rules of one gate with Great Expectations.

Every check runs as SQL in the warehouse (a PostgreSQL datasource with table assets; a
relation with a checkpoint_date column is validated on the batch of the run's
checkpoint). Suites are built from the catalogue at each run. Every rule's outcome is
stored in ops.dq_results; fatal failures make the gate fail, warnings are reported.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from budgetperf.quality.catalogue import Rule, load_catalogue
from budgetperf.settings import Settings
from budgetperf.warehouse import connect

log = logging.getLogger(__name__)

DATASOURCE = "warehouse"
GX_DSN_VARIABLE = "BUDGETPERF_GX_DSN"
SAMPLE_ROWS = 5


@dataclass
class RuleResult:
    rule: Rule
    success: bool
    observed: str
    sample: list[Any] = field(default_factory=list)

    def line(self) -> str:
        state = "通过" if self.success else ("未通过" if self.rule.severity == "fatal" else "警告")
        return (
            f"[{self.rule.id}] {state}：{self.rule.description_zh} / {self.rule.description_en}"
            f"（观测值 {self.observed}）"
        )


@dataclass
class GateOutcome:
    gate: str
    checkpoint: dt.date
    run_id: str
    results: list[RuleResult]
    data_docs: Path | None = None

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.success and r.rule.severity == "fatal"]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.success and r.rule.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.failures

    def one_line(self) -> str:
        return (
            f"{self.gate} gate for {self.checkpoint}: {len(self.results)} rules, "
            f"{len(self.failures)} fatal failure(s), {len(self.warnings)} warning(s)"
            + (f"; Data Docs {self.data_docs}" if self.data_docs else "")
        )

    def failure_message(self) -> str:
        lines = [f"{self.gate} gate failed for checkpoint {self.checkpoint}:"]
        lines += ["  " + r.line() + f" → {r.rule.fix_zh}" for r in self.failures]
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "checkpoint": self.checkpoint.isoformat(),
            "rules": len(self.results),
            "failures": [r.rule.id for r in self.failures],
            "warnings": [r.rule.id for r in self.warnings],
            "data_docs": str(self.data_docs) if self.data_docs else None,
        }


def _quiet_gx() -> None:
    # about 200 "Skipping registering function" lines at import otherwise (STACK_NOTES.md)
    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _sqlalchemy_url(warehouse_url: str) -> str:
    scheme, rest = warehouse_url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else warehouse_url


def _has_checkpoint_column(warehouse_url: str, schema: str, table: str) -> bool:
    with connect(warehouse_url, autocommit=True) as conn:
        row = conn.execute(
            """
            select 1 from information_schema.columns
            where table_schema = %s and table_name = %s and column_name = 'checkpoint_date'
            """,
            (schema, table),
        ).fetchone()
    return row is not None


def _expectation(rule: Rule) -> Any:
    import great_expectations.expectations as gxe
    from great_expectations.expectations.registry import get_expectation_impl

    meta = {"rule_id": rule.id, "severity": rule.severity}
    if rule.query is not None:
        return gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=rule.query,
            description=f"{rule.id} {rule.description_zh}",
            meta=meta,
        )
    assert rule.expectation_type is not None
    implementation = get_expectation_impl(rule.expectation_type)
    return implementation(**rule.kwargs, meta=meta)


def _observed(result: Any) -> tuple[str, list[Any]]:
    details = result.result or {}
    for info in (result.exception_info or {}).values():
        if isinstance(info, dict) and info.get("raised_exception"):
            return "error: " + str(info.get("exception_message"))[:500], []
    if "unexpected_count" in details:
        sample = details.get("partial_unexpected_list") or []
        return str(details["unexpected_count"]), list(sample)[:SAMPLE_ROWS]
    if "observed_value" in details:
        rows = (
            details.get("details", {}).get("unexpected_rows")
            or details.get("unexpected_rows")
            or []
        )
        return str(details["observed_value"]), [_jsonable(r) for r in list(rows)[:SAMPLE_ROWS]]
    return json.dumps(details, default=str)[:500], []


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def run_gate(
    gate: str,
    *,
    warehouse_url: str,
    checkpoint: dt.date,
    run_id: str,
    settings: Settings,
) -> GateOutcome:
    """Validate every rule of ``gate`` for ``checkpoint``; record and return the outcome."""
    _quiet_gx()
    import great_expectations as gx

    rules = [r for r in load_catalogue(settings.expectations_dir / "rules.yml") if r.gate == gate]
    os.environ[GX_DSN_VARIABLE] = _sqlalchemy_url(warehouse_url)
    context = gx.get_context(mode="file", project_root_dir=str(settings.expectations_dir))
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError):
        datasource = context.data_sources.add_postgres(
            DATASOURCE, connection_string="${" + GX_DSN_VARIABLE + "}"
        )

    results: list[RuleResult] = []
    by_relation: dict[str, list[Rule]] = {}
    for rule in rules:
        by_relation.setdefault(rule.relation, []).append(rule)
    batch_parameters = {"year": checkpoint.year, "month": checkpoint.month, "day": checkpoint.day}
    for relation, relation_rules in by_relation.items():
        schema, table = relation.split(".", 1)
        asset_name = relation
        try:
            asset = datasource.get_asset(asset_name)
        except LookupError:
            asset = datasource.add_table_asset(  # type: ignore[attr-defined]
                asset_name, table_name=table, schema_name=schema
            )
        per_checkpoint = _has_checkpoint_column(warehouse_url, schema, table)
        batch_name = "by_checkpoint" if per_checkpoint else "whole"
        try:
            batch_definition = asset.get_batch_definition(batch_name)
        except KeyError:
            batch_definition = (
                asset.add_batch_definition_daily(batch_name, column="checkpoint_date")
                if per_checkpoint
                else asset.add_batch_definition_whole_table(batch_name)
            )
        suite = gx.ExpectationSuite(name=f"{gate}.{relation}")
        for rule in relation_rules:
            suite.add_expectation(_expectation(rule))
        suite = context.suites.add_or_update(suite)
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=f"{gate}.{relation}", data=batch_definition, suite=suite)
        )
        validation = definition.run(
            batch_parameters=batch_parameters if per_checkpoint else None,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_ROWS},
        )
        by_id = {r.id: r for r in relation_rules}
        for expectation_result in validation.results:
            config = expectation_result.expectation_config
            assert config is not None and config.meta is not None
            rule_id = config.meta["rule_id"]
            observed, sample = _observed(expectation_result)
            results.append(
                RuleResult(by_id[rule_id], bool(expectation_result.success), observed, sample)
            )

    docs = _build_data_docs(context)
    outcome = GateOutcome(gate, checkpoint, run_id, results, docs)
    record_results(warehouse_url, outcome)
    return outcome


def _build_data_docs(context: Any) -> Path | None:
    try:
        sites = context.build_data_docs()
    except Exception as exc:
        log.warning("Data Docs could not be built: %s", exc)
        return None
    url = next(iter(sites.values()), None)
    return Path(url.removeprefix("file://")) if url else None


def record_results(warehouse_url: str, outcome: GateOutcome) -> None:
    with connect(warehouse_url) as conn:
        for result in outcome.results:
            conn.execute(
                """
                insert into ops.dq_results
                    (run_id, checkpoint_date, gate, rule_id, severity, success, observed, details)
                values (%s, %s, %s, %s, %s, %s, %s, %s)
                """,
                (
                    outcome.run_id,
                    outcome.checkpoint,
                    outcome.gate,
                    result.rule.id,
                    result.rule.severity,
                    result.success,
                    result.observed,
                    json.dumps({"sample": result.sample}, ensure_ascii=False, default=str),
                ),
            )
