"""Every generated row is valid under DATA_CONTRACT.md: a loader keeping its rules rejects
nothing, so the demo's checkpoints are never blocked by their own data."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from decimal import Decimal

import pytest
from generate_readback import BY, FY, POINTS, YEAR_END, Generated, by_key

from budgetperf.generate.rows import grade_of

pytestmark = pytest.mark.xdist_group("generate")

KEYS = {
    "departments": ("department_code",),
    "projects": ("fiscal_year", "project_code"),
    "performance_targets": ("fiscal_year", "project_code", "indicator_code"),
    "pre_assessments": ("fiscal_year", "project_code"),
    "budget_execution": ("record_id",),
    "indicator_actuals": ("fiscal_year", "project_code", "indicator_code", "as_of"),
    "evaluations": ("fiscal_year", "subject_type", "subject_code", "evaluator"),
    "budget_requests": ("budget_year", "project_code"),
}


def test_deliveries_and_entities(pingluo: Generated) -> None:
    plan = {(f.delivery, f.entity) for f in pingluo.report.files}
    assert {d for d, _ in plan} == {"20210630", "20210930", "20211130", "20211231"}
    # Every delivery carries the payments and actuals up to its date.
    for delivery in ("20210630", "20210930", "20211130", "20211231"):
        assert {(delivery, "budget_execution"), (delivery, "indicator_actuals")} <= plan
    assert len(pingluo.report.files) == len(pingluo.landing.files)


def test_manifests_match_their_files(pingluo: Generated) -> None:
    out = pingluo.report.out
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))["files"]
        data_files = sorted(p.name for p in folder.iterdir() if p.name != "_manifest.json")
        assert sorted(manifest) == data_files
        for name, entry in manifest.items():
            path = folder / name
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            read = next(f for f in pingluo.landing.files if f.path == path)
            assert entry["rows"] == len(read.records)
            money = {
                "projects": "budget_amount_yuan",
                "budget_execution": "amount_yuan",
                "budget_requests": "requested_yuan",
            }
            if read.entity in money:
                total = sum((r[money[read.entity]] for r in read.records), Decimal(0))
                assert Decimal(entry["amount_yuan_total"]) == total
                assert entry["amount_yuan_total"] == f"{total:.2f}"
            else:
                assert "amount_yuan_total" not in entry


def test_keys_are_unique_in_every_file(pingluo: Generated) -> None:
    for f in pingluo.landing.files:
        by_key(f.records, *KEYS[f.entity])


def test_codes_refer_to_existing_things(pingluo: Generated) -> None:
    landing = pingluo.landing
    for point in POINTS:
        departments = {d["department_code"] for d in landing.effective("departments", point)}
        projects = landing.effective("projects", point)
        assert {p["department_code"] for p in projects} <= departments
        project_keys = {(p["fiscal_year"], p["project_code"]) for p in projects}
        targets = landing.effective("performance_targets", point)
        assert {(t["fiscal_year"], t["project_code"]) for t in targets} <= project_keys
        indicator_keys = {
            (t["fiscal_year"], t["project_code"], t["indicator_code"]) for t in targets
        }
        payments = landing.effective("budget_execution", point)
        assert {(r["fiscal_year"], r["project_code"]) for r in payments} <= project_keys
        actuals = landing.effective("indicator_actuals", point)
        assert {
            (a["fiscal_year"], a["project_code"], a["indicator_code"]) for a in actuals
        } <= indicator_keys
        assert all(a["as_of"] <= point for a in actuals)  # type: ignore[operator]

    projects = landing.effective("projects", YEAR_END)
    departments = {d["department_code"] for d in landing.effective("departments", YEAR_END)}
    evaluations = landing.effective("evaluations", YEAR_END)
    for e in evaluations:
        if e["subject_type"] == "project":
            assert (e["fiscal_year"], e["subject_code"]) in {
                (p["fiscal_year"], p["project_code"]) for p in projects
            }
        else:
            assert e["subject_code"] in departments
    prior_year = {p["project_code"] for p in projects if p["fiscal_year"] == FY}
    this_year = {p["project_code"]: p for p in projects if p["fiscal_year"] == BY}
    for r in landing.effective("budget_requests", YEAR_END):
        assert r["budget_year"] == BY
        assert r["department_code"] in departments
        assert r["project_code"] in this_year
        assert r["department_code"] == this_year[r["project_code"]]["department_code"]
        assert r["prior_project_code"] is None or r["prior_project_code"] in prior_year


def test_payments_are_valid_and_reversals_rare(pingluo: Generated) -> None:
    payments = pingluo.landing.effective("budget_execution", YEAR_END)
    assert len(payments) > 20_000
    negatives = []
    for r in payments:
        assert r["fiscal_year"] == FY
        assert dt.date(FY, 1, 1) <= r["payment_date"] <= dt.date(FY, 12, 31)  # type: ignore[operator]
        amount = r["amount_yuan"]
        assert isinstance(amount, Decimal) and amount != 0 and amount.as_tuple().exponent >= -2
        if amount < 0:
            negatives.append(r)
    assert 0 < len(negatives) < 0.01 * len(payments)
    # Each reversal undoes an earlier (or same-day) payment of the same project and amount.
    paid = Counter((r["project_code"], r["amount_yuan"]) for r in payments if r["amount_yuan"] > 0)  # type: ignore[operator]
    for r in negatives:
        assert paid[(r["project_code"], -r["amount_yuan"])] >= 2  # type: ignore[operator]


def test_budgets_are_whole_hundreds_and_never_negative(pingluo: Generated) -> None:
    for f in pingluo.landing.deliveries("projects"):
        for p in f.records:
            amount = p["budget_amount_yuan"]
            assert isinstance(amount, Decimal) and amount >= 0
            assert amount % 100 == 0  # budgets are set in 万元 with 2 decimals
    for f in pingluo.landing.deliveries("budget_requests"):
        assert all(r["requested_yuan"] > 0 for r in f.records)  # type: ignore[operator]


def test_targets_are_well_formed(pingluo: Generated) -> None:
    for f in pingluo.landing.deliveries("performance_targets"):
        weights: Counter[object] = Counter()
        for t in f.records:
            weights[t["project_code"]] += t["weight"]  # type: ignore[operator]
            if t["comparator"] == "qualitative":
                assert t["target_value"] is None
            else:
                assert isinstance(t["target_value"], Decimal) and t["target_value"] >= 0
            assert (t["level1"] == "satisfaction") == (t["level2"] is None)
            assert t["declared_on"] < dt.date(t["fiscal_year"], 1, 1)  # type: ignore[operator, arg-type]
        # Output 50, benefit 30, satisfaction 10: the 90 points of R4 beside execution's 10.
        assert set(weights.values()) == {90}


def test_actuals_are_well_formed(pingluo: Generated) -> None:
    targets = by_key(
        pingluo.landing.effective("performance_targets", YEAR_END),
        "fiscal_year",
        "project_code",
        "indicator_code",
    )
    for a in pingluo.landing.effective("indicator_actuals", YEAR_END):
        target = targets[(a["fiscal_year"], a["project_code"], a["indicator_code"])]
        value = a["actual_value"]
        assert isinstance(value, Decimal) and value >= 0
        if target["comparator"] == "qualitative":
            assert 0 <= value <= 1
        assert a["as_of"] in POINTS


def test_scores_and_grades(pingluo: Generated) -> None:
    for f in pingluo.landing.deliveries("evaluations"):
        for e in f.records:
            score = e["score"]
            assert (
                isinstance(score, Decimal) and 0 <= score <= 100 and score.as_tuple().exponent >= -2
            )
            if e["grade"] is not None:
                assert e["grade"] == grade_of(score)
            if e["report_quality_score"] is not None:
                assert 0 <= e["report_quality_score"] <= 100  # type: ignore[operator]
            assert e["evaluated_on"] <= YEAR_END  # type: ignore[operator]
    for f in pingluo.landing.deliveries("pre_assessments"):
        for a in f.records:
            dims = [
                a[c]
                for c in ("necessity", "economy", "target_rationality", "feasibility", "compliance")
            ]
            assert all(isinstance(d, Decimal) and 0 <= d <= 20 for d in dims)
            assert a["assessed_on"] < dt.date(a["fiscal_year"], 1, 1)  # type: ignore[operator, arg-type]
            assert (a["conclusion"] == "reject") == (sum(dims) < 60)  # type: ignore[arg-type]


@pytest.mark.parametrize("entity", ["budget_execution", "indicator_actuals"])
def test_every_snapshot_is_the_complete_state_as_of_its_date(
    pingluo: Generated, entity: str
) -> None:
    """The 09-30 payments are all payments dated up to 09-30, not just the quarter."""
    files = pingluo.landing.deliveries(entity)
    final = files[-1]
    column = "payment_date" if entity == "budget_execution" else "as_of"
    key = KEYS[entity]
    full = by_key(final.records, *key)
    for f in files:
        expected = {k: r for k, r in full.items() if r[column] <= f.as_of}  # type: ignore[operator]
        assert by_key(f.records, *key) == expected


def test_2021_projects_are_redelivered_whole_with_adjustments(pingluo: Generated) -> None:
    first, adjusted = (f for f in pingluo.landing.deliveries("projects") if f.as_of < YEAR_END)
    before = by_key(first.records, "project_code")
    after = by_key(adjusted.records, "project_code")
    assert before.keys() == after.keys()
    changed = [
        k for k in before if before[k]["budget_amount_yuan"] != after[k]["budget_amount_yuan"]
    ]
    assert 5 <= len(changed) <= 20
    assert not any(after[k]["is_monitored"] for k in changed)
    assert any(after[k]["budget_amount_yuan"] == 0 for k in changed)  # funds recovered
    for k in before:
        assert {c: v for c, v in before[k].items() if c != "budget_amount_yuan"} == {
            c: v for c, v in after[k].items() if c != "budget_amount_yuan"
        }
    # The year-end projects file holds only the 2022 budget: 2021 stays as re-delivered.
    year_end = next(f for f in pingluo.landing.deliveries("projects") if f.as_of == YEAR_END)
    assert {p["fiscal_year"] for p in year_end.records} == {BY}
