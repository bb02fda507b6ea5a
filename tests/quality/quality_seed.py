"""Test data for the quality gates, written straight into the warehouse with SQL.

The loader refuses bad rows (a duplicate key, an unknown code, a payment of an unknown
project never reach raw.*), so the only way to put many faults in front of the gates at
once is to write ops.loads / ops.load_fiscal_years / raw.* / ops.checkpoint_runs
directly, as the loader would have written them. The gates must still catch such rows:
they are the second line of defence (a loader bug, a hand-edited table, an old load).

The clean world: fiscal year 2021 of a small county, two checkpoints (06-30 and the
year-end 12-31), deliveries as of 2021-06-30 and 2021-12-31. In the same database, fiscal
year 2022 up to its 06-30 point carries one case of each warning rule (one dbt build for
both: the 2022 loads are not in effect at the 2021 points).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg

JUNE = dt.date(2021, 6, 30)
YEAR_END = dt.date(2021, 12, 31)

COLUMNS = {
    "departments": ("department_code", "department_name", "kind", "sector", "contact_email"),
    "projects": (
        "fiscal_year",
        "project_code",
        "department_code",
        "project_name",
        "budget_type",
        "fund_source",
        "category",
        "is_new",
        "budget_amount_yuan",
        "is_monitored",
        "is_ppp",
        "is_debt",
    ),
    "performance_targets": (
        "fiscal_year",
        "project_code",
        "indicator_code",
        "level1",
        "level2",
        "indicator_name",
        "comparator",
        "target_value",
        "unit",
        "weight",
        "declared_on",
        "is_published",
    ),
    "pre_assessments": (
        "project_code",
        "fiscal_year",
        "assessed_on",
        "necessity",
        "economy",
        "target_rationality",
        "feasibility",
        "compliance",
        "conclusion",
    ),
    "budget_execution": (
        "record_id",
        "fiscal_year",
        "project_code",
        "payment_date",
        "amount_yuan",
        "voucher_no",
        "payee",
    ),
    "indicator_actuals": (
        "fiscal_year",
        "project_code",
        "indicator_code",
        "as_of",
        "actual_value",
    ),
    "evaluations": (
        "fiscal_year",
        "subject_type",
        "subject_code",
        "evaluator",
        "score",
        "grade",
        "evaluated_on",
        "report_quality_score",
    ),
    "budget_requests": (
        "budget_year",
        "project_code",
        "department_code",
        "requested_yuan",
        "prior_project_code",
    ),
}


def add_load(
    conn: psycopg.Connection,
    entity: str,
    as_of: dt.date,
    years: Sequence[int],
    *,
    status: str = "loaded",
    rows_rejected: int = 0,
    reason: str | None = None,
) -> int:
    """One ops.loads row (and its fiscal years when it holds valid rows)."""
    row = conn.execute(
        """
        insert into ops.loads (entity, as_of, file_path, file_format, sha256, bytes,
                               rows_read, rows_loaded, rows_rejected, status, reason,
                               finished_at)
        values (%s, %s, %s, 'csv', md5(random()::text), 100, 0, 0, %s, %s, %s, now())
        returning load_id
        """,
        (entity, as_of, f"{as_of:%Y%m%d}/{entity}.csv", rows_rejected, status, reason),
    ).fetchone()
    assert row is not None
    load_id = int(row[0])
    for year in years:
        conn.execute(
            "insert into ops.load_fiscal_years (load_id, fiscal_year, rows_loaded)"
            " values (%s, %s, 1)",
            (load_id, year),
        )
    return load_id


def insert(conn: psycopg.Connection, entity: str, load_id: int, rows: Sequence[tuple]) -> None:
    """Rows of raw.<entity> for one load, in COLUMNS order; line numbers continue."""
    start = conn.execute(
        f"select coalesce(max(line_no), 1) from raw.{entity} where load_id = %s", (load_id,)
    ).fetchone()
    first = int(start[0]) + 1 if start else 2
    columns = ", ".join(("load_id", "line_no", *COLUMNS[entity]))
    marks = ", ".join(["%s"] * (2 + len(COLUMNS[entity])))
    with conn.cursor() as cursor:
        cursor.executemany(
            f"insert into raw.{entity} ({columns}) values ({marks})",
            [(load_id, first + i, *row) for i, row in enumerate(rows)],
        )


def load_of(conn: psycopg.Connection, entity: str, as_of: dt.date) -> int:
    """The (latest) load of an entity delivered as of a date."""
    row = conn.execute(
        "select max(load_id) from ops.loads where entity = %s and as_of = %s", (entity, as_of)
    ).fetchone()
    assert row is not None and row[0] is not None, (entity, as_of)
    return int(row[0])


DEPARTMENTS = [
    ("001", "平罗县教育体育局", "department", "教育", "jiaoyu@pingluo.example"),
    ("002", "姚伏镇人民政府", "township", "乡镇", "yaofu@pingluo.example"),
    ("003", "平罗县卫生健康局", "department", "卫生", "weijian@pingluo.example"),
]


def _project(
    code: str,
    dept: str,
    budget: int,
    budget_type: str,
    fund: str,
    category: str,
    *,
    new: bool = False,
    monitored: bool = False,
    year: int = 2021,
    name: str | None = None,
) -> tuple:
    return (
        year,
        code,
        dept,
        name if name is not None else f"项目{code}",
        budget_type,
        fund,
        category,
        new,
        budget,
        monitored,
        False,
        False,
    )


PROJECTS_2021 = [
    _project(
        "P001", "001", 100000, "general_public", "county", "education", new=True, monitored=True
    ),
    _project(
        "P002", "001", 200000, "government_fund", "central_transfer", "education", monitored=True
    ),
    _project("P003", "002", 0, "general_public", "county", "agriculture_forestry_water", new=True),
    _project("P004", "002", 50000, "social_insurance", "region_transfer", "social_security"),
    _project("P005", "003", 80000, "state_capital", "county", "other", monitored=True),
]


def _target(
    project: str,
    indicator: str,
    level1: str,
    level2: str | None,
    comparator: str,
    target: float | None,
    weight: int,
    year: int = 2021,
) -> tuple:
    return (
        year,
        project,
        indicator,
        level1,
        level2,
        f"指标{project}{indicator}",
        comparator,
        target,
        None,
        weight,
        dt.date(2021, 1, 10),
        True,
    )


TARGETS_2021 = [
    _target("P001", "I01", "output", "quantity", ">=", 100, 50),
    _target("P001", "I02", "satisfaction", None, "qualitative", None, 50),
    _target("P002", "I01", "output", "cost", "<=", 1000, 100),
    _target("P004", "I01", "benefit", "social", "=", 10, 100),
    _target("P005", "I01", "output", "timeliness", ">=", 12, 60),
    _target("P005", "I02", "benefit", "economic", ">=", 5, 40),
]

PRE_ASSESSMENTS_2021 = [
    ("P001", 2021, dt.date(2020, 10, 15), 18, 17, 16, 19, 15, "support"),
    ("P003", 2021, dt.date(2020, 10, 20), 15, 14, 12, 16, 13, "support_after_adjustment"),
]


def _pay(record: str, project: str, day: dt.date, amount: int) -> tuple:
    return (record, 2021, project, day, amount, f"V{record}", "收款单位")


PAYMENTS_JUNE = [
    _pay("R0001", "P001", dt.date(2021, 3, 1), 30000),
    _pay("R0002", "P002", dt.date(2021, 5, 1), 100000),
    _pay("R0003", "P004", dt.date(2021, 6, 1), 5000),
    _pay("R0004", "P002", dt.date(2021, 6, 15), -2000),  # a reversal
    _pay("R0005", "P005", dt.date(2021, 4, 10), 20000),
]
PAYMENTS_YEAR_END = [
    *PAYMENTS_JUNE,
    _pay("R0006", "P001", dt.date(2021, 9, 1), 50000),
    _pay("R0007", "P004", dt.date(2021, 11, 1), 40000),
    _pay("R0008", "P005", dt.date(2021, 12, 20), 55000),
    _pay("R0009", "P002", dt.date(2021, 10, 10), 90000),
]

ACTUALS_JUNE = [
    (2021, "P001", "I01", JUNE, 40),
    (2021, "P001", "I02", JUNE, 0.9),
    (2021, "P002", "I01", JUNE, 1100),
    (2021, "P005", "I01", JUNE, 6),
]
ACTUALS_YEAR_END = [
    *ACTUALS_JUNE,
    (2021, "P001", "I01", YEAR_END, 105),
    (2021, "P002", "I01", YEAR_END, 950),
    (2021, "P004", "I01", YEAR_END, 10),
    (2021, "P005", "I01", YEAR_END, 12),
    (2021, "P005", "I02", YEAR_END, 5),
]

EVALUATIONS_2021 = [
    (2021, "project", "P001", "self", 92.5, "excellent", dt.date(2021, 12, 20), None),
    (2021, "project", "P002", "finance", 85, "good", dt.date(2021, 12, 22), 90),
    (2021, "project", "P004", "third_party", 72, "fair", dt.date(2021, 12, 25), 85),
    (2021, "department", "001", "finance", 88, "good", dt.date(2021, 12, 28), None),
    (2021, "department", "002", "self", 55.3, "poor", dt.date(2021, 12, 28), None),
]

REQUESTS_2022 = [
    (2022, "Q001", "001", 110000, "P001"),
    (2022, "Q002", "002", 60000, "P004"),
    (2022, "Q003", "003", 30000, None),
]


def seed_clean(url: str) -> None:
    """The clean world of fiscal year 2021 and its two checkpoints."""
    with psycopg.connect(url) as conn:

        def load(entity: str, as_of: dt.date, years: Sequence[int], rows: list[Any]) -> None:
            load_id = add_load(conn, entity, as_of, years)
            insert(conn, entity, load_id, rows)

        load("departments", JUNE, [0], DEPARTMENTS)
        load("projects", JUNE, [2021], PROJECTS_2021)
        load("performance_targets", JUNE, [2021], TARGETS_2021)
        load("pre_assessments", JUNE, [2021], PRE_ASSESSMENTS_2021)
        load("budget_execution", JUNE, [2021], PAYMENTS_JUNE)
        load("indicator_actuals", JUNE, [2021], ACTUALS_JUNE)
        load("budget_execution", YEAR_END, [2021], PAYMENTS_YEAR_END)
        load("indicator_actuals", YEAR_END, [2021], ACTUALS_YEAR_END)
        load("evaluations", YEAR_END, [2021], EVALUATIONS_2021)
        load("budget_requests", YEAR_END, [2022], REQUESTS_2022)
        for point in (JUNE, YEAR_END):
            conn.execute(
                "insert into ops.checkpoint_runs (checkpoint_date, fiscal_year, last_run_id)"
                " values (%s, %s, 'seed')",
                (point, point.year),
            )


def clone_database(server_url: str, source_url: str, name: str) -> str:
    """A copy of a test database (CREATE DATABASE ... TEMPLATE): seconds faster than
    seeding and building again."""
    from urllib.parse import urlsplit, urlunsplit

    source = urlsplit(source_url).path.lstrip("/")
    with psycopg.connect(server_url, autocommit=True) as conn:
        # a template must have no other sessions
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = %s and pid <> pg_backend_pid()",
            (source,),
        )
        conn.execute(f'create database "{name}" template "{source}"')
    return urlunsplit(urlsplit(source_url)._replace(path="/" + name))


# -- faults -----------------------------------------------------------------------------
# One injection per raw fatal rule, into the loads effective at the year-end point, so a
# single raw gate run at 2021-12-31 shows every rule failing. Each comment names the rule.


def inject_raw_faults(url: str) -> None:
    with psycopg.connect(url) as conn:
        deps = load_of(conn, "departments", JUNE)
        projects = load_of(conn, "projects", JUNE)
        targets = load_of(conn, "performance_targets", JUNE)
        pre = load_of(conn, "pre_assessments", JUNE)
        pay = load_of(conn, "budget_execution", YEAR_END)
        actuals = load_of(conn, "indicator_actuals", YEAR_END)
        evals = load_of(conn, "evaluations", YEAR_END)
        requests = load_of(conn, "budget_requests", YEAR_END)
        insert(conn, "departments", deps, [
            DEPARTMENTS[2],  # RAW-KEY-01 department 003 twice
            ("004", " ", "department", None, "x@pingluo.example"),  # RAW-REQ-01 blank name
            ("005", "某某局", "bureau", None, "y@pingluo.example"),  # RAW-REF-01 kind
        ])  # fmt: skip
        insert(conn, "projects", projects, [
            PROJECTS_2021[4],  # RAW-KEY-02 P005 twice
            # RAW-REQ-02: a blank project name
            _project("P006", "003", 1000, "general_public", "county", "other", name=""),
            _project("P007", "003", 1000, "special", "county", "other"),  # RAW-REF-02
            _project("P008", "003", 1000, "general_public", "city", "other"),  # RAW-REF-03
            _project("P009", "003", 1000, "general_public", "county", "military"),  # RAW-REF-04
            _project("P010", "003", -5, "general_public", "county", "other"),  # RAW-RNG-03
            _project("P011", "999", 1000, "general_public", "county", "other"),  # RAW-REF-INT-02
        ])  # fmt: skip
        insert(conn, "performance_targets", targets, [
            TARGETS_2021[2],  # RAW-KEY-03 P002 I01 twice
            _target("P004", "I02", "benefit", "social", ">=", None, 10),  # RAW-REQ-03 no target
            _target("P005", "I03", "impact", None, ">=", 1, 10),  # RAW-REF-05 level1
            _target("P005", "I04", "output", "speed", ">=", 1, 10),  # RAW-REF-06 level2
            _target("P005", "I05", "output", "quantity", ">", 1, 10),  # RAW-REF-07 comparator
            _target("P999", "I01", "output", "quantity", ">=", 1, 10),  # RAW-REF-INT-03
        ])  # fmt: skip
        insert(conn, "pre_assessments", pre, [
            PRE_ASSESSMENTS_2021[0],  # RAW-KEY-04 P001 twice
            (" ", 2021, dt.date(2020, 10, 1), 10, 10, 10, 10, 10, "support"),  # RAW-REQ-04
            ("P005", 2021, dt.date(2020, 10, 1), 10, 10, 10, 10, 10, "maybe"),  # RAW-REF-08
            ("P002", 2021, dt.date(2020, 10, 1), 25, 10, 10, 10, 10, "support"),  # RAW-RNG-06
        ])  # fmt: skip
        insert(conn, "budget_execution", pay, [
            PAYMENTS_YEAR_END[0],  # RAW-KEY-05 R0001 twice
            ("", 2021, "P001", dt.date(2021, 7, 1), 10, None, None),  # RAW-REQ-05
            ("R1001", 2021, "P001", dt.date(2022, 1, 5), 10, None, None),  # RAW-RNG-01
            ("R1002", 2021, "P001", dt.date(2021, 7, 2), 0, None, None),  # RAW-RNG-02
            ("R1003", 2021, "P999", dt.date(2021, 7, 3), 10, None, None),  # RAW-REF-INT-01
        ])  # fmt: skip
        insert(conn, "indicator_actuals", actuals, [
            ACTUALS_YEAR_END[5],  # RAW-KEY-06 P002 I01 12-31 twice
            (2021, "P001", "", YEAR_END, 1),  # RAW-REQ-06
            (2021, "P001", "I02", dt.date(2021, 11, 30), 85),  # RAW-RNG-07 qualitative 85
            (2021, "P002", "I09", YEAR_END, 1),  # RAW-REF-INT-04 undeclared indicator
        ])  # fmt: skip
        insert(conn, "evaluations", evals, [
            EVALUATIONS_2021[1],  # RAW-KEY-07 P002 finance twice
            (2021, "project", "", "self", 80, None, None, None),  # RAW-REQ-07
            (2021, "program", "P001", "finance", 80, None, None, None),  # RAW-REF-09
            (2021, "project", "P004", "auditor", 80, None, None, None),  # RAW-REF-10
            (2021, "project", "P005", "self", 70, "A", None, None),  # RAW-REF-11
            (2021, "department", "003", "third_party", 105, None, None, None),  # RAW-RNG-05
            (2021, "project", "P997", "self", 80, None, None, None),  # RAW-REF-INT-07
        ])  # fmt: skip
        insert(conn, "budget_requests", requests, [
            REQUESTS_2022[2],  # RAW-KEY-08 Q003 twice
            (2022, "Q004", "001", -100, None),  # RAW-RNG-04
            (2022, "Q005", "999", 100, None),  # RAW-REF-INT-05
            (2022, "Q006", "001", 100, "P998"),  # RAW-REF-INT-06
            (2022, "Q007", "", 100, None),  # RAW-REQ-08
        ])  # fmt: skip


# What identifies each fatal rule's own fault in its failure: a row of the rule's sample
# (column: value, as ops.dq_results.details.sample stores it) and how many rows the rule
# objects to in all. With every fault in one database, a broken rule could otherwise
# "fail" on another rule's row; a count above 1 names the other injected rows the rule
# rightly objects to as well. For a native GX expectation the injected value must also be
# among the values GX itself reports (the observed value), since its sample rows come from
# the catalogue's SQL, not from GX.
FAULT_SIGNATURES: dict[str, tuple[dict[str, Any], int]] = {
    "RAW-KEY-01": ({"department_code": "003", "rows_sharing_the_key": 2}, 1),
    "RAW-KEY-02": ({"fiscal_year": 2021, "project_code": "P005", "rows_sharing_the_key": 2}, 1),
    "RAW-KEY-03": ({"project_code": "P002", "indicator_code": "I01", "rows_sharing_the_key": 2}, 1),
    "RAW-KEY-04": ({"project_code": "P001", "rows_sharing_the_key": 2}, 1),
    "RAW-KEY-05": ({"record_id": "R0001", "rows_sharing_the_key": 2}, 1),
    "RAW-KEY-06": (
        {"project_code": "P002", "indicator_code": "I01", "as_of": "2021-12-31",
         "rows_sharing_the_key": 2},
        1,
    ),
    "RAW-KEY-07": ({"subject_code": "P002", "evaluator": "finance", "rows_sharing_the_key": 2}, 1),
    "RAW-KEY-08": ({"project_code": "Q003", "rows_sharing_the_key": 2}, 1),
    "RAW-REQ-01": ({"department_code": "004", "department_name": " "}, 1),
    "RAW-REQ-02": ({"project_code": "P006", "project_name": ""}, 1),
    "RAW-REQ-03": ({"project_code": "P004", "indicator_code": "I02", "target_value": None}, 1),
    "RAW-REQ-04": ({"project_code": " ", "conclusion": "support"}, 1),
    "RAW-REQ-05": ({"record_id": "", "payment_date": "2021-07-01"}, 1),
    "RAW-REQ-06": ({"project_code": "P001", "indicator_code": ""}, 1),
    "RAW-REQ-07": ({"subject_code": "", "evaluator": "self"}, 1),
    "RAW-REQ-08": ({"project_code": "Q007", "department_code": ""}, 1),
    "RAW-REF-01": ({"department_code": "005", "kind": "bureau"}, 1),
    "RAW-REF-02": ({"project_code": "P007", "budget_type": "special"}, 1),
    "RAW-REF-03": ({"project_code": "P008", "fund_source": "city"}, 1),
    "RAW-REF-04": ({"project_code": "P009", "category": "military"}, 1),
    "RAW-REF-05": ({"indicator_code": "I03", "level1": "impact"}, 1),
    "RAW-REF-06": ({"indicator_code": "I04", "level2": "speed"}, 1),
    "RAW-REF-07": ({"indicator_code": "I05", "comparator": ">"}, 1),
    "RAW-REF-08": ({"project_code": "P005", "conclusion": "maybe"}, 1),
    "RAW-REF-09": ({"subject_code": "P001", "subject_type": "program"}, 1),
    "RAW-REF-10": ({"subject_code": "P004", "evaluator": "auditor"}, 1),
    "RAW-REF-11": ({"subject_code": "P005", "grade": "A"}, 1),
    "RAW-RNG-01": ({"record_id": "R1001", "payment_date": "2022-01-05"}, 1),
    "RAW-RNG-02": ({"record_id": "R1002", "amount_yuan": "0.00"}, 1),
    "RAW-RNG-03": ({"project_code": "P010", "budget_amount_yuan": "-5.00"}, 1),
    "RAW-RNG-04": ({"project_code": "Q004", "requested_yuan": "-100.00"}, 1),
    "RAW-RNG-05": ({"subject_type": "department", "subject_code": "003", "score": "105"}, 1),
    "RAW-RNG-06": ({"project_code": "P002", "necessity": "25"}, 1),
    "RAW-RNG-07": ({"project_code": "P001", "indicator_code": "I02", "as_of": "2021-11-30"}, 1),
    "RAW-REF-INT-01": ({"record_id": "R1003", "project_code": "P999"}, 1),
    "RAW-REF-INT-02": ({"project_code": "P011", "department_code": "999"}, 1),
    "RAW-REF-INT-03": ({"project_code": "P999", "indicator_code": "I01"}, 1),
    # and RAW-REQ-06's blank indicator code, which no target declares either
    "RAW-REF-INT-04": ({"project_code": "P002", "indicator_code": "I09"}, 2),
    # and RAW-REQ-08's request with a blank department code
    "RAW-REF-INT-05": ({"project_code": "Q005", "department_code": "999"}, 2),
    "RAW-REF-INT-06": ({"project_code": "Q006", "prior_project_code": "P998"}, 1),
    # and RAW-REQ-07's evaluation of a blank project code
    "RAW-REF-INT-07": ({"subject_type": "project", "subject_code": "P997"}, 2),
}  # fmt: skip

RAW_FAULT_RULES = (
    "RAW-KEY-01", "RAW-KEY-02", "RAW-KEY-03", "RAW-KEY-04", "RAW-KEY-05", "RAW-KEY-06",
    "RAW-KEY-07", "RAW-KEY-08",
    "RAW-REQ-01", "RAW-REQ-02", "RAW-REQ-03", "RAW-REQ-04", "RAW-REQ-05", "RAW-REQ-06",
    "RAW-REQ-07", "RAW-REQ-08",
    "RAW-REF-01", "RAW-REF-02", "RAW-REF-03", "RAW-REF-04", "RAW-REF-05", "RAW-REF-06",
    "RAW-REF-07", "RAW-REF-08", "RAW-REF-09", "RAW-REF-10", "RAW-REF-11",
    "RAW-RNG-01", "RAW-RNG-02", "RAW-RNG-03", "RAW-RNG-04", "RAW-RNG-05", "RAW-RNG-06",
    "RAW-RNG-07",
    "RAW-REF-INT-01", "RAW-REF-INT-02", "RAW-REF-INT-03", "RAW-REF-INT-04", "RAW-REF-INT-05",
    "RAW-REF-INT-06", "RAW-REF-INT-07",
)  # fmt: skip


def inject_reject_problems(url: str) -> None:
    """What the loader records for rejected data (RAW-REJ-01, RAW-REJ-02, RAW-MAN-01)."""
    with psycopg.connect(url) as conn:
        # rejected rows in a load in effect at the year-end (tolerance 0)
        pay = load_of(conn, "budget_execution", YEAR_END)
        conn.execute("update ops.loads set rows_rejected = 1 where load_id = %s", (pay,))
        conn.execute(
            "insert into ops.rejected_rows (load_id, file_path, line_no, column_name, rule,"
            " reason, raw_line) values (%s, '20211231/budget_execution.csv', 7, 'amount_yuan',"
            " 'parse', '第 7 行 amount_yuan 不是金额 / line 7: amount_yuan is not an amount',"
            " 'R0100,2021,P001,2021-07-01,abc')",
            (pay,),
        )
        # a file rejected whole, later than every successful load of its entity
        bad = add_load(
            conn,
            "evaluations",
            YEAR_END,
            [],
            status="rejected",
            reason="文件无法解码 / the file cannot be decoded",
        )
        conn.execute(
            "insert into ops.rejected_rows (load_id, file_path, rule, reason)"
            " values (%s, '20211231/evaluations.csv', 'file', 'cannot be decoded')",
            (bad,),
        )
        # a file that does not match its manifest
        add_load(
            conn,
            "budget_requests",
            YEAR_END,
            [],
            status="rejected",
            reason="与 _manifest.json 不符：数据行数应为 4，实际为 3 / does not match"
            " _manifest.json: 4 data rows expected, 3 found",
        )


REJECT_RULES = ("RAW-REJ-01", "RAW-REJ-02", "RAW-MAN-01")
FAULT_SIGNATURES.update({
    "RAW-REJ-01": (
        {"entity": "budget_execution", "file_path": "20211231/budget_execution.csv",
         "rows_rejected": 1},
        1,
    ),
    "RAW-REJ-02": ({"entity": "evaluations", "file_path": "20211231/evaluations.csv"}, 1),
    "RAW-MAN-01": ({"entity": "budget_requests", "file_path": "20211231/budget_requests.csv"}, 1),
})  # fmt: skip


def tamper_marts(url: str) -> None:
    """One fault per marts fatal rule, written over the built marts at the year-end
    (as a faulty model or a half-finished build would leave them)."""
    statements = [
        # MART-REC-01: spent no longer equals the payments
        "update marts.fct_project_progress set spent_yuan = spent_yuan + 1"
        " where checkpoint_date = '2021-12-31' and project_code = 'P001'",
        # MART-REC-02: a budget that is not the delivered one
        "update marts.fct_project_progress set budget_amount_yuan = budget_amount_yuan + 1"
        " where checkpoint_date = '2021-12-31' and project_code = 'P002'",
        # MART-REC-03 / MART-REC-04: department totals off
        "update marts.rpt_department_progress set spent_yuan = spent_yuan + 5"
        " where checkpoint_date = '2021-12-31' and department_code = '002'",
        "update marts.rpt_department_progress set budget_amount_yuan = budget_amount_yuan + 7"
        " where checkpoint_date = '2021-12-31' and department_code = '003'",
        # MART-CMP-01 (and MART-ROW-01): a project without its progress row
        "delete from marts.fct_project_progress"
        " where checkpoint_date = '2021-12-31' and project_code = 'P004'",
        # MART-CMP-02: an indicator without its progress row
        "delete from marts.fct_indicator_progress"
        " where checkpoint_date = '2021-12-31' and project_code = 'P005'"
        " and indicator_code = 'I02'",
        # MART-BND-01 / -02 / -03: negative rates
        "update marts.fct_project_progress set execution_rate = -0.1"
        " where checkpoint_date = '2021-12-31' and project_code = 'P005'",
        "update marts.rpt_department_progress set execution_rate = -0.5"
        " where checkpoint_date = '2021-12-31' and department_code = '001'",
        "update marts.fct_indicator_progress set completion = -1"
        " where checkpoint_date = '2021-12-31' and project_code = 'P001'"
        " and indicator_code = 'I01'",
        # MART-GRD-01: an imported grade contradicting its score (as dbt flags it)
        "update intermediate.int_evaluations_scored"
        " set imported_grade = 'poor', imported_grade_matches = false"
        " where subject_type = 'project' and subject_code = 'P002'",
        # MART-GRD-02 / -03: final grades outside the score's band
        "update marts.fct_project_evaluation set grade = 'poor' where project_code = 'P001'",
        "update marts.fct_department_evaluation set grade = 'excellent'"
        " where department_code = '002'",
        # MART-PRP-01: a proposal above the request
        "update marts.fct_budget_proposal set proposed_yuan = requested_yuan + 1"
        " where project_code = 'Q001'",
        # MART-COV-01: a coverage rate above 1
        "update marts.rpt_coverage set rate = 1.5 where fiscal_year = 2021"
        " and metric = 'target_declared' and fund_source = 'all' and budget_type = 'all'",
    ]
    with psycopg.connect(url) as conn:
        for statement in statements:
            assert conn.execute(statement).rowcount >= 1, statement


MARTS_FAULT_RULES = (
    "MART-REC-01", "MART-REC-02", "MART-REC-03", "MART-REC-04",
    "MART-CMP-01", "MART-CMP-02",
    "MART-BND-01", "MART-BND-02", "MART-BND-03",
    "MART-GRD-01", "MART-GRD-02", "MART-GRD-03",
    "MART-PRP-01", "MART-COV-01",
    "MART-ROW-01",
)  # fmt: skip
FAULT_SIGNATURES.update({
    "MART-REC-01": (
        {"project_code": "P001", "spent_yuan": "80001.00", "raw_spent_yuan": "80000.00"}, 1
    ),
    "MART-REC-02": (
        {"project_code": "P002", "budget_amount_yuan": "200001.00",
         "raw_budget_yuan": "200000.00"},
        1,
    ),
    "MART-REC-03": (
        {"department_code": "002", "spent_yuan": "45005.00", "raw_spent_yuan": "45000.00"}, 1
    ),
    "MART-REC-04": (
        {"department_code": "003", "budget_amount_yuan": "80007.00",
         "raw_budget_yuan": "80000.00"},
        1,
    ),
    "MART-CMP-01": (
        {"problem": "missing", "checkpoint_date": "2021-12-31", "project_code": "P004"}, 1
    ),
    "MART-CMP-02": ({"project_code": "P005", "indicator_code": "I02"}, 1),
    "MART-BND-01": ({"project_code": "P005"}, 1),
    "MART-BND-02": ({"department_code": "001"}, 1),
    "MART-BND-03": ({"project_code": "P001", "indicator_code": "I01"}, 1),
    "MART-GRD-01": (
        {"subject_type": "project", "subject_code": "P002", "imported_grade": "poor"}, 1
    ),
    "MART-GRD-02": ({"project_code": "P001", "grade": "poor"}, 1),
    "MART-GRD-03": ({"department_code": "002", "grade": "excellent"}, 1),
    "MART-PRP-01": ({"project_code": "Q001"}, 1),
    "MART-COV-01": (
        {"fiscal_year": 2021, "metric": "target_declared", "fund_source": "all",
         "budget_type": "all", "rate": "1.5"},
        1,
    ),
    # and marts.fct_indicator_progress, which lost MART-CMP-02's row (1 of 6)
    "MART-ROW-01": ({"relation": "marts.fct_project_progress"}, 2),
})  # fmt: skip


NEXT_JUNE = dt.date(2022, 6, 30)


def seed_next_year_with_warnings(url: str) -> None:
    """Fiscal year 2022 up to its June point: clean but for one case of each warning rule.

    Loads as of 2022-06-30 are not in effect at the 2021 points, so the 2021 world stays
    clean while the 2022-06-30 checkpoint shows warnings only.
    """
    with psycopg.connect(url) as conn:

        def load(entity: str, years: Sequence[int], rows: list[Any]) -> None:
            insert(conn, entity, add_load(conn, entity, NEXT_JUNE, years), rows)

        departments = [list(d) for d in DEPARTMENTS]
        departments[1][4] = None  # RAW-CMP-02: 姚伏镇 has projects but no contact email
        load("departments", [0], [tuple(d) for d in departments])
        load("projects", [2022], [
            _project("P101", "001", 100000, "general_public", "county", "education", year=2022),
            _project("P102", "002", 50000, "general_public", "county", "other", year=2022),
            _project("P103", "003", 80000, "state_capital", "county", "other", year=2022),
        ])  # fmt: skip
        load("performance_targets", [2022], [
            _target("P101", "I01", "output", "quantity", ">=", 10, 100, year=2022),
            _target("P102", "I01", "benefit", "social", ">=", 5, 0, year=2022),  # RAW-RNG-08
            _target("P102", "I02", "output", "quantity", ">=", 3, 100, year=2022),
        ])  # fmt: skip
        load("budget_execution", [2022], [
            ("R3001", 2022, "P101", dt.date(2022, 3, 1), 20000, None, None),
            # MART-BND-04: P102 spends 60,000 of its 50,000 budget by June
            ("R3002", 2022, "P102", dt.date(2022, 5, 1), 60000, None, None),
            ("R3003", 2022, "P103", dt.date(2022, 6, 1), 30000, None, None),
            # RAW-RNG-09: dated after the delivery's as-of (not counted at 06-30)
            ("R3004", 2022, "P101", dt.date(2022, 7, 2), 100, None, None),
        ])  # fmt: skip
        conn.execute(
            "insert into ops.checkpoint_runs (checkpoint_date, fiscal_year, last_run_id)"
            " values (%s, %s, 'seed')",
            (NEXT_JUNE, NEXT_JUNE.year),
        )


WARNING_RULES = ("RAW-CMP-02", "RAW-RNG-08", "RAW-RNG-09", "MART-BND-04")
