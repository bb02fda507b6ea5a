"""The rule catalogue (expectations/rules.yml): the one place that lists every quality rule.

Each rule names the relation GX validates, which batch of it (the run's checkpoint or the
whole relation), its severity, owner, texts for people, and its check: a GX expectation
type with kwargs, or a SQL query returning the offending rows. Loading validates all of
it, so a malformed catalogue fails the first gate run (and the catalogue tests) with the
rule id and the field, instead of producing a suite that silently checks nothing.

This module never imports Great Expectations: the DAG file and the CLI import it cheaply.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from string import Formatter
from typing import Any

import yaml

SEVERITIES = ("fatal", "warning")
GATES = ("raw", "marts")
BATCHES = ("checkpoint", "all")
CATEGORIES = (
    "key",
    "required",
    "reference",
    "range",
    "integrity",
    "completeness",
    "rejects",
    "manifest",
    "reconciliation",
    "bounds",
    "grade",
    "proposal",
    "coverage",
    "row_count",
)
# The expectation types a rule may use: each has an equivalent SQL that lists the rows it
# finds unexpected (for the alert's samples and "see the rows" query). GX leaves nulls out
# of column map expectations, and so do the predicates below.
EXPECTATION_TYPES = (
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
    "expect_column_values_to_not_be_null",
)
REQUIRED_TEXT = (
    "id",
    "gate",
    "category",
    "relation",
    "severity",
    "owner",
    "description_zh",
    "description_en",
    "fix_zh",
)
_IDENTIFIER = r"[a-z_][a-z0-9_]*"
_RELATION = re.compile(rf"^{_IDENTIFIER}\.{_IDENTIFIER}$")
_COLUMN = re.compile(rf"^{_IDENTIFIER}$")
# the documented shape: GX substitutes {batch} by an aliased subquery, read through a CTE
_BATCH_CTE = re.compile(r"^\s*with\s+batch\s+as\s*\(\s*select\s+\*\s+from\s+\{batch\}\s*\)", re.I)
# SQLAlchemy's text() would take ":name" for a bind parameter ("::" casts are fine)
_BIND_LIKE = re.compile(r"(?<![:\w]):[A-Za-z_]")
DEFAULT_CATALOGUE = "rules.yml"


class CatalogueError(ValueError):
    """rules.yml is malformed; the message names the rule and the field."""


@dataclass(frozen=True)
class Rule:
    id: str
    gate: str
    category: str
    relation: str  # schema.table
    severity: str
    owner: str
    description_zh: str
    description_en: str
    fix_zh: str
    fix_en: str = ""
    batch: str = "checkpoint"
    expectation_type: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    query: str | None = None  # with params substituted; {batch} left for GX
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return self.relation.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.relation.split(".", 1)[1]

    @property
    def is_fatal(self) -> bool:
        return self.severity == "fatal"

    @property
    def severity_zh(self) -> str:
        return "致命" if self.is_fatal else "警告"

    @property
    def check_kind(self) -> str:
        return "query" if self.query is not None else "expectation"

    @property
    def batch_definition(self) -> str:
        """The GX batch definition the rule runs on.

        Native expectations of a checkpoint rule run on the ``checkpoint`` batch (a daily
        partition on checkpoint_date). Query rules always run on the whole relation
        (``all``) and filter the checkpoint inside their batch CTE: GX cannot build a
        partitioned batch from zero rows, and a query rule must still run when the
        checkpoint has none (e.g. "every project has a progress row" on empty marts).
        """
        if self.query is None and self.batch == "checkpoint":
            return "checkpoint"
        return "all"

    def gx_query(self, checkpoint: dt.date) -> str:
        """The query GX runs: the catalogue's, restricted to the checkpoint when it should be."""
        assert self.query is not None
        if self.batch != "checkpoint":
            return self.query
        # the only value added is a date we format ourselves
        return _BATCH_CTE.sub(
            "with batch as (select * from {batch}"  # noqa: S608
            f" where checkpoint_date = date '{checkpoint.isoformat()}')",
            self.query,
            count=1,
        )

    def batch_filter(self, checkpoint: dt.date) -> str:
        """The relation restricted to the rule's batch, as SQL (``schema.table where ...``)."""
        if self.batch == "checkpoint":
            return f"{self.relation} where checkpoint_date = date '{checkpoint.isoformat()}'"
        return self.relation

    def offending_rows_sql(self, checkpoint: dt.date) -> str:
        """SQL a data engineer can paste into psql to see every row the rule objects to."""
        if self.query is not None:
            return self.query.replace("{batch}", self.batch_filter(checkpoint)).strip()
        return _expectation_sql(self, checkpoint)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _expectation_sql(rule: Rule, checkpoint: dt.date) -> str:
    kwargs = rule.kwargs
    where = (
        f"checkpoint_date = date '{checkpoint.isoformat()}' and "
        if rule.batch == "checkpoint"
        else ""
    )
    source = rule.relation
    kind = rule.expectation_type
    if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        columns = kwargs.get("column_list") or [kwargs["column"]]
        listed = ", ".join(columns)
        not_null = " and ".join(f"{c} is not null" for c in columns)
        return (
            f"select {listed}, count(*) as rows_with_this_key\nfrom {source}\n"
            f"where {where}{not_null}\ngroup by {listed}\nhaving count(*) > 1\n"
            f"order by {listed}"
        )
    column = kwargs["column"]
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(_literal(v) for v in kwargs["value_set"])
        predicate = f"{column} is not null and {column} not in ({values})"
    elif kind == "expect_column_values_to_not_be_in_set":
        values = ", ".join(_literal(v) for v in kwargs["value_set"])
        predicate = f"{column} in ({values})"
    elif kind == "expect_column_values_to_not_be_null":
        predicate = f"{column} is null"
    elif kind == "expect_column_values_to_be_between":
        bounds = []
        if kwargs.get("min_value") is not None:
            op = "<=" if kwargs.get("strict_min") else "<"
            bounds.append(f"{column} {op} {_literal(kwargs['min_value'])}")
        if kwargs.get("max_value") is not None:
            op = ">=" if kwargs.get("strict_max") else ">"
            bounds.append(f"{column} {op} {_literal(kwargs['max_value'])}")
        predicate = f"{column} is not null and ({' or '.join(bounds)})"
    else:  # pragma: no cover - load_catalogue refuses other types
        raise CatalogueError(f"rule {rule.id}: no SQL for {kind}")
    if rule.schema == "raw":
        # raw rows carry their load and line: say which file and line to look at
        predicate = re.sub(rf"\b{column}\b", f"b.{column}", predicate)
        where = where.replace("checkpoint_date", "b.checkpoint_date")
        return (
            f"select l.file_path, b.line_no, b.{column}, b.*\nfrom {source} as b\n"
            f"left join ops.loads as l on l.load_id = b.load_id\nwhere {where}{predicate}"
        )
    return f"select {column}, *\nfrom {source}\nwhere {where}{predicate}"


def _fail(path: Path, rule_id: str, message: str) -> CatalogueError:
    return CatalogueError(f"{path}: rule {rule_id}: {message}")


def _check_expectation(path: Path, rule_id: str, kind: Any, kwargs: dict[str, Any]) -> None:
    if kind not in EXPECTATION_TYPES:
        raise _fail(
            path, rule_id, f"expectation type {kind!r} is not one of {', '.join(EXPECTATION_TYPES)}"
        )
    if kind == "expect_compound_columns_to_be_unique":
        columns = kwargs.get("column_list")
        if not isinstance(columns, list) or not columns:
            raise _fail(path, rule_id, f"{kind} needs kwargs.column_list")
    else:
        columns = [kwargs.get("column")]
    for column in columns:
        if not isinstance(column, str) or not _COLUMN.match(column):
            raise _fail(path, rule_id, f"column {column!r} is not a plain lower-case name")
    if "set" in kind and not isinstance(kwargs.get("value_set"), list):
        raise _fail(path, rule_id, f"{kind} needs kwargs.value_set (a list)")
    if kind == "expect_column_values_to_be_between" and (
        kwargs.get("min_value") is None and kwargs.get("max_value") is None
    ):
        raise _fail(path, rule_id, f"{kind} needs min_value or max_value")


def _substitute(path: Path, rule_id: str, query: str, params: dict[str, Any]) -> str:
    for name, value in params.items():
        if not _COLUMN.match(str(name)):
            raise _fail(path, rule_id, f"param name {name!r} is not a plain name")
        if not isinstance(value, (int, float, str, Decimal)) or isinstance(value, bool):
            raise _fail(path, rule_id, f"param {name} must be a number or a string")
        query = query.replace("{" + str(name) + "}", _literal(value))
    try:
        fields = {f[1] for f in Formatter().parse(query) if f[1] is not None}
    except ValueError as exc:
        raise _fail(path, rule_id, f"query has an unpaired brace ({exc})") from None
    unknown = fields - {"batch"}
    if unknown:
        raise _fail(path, rule_id, f"query uses {sorted(unknown)} but params do not define them")
    if "batch" not in fields or not _BATCH_CTE.match(query):
        raise _fail(
            path,
            rule_id,
            "query must start with `with batch as (select * from {batch})` "
            "(GX replaces {batch} by an aliased subquery)",
        )
    if _BIND_LIKE.search(query):
        raise _fail(path, rule_id, "query contains `:name`, which SQLAlchemy reads as a bind")
    if query.rstrip().endswith(";"):
        raise _fail(path, rule_id, "query must not end with `;`")
    return query


def load_catalogue(path: Path) -> list[Rule]:
    """Read and validate the catalogue; raise CatalogueError naming the rule and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise CatalogueError(f"{path}: needs a top-level `rules:` list")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["rules"]):
        if not isinstance(raw, dict):
            raise CatalogueError(f"{path}: rule #{index + 1} is not a mapping")
        rule_id = str(raw.get("id") or f"#{index + 1}")
        for key in REQUIRED_TEXT:
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise _fail(path, rule_id, f"has no {key}")
        if rule_id in seen:
            raise CatalogueError(f"{path}: rule id {rule_id} is used twice")
        seen.add(rule_id)
        if raw["severity"] not in SEVERITIES:
            raise _fail(path, rule_id, "severity must be fatal or warning")
        if raw["gate"] not in GATES:
            raise _fail(path, rule_id, "gate must be raw or marts")
        if raw["category"] not in CATEGORIES:
            raise _fail(path, rule_id, f"category must be one of {', '.join(CATEGORIES)}")
        if not _RELATION.match(raw["relation"]):
            raise _fail(path, rule_id, "relation must be schema.table (lower case)")
        batch = raw.get("batch", "checkpoint")
        if batch not in BATCHES:
            raise _fail(path, rule_id, "batch must be checkpoint or all")
        unknown_keys = set(raw) - {
            *REQUIRED_TEXT,
            "fix_en",
            "batch",
            "expectation",
            "query",
            "params",
        }
        if unknown_keys:
            raise _fail(path, rule_id, f"unknown field(s) {sorted(unknown_keys)}")
        expectation = raw.get("expectation") or {}
        query = raw.get("query")
        if bool(expectation) == bool(query):
            raise _fail(path, rule_id, "needs exactly one of expectation, query")
        params = dict(raw.get("params") or {})
        kwargs: dict[str, Any] = {}
        if expectation:
            if not isinstance(expectation, dict):
                raise _fail(path, rule_id, "expectation must be a mapping with type and kwargs")
            kwargs = dict(expectation.get("kwargs") or {})
            _check_expectation(path, rule_id, expectation.get("type"), kwargs)
            if params:
                raise _fail(path, rule_id, "params only apply to query rules")
        else:
            query = _substitute(path, rule_id, str(query), params)
        rules.append(
            Rule(
                id=rule_id,
                gate=raw["gate"],
                category=raw["category"],
                relation=raw["relation"],
                severity=raw["severity"],
                owner=raw["owner"],
                description_zh=raw["description_zh"].strip(),
                description_en=raw["description_en"].strip(),
                fix_zh=raw["fix_zh"].strip(),
                fix_en=str(raw.get("fix_en") or "").strip(),
                batch=batch,
                expectation_type=expectation.get("type") if expectation else None,
                kwargs=kwargs,
                query=query.strip() if query else None,
                params=params,
            )
        )
    return rules


def catalogue_path(expectations_dir: Path) -> Path:
    return expectations_dir / DEFAULT_CATALOGUE


def reference_values(path: Path) -> dict[str, list[str]]:
    """The `reference_values` block of the catalogue (codes of DOMAIN.md)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        str(k): [str(v) for v in values]
        for k, values in (data.get("reference_values") or {}).items()
    }
