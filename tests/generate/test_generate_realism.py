"""The year around the fixed figures looks like a real one: most projects on track, a
lagging tail, a few seriously lagging; grades mostly 优/良 with a few 中 and 差; every
reference value in use; and the files vary the way real exports do."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from generate_readback import (
    BY,
    FY,
    MONITORING_POINTS,
    POINTS,
    YEAR_END,
    Generated,
    Landing,
    Record,
    by_key,
    decode_csv,
    raw_rows,
)
from python_calamine import CalamineWorkbook

from budgetperf.generate.labels import REFERENCE_LABELS
from budgetperf.generate.rows import grade_of

pytestmark = pytest.mark.xdist_group("generate")


def _expected(point: dt.date) -> Decimal:
    return Decimal(point.month) / 12


def progress(landing: Landing, point: dt.date) -> dict[object, tuple[str, Decimal | None]]:
    """R2 at ``point``: status and execution rate of every 2021 project."""
    spent: defaultdict[object, Decimal] = defaultdict(Decimal)
    for r in landing.effective("budget_execution", point):
        if r["payment_date"] <= point:  # type: ignore[operator]
            spent[r["project_code"]] += r["amount_yuan"]  # type: ignore[operator]
    out: dict[object, tuple[str, Decimal | None]] = {}
    for p in landing.effective("projects", point):
        if p["fiscal_year"] != FY:
            continue
        budget = p["budget_amount_yuan"]
        assert isinstance(budget, Decimal)
        if budget == 0:
            out[p["project_code"]] = ("no_budget", None)
            continue
        rate = spent[p["project_code"]] / budget
        gap = _expected(point) - rate
        if rate > 1:
            status = "overspent"
        elif gap <= Decimal("0.10"):
            status = "on_track"
        elif gap <= Decimal("0.30"):
            status = "lagging"
        else:
            status = "seriously_lagging"
        out[p["project_code"]] = (status, rate)
    return out


def completion(target: Record, actual: Decimal) -> Decimal | None:
    t = target["target_value"]
    comparator = target["comparator"]
    if comparator == "qualitative":
        return actual
    assert isinstance(t, Decimal)
    if comparator == ">=":
        return None if t == 0 else actual / t
    if comparator == "<=":
        return Decimal(1) if actual == 0 else t / actual
    return Decimal(1) if t == actual == 0 else min(actual, t) / max(actual, t)


def latest_actuals(landing: Landing, point: dt.date) -> dict[tuple[object, ...], Decimal]:
    latest: dict[tuple[object, ...], tuple[dt.date, Decimal]] = {}
    for a in landing.effective("indicator_actuals", point):
        key = (a["fiscal_year"], a["project_code"], a["indicator_code"])
        as_of, value = a["as_of"], a["actual_value"]
        assert isinstance(as_of, dt.date) and isinstance(value, Decimal)
        if as_of <= point and (key not in latest or latest[key][0] < as_of):
            latest[key] = (as_of, value)
    return {k: v for k, (_, v) in latest.items()}


def final_grades(landing: Landing) -> Counter[str]:
    """R4 + R5 at year-end: third_party > finance > self (data, else imported)."""
    statuses = progress(landing, YEAR_END)
    targets = [
        t for t in landing.effective("performance_targets", YEAR_END) if t["fiscal_year"] == FY
    ]
    actuals = latest_actuals(landing, YEAR_END)
    weighted: defaultdict[object, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for t in targets:
        key = (t["fiscal_year"], t["project_code"], t["indicator_code"])
        if key in actuals:
            c = completion(t, actuals[key])
            if c is not None:
                weighted[t["project_code"]].append((t["weight"], min(Decimal(1), c)))  # type: ignore[arg-type]
    imported: dict[tuple[object, object], Decimal] = {}
    for e in landing.effective("evaluations", YEAR_END):
        if e["subject_type"] == "project":
            imported[(e["subject_code"], e["evaluator"])] = e["score"]  # type: ignore[assignment]
    grades: Counter[str] = Counter()
    for code, (status, rate) in statuses.items():
        score = imported.get((code, "third_party")) or imported.get((code, "finance"))
        if score is None and status != "no_budget" and weighted[code]:
            assert rate is not None
            total_w = sum(w for w, _ in weighted[code])
            score = (
                10 * min(Decimal(1), rate) + 90 * sum(w * c for w, c in weighted[code]) / total_w
            )
        score = score if score is not None else imported.get((code, "self"))
        if score is not None:
            grades[grade_of(score.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))] += 1
    return grades


@pytest.mark.parametrize("point", MONITORING_POINTS)
def test_most_projects_on_track_a_tail_lagging(pingluo: Generated, point: dt.date) -> None:
    statuses = Counter(s for s, _ in progress(pingluo.landing, point).values())
    total = sum(statuses.values())
    assert statuses["on_track"] / total > 0.6
    assert 0.05 < statuses["lagging"] / total < 0.3
    assert 0.02 < statuses["seriously_lagging"] / total < 0.15
    assert 1 <= statuses["no_budget"] <= 10
    assert statuses["overspent"] <= 2


def test_year_end_has_one_overspent_and_idle_funds_at_november(pingluo: Generated) -> None:
    statuses = Counter(s for s, _ in progress(pingluo.landing, YEAR_END).values())
    assert statuses["overspent"] == 1
    november = progress(pingluo.landing, MONITORING_POINTS[-1])
    idle = [
        code for code, (_, rate) in november.items() if rate is not None and rate < Decimal("0.5")
    ]
    assert 5 <= len(idle) <= 80


def test_some_indicators_deviate_at_each_checkpoint(pingluo: Generated) -> None:
    targets = by_key(
        pingluo.landing.effective("performance_targets", YEAR_END),
        "fiscal_year",
        "project_code",
        "indicator_code",
    )
    for point in MONITORING_POINTS:
        actuals = latest_actuals(pingluo.landing, point)
        threshold = _expected(point) - Decimal("0.30")
        completions = [completion(targets[k], v) for k, v in actuals.items()]
        deviating = [c for c in completions if c is not None and c < threshold]
        assert 0.01 < len(deviating) / len(completions) < 0.2


def test_grades_mostly_good_with_a_few_fair_and_poor(pingluo: Generated) -> None:
    grades = final_grades(pingluo.landing)
    total = sum(grades.values())
    assert set(grades) == {"excellent", "good", "fair", "poor"}
    assert (grades["excellent"] + grades["good"]) / total > 0.75
    assert grades["poor"] <= 0.05 * total
    imported = Counter(
        e["grade"] or grade_of(e["score"])  # type: ignore[arg-type]
        for e in pingluo.landing.effective("evaluations", YEAR_END)
        if e["evaluator"] != "self"
    )
    assert imported["fair"] >= 2 and imported["poor"] >= 2


def test_every_reference_value_is_in_use(pingluo: Generated) -> None:
    landing = pingluo.landing
    for year in (FY, BY):
        projects = [p for p in landing.effective("projects", YEAR_END) if p["fiscal_year"] == year]
        assert {p["category"] for p in projects} == set(REFERENCE_LABELS["category"])
        assert {p["budget_type"] for p in projects} == set(REFERENCE_LABELS["budget_type"])
        assert {p["fund_source"] for p in projects} == set(REFERENCE_LABELS["fund_source"])
        assert any(p["is_ppp"] for p in projects) and any(p["is_debt"] for p in projects)
        targets = [
            t
            for t in landing.effective("performance_targets", YEAR_END)
            if t["fiscal_year"] == year
        ]
        assert {t["comparator"] for t in targets} == set(REFERENCE_LABELS["comparator"])
        assert {t["level1"] for t in targets} == set(REFERENCE_LABELS["level1"])
        assert {t["level2"] for t in targets} - {None} == set(REFERENCE_LABELS["level2"])
    departments = landing.effective("departments", YEAR_END)
    assert {d["kind"] for d in departments} == {"department", "township"}
    evaluations = landing.effective("evaluations", YEAR_END)
    assert {e["evaluator"] for e in evaluations} == set(REFERENCE_LABELS["evaluator"])
    assert {e["subject_type"] for e in evaluations} == set(REFERENCE_LABELS["subject_type"])
    conclusions = {
        a["conclusion"] for f in landing.deliveries("pre_assessments") for a in f.records
    }
    assert conclusions == set(REFERENCE_LABELS["conclusion"])


def test_a_plausible_county_year(pingluo: Generated) -> None:
    landing = pingluo.landing
    projects = [p for p in landing.effective("projects", YEAR_END) if p["fiscal_year"] == FY]
    assert 400 <= len(projects) <= 900
    total = sum((p["budget_amount_yuan"] for p in projects), Decimal(0))
    assert 5e8 <= total <= 2e9
    names = {d["department_name"] for d in landing.effective("departments", YEAR_END)}
    for expected in (
        "平罗县教育体育局",
        "平罗县卫生健康局",
        "平罗县农业农村局",
        "平罗县姚伏镇人民政府",
        "平罗县红崖子乡人民政府",
    ):
        assert expected in names
    assert all("@" in str(d["contact_email"]) for d in landing.effective("departments", YEAR_END))
    requests = landing.effective("budget_requests", YEAR_END)
    with_prior = [r for r in requests if r["prior_project_code"]]
    assert 0.5 < len(with_prior) / len(requests) < 0.95


def test_formats_vary_like_real_exports(pingluo: Generated) -> None:
    files = pingluo.landing.files
    texts = []
    encodings = set()
    for f in files:
        if f.path.suffix == ".csv":
            data = f.path.read_bytes()
            if data.startswith(b"\xef\xbb\xbf"):
                encodings.add("utf-8-sig")
            else:
                try:
                    data.decode("utf-8")
                    encodings.add("utf-8")
                except UnicodeDecodeError:
                    encodings.add("gb18030")
            texts.append(decode_csv(data))
        else:
            texts.append("\n".join(",".join(r) for r in raw_rows(f.path)))
    assert encodings == {"utf-8", "utf-8-sig", "gb18030"}
    assert any(f.path.suffix == ".xlsx" for f in files)
    assert any(f.header_line > 0 for f in files)  # a title row above the header
    blob = "\n".join(texts)
    for spelling in (
        "2021-06-30",
        "2021/6/30",
        "20210630",
        "2021年6月30日",
        '"1,',
        "预算金额(元)",
        "amount_yuan",
    ):
        assert spelling in blob, spelling
    for label in (
        "一般公共预算",
        "产出指标",
        "数量指标",
        "≥",
        "定性",
        "自评",
        "优",
        "予以支持",
        "乡镇",
    ):
        assert label in blob, label
    flags = {f.path.name: f for f in files}
    assert flags
    notes = [
        f
        for f in files
        if f.path.suffix == ".xlsx"
        and "说明" in CalamineWorkbook.from_path(str(f.path)).sheet_names
    ]
    assert notes
    assert {p.month for p in POINTS} == {6, 9, 11, 12}
