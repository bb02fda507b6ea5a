"""The eight delivered entities as data (DATA_CONTRACT.md section 1, DOMAIN.md reference data).

Everything the readers and the loader need to know about a column lives here: its English
name, its Chinese label, its kind, whether it is required, its default when blank, its
reference values and its range. The loader has no per-entity code paths beyond the row
rules in ``rules.py``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum


class Kind(Enum):
    TEXT = "text"  # free text or a code: kept verbatim (trimmed), never evaluated
    YEAR = "year"  # a fiscal / budget year
    DATE = "date"
    FLAG = "flag"  # Y/N, 是/否, true/false, 1/0
    CHOICE = "choice"  # a reference value: the code or its Chinese label
    MONEY = "money"  # 元, at most 2 decimals
    NUMBER = "number"  # a decimal of any scale (scores, weights, targets, actuals)


@dataclass(frozen=True)
class Column:
    name: str
    label: str  # Chinese label, valid as a header for this column in every entity
    kind: Kind
    required: bool = False
    default: str | None = None  # canonical value used when the cell is blank
    # reference values: code -> labels accepted besides the code itself
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    exclusive_minimum: bool = False
    nonzero: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    year_column: str | None  # None: the entity has no year (departments: fiscal_year 0)
    money_column: str | None  # what `amount_yuan_total` of a manifest sums

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


ZERO = Decimal(0)


def _c(
    name: str,
    kind: Kind,
    *,
    required: bool = False,
    default: str | None = None,
    choices: dict[str, tuple[str, ...]] | None = None,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    exclusive_minimum: bool = False,
    nonzero: bool = False,
) -> Column:
    return Column(
        name=name,
        label=LABELS[name],
        kind=kind,
        required=required,
        default=default,
        choices=choices or {},
        minimum=minimum,
        maximum=maximum,
        exclusive_minimum=exclusive_minimum,
        nonzero=nonzero,
    )


# One label per column name, whatever the entity ("a label is valid for that column in
# every entity"). Money labels also match without their "(元)" unit, see header_aliases.
LABELS: dict[str, str] = {
    "department_code": "部门编码",
    "department_name": "部门名称",
    "kind": "单位类型",
    "sector": "行业",
    "contact_email": "联系邮箱",
    "fiscal_year": "预算年度",
    "project_code": "项目编码",
    "project_name": "项目名称",
    "budget_type": "预算类型",
    "fund_source": "资金来源",
    "category": "专项类别",
    "is_new": "是否新增",
    "budget_amount_yuan": "预算金额(元)",
    "is_monitored": "是否重点监控",
    "is_ppp": "是否PPP",
    "is_debt": "是否政府债务项目",
    "indicator_code": "指标编码",
    "level1": "一级指标",
    "level2": "二级指标",
    "indicator_name": "指标名称",
    "comparator": "比较方式",
    "target_value": "目标值",
    "unit": "计量单位",
    "weight": "分值",
    "declared_on": "申报日期",
    "is_published": "是否公开",
    "assessed_on": "评估日期",
    "necessity": "必要性",
    "economy": "投入经济性",
    "target_rationality": "绩效目标合理性",
    "feasibility": "实施方案可行性",
    "compliance": "筹资合规性",
    "conclusion": "评估结论",
    "record_id": "支付流水号",
    "payment_date": "支付日期",
    "amount_yuan": "支付金额(元)",
    "voucher_no": "凭证号",
    "payee": "收款方",
    "as_of": "填报截止日期",
    "actual_value": "实际完成值",
    "subject_type": "评价对象类型",
    "subject_code": "评价对象编码",
    "evaluator": "评价主体",
    "score": "得分",
    "grade": "等级",
    "evaluated_on": "评价日期",
    "report_quality_score": "报告质量评审得分",
    "budget_year": "申报年度",
    "requested_yuan": "申报金额(元)",
    "prior_project_code": "上年项目编码",
}

BUDGET_TYPES: dict[str, tuple[str, ...]] = {
    "general_public": ("一般公共预算",),
    "government_fund": ("政府性基金预算",),
    "state_capital": ("国有资本经营预算",),
    "social_insurance": ("社会保险基金预算",),
}
FUND_SOURCES: dict[str, tuple[str, ...]] = {
    "county": ("县本级",),
    "central_transfer": ("中央转移支付",),
    "region_transfer": ("自治区转移支付",),
}
CATEGORIES: dict[str, tuple[str, ...]] = {
    "education": ("教育",),
    "science_tech": ("科技",),
    "poverty_alleviation": ("扶贫",),
    "environment": ("环保",),
    "agriculture_forestry_water": ("农林水",),
    "social_security": ("社会保障",),
    "culture_sports_media": ("文化体育与传媒",),
    "housing_security": ("保障住房",),
    "transportation": ("交通运输",),
    "other": ("其他",),
}


def _levels(pairs: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Level labels are accepted with or without the 指标 suffix."""
    out: dict[str, tuple[str, ...]] = {}
    for code, labels in pairs.items():
        variants: list[str] = []
        for label in labels:
            bare = label.removesuffix("指标")
            variants += [bare, bare + "指标"]
        out[code] = tuple(dict.fromkeys(variants))
    return out


LEVEL1 = _levels({"output": ("产出",), "benefit": ("效益",), "satisfaction": ("满意度",)})
# 效益 sub-levels are commonly written in full (经济效益指标) as well as short (经济).
LEVEL2 = _levels(
    {
        "quantity": ("数量",),
        "quality": ("质量",),
        "timeliness": ("时效",),
        "cost": ("成本",),
        "economic": ("经济", "经济效益"),
        "social": ("社会", "社会效益"),
        "ecological": ("生态", "生态效益"),
        "sustainability": ("可持续影响",),
    }
)
# Which 二级指标 belong to which 一级指标 (DOMAIN.md): 满意度指标 has none.
LEVEL2_OF_LEVEL1 = {
    "output": frozenset({"quantity", "quality", "timeliness", "cost"}),
    "benefit": frozenset({"economic", "social", "ecological", "sustainability"}),
    "satisfaction": frozenset(),
}
COMPARATORS: dict[str, tuple[str, ...]] = {
    ">=": ("≥",),
    "<=": ("≤",),
    "=": (),
    "qualitative": ("定性",),
}
CONCLUSIONS: dict[str, tuple[str, ...]] = {
    "support": ("予以支持",),
    "support_after_adjustment": ("调整后支持",),
    "reject": ("不予支持",),
}
SUBJECT_TYPES: dict[str, tuple[str, ...]] = {"project": ("项目",), "department": ("部门",)}
EVALUATORS: dict[str, tuple[str, ...]] = {
    "self": ("自评",),
    "finance": ("财政评价",),
    "third_party": ("第三方评价",),
}
GRADES: dict[str, tuple[str, ...]] = {
    "excellent": ("优",),
    "good": ("良",),
    "fair": ("中",),
    "poor": ("差",),
}
DEPARTMENT_KINDS: dict[str, tuple[str, ...]] = {"department": ("部门",), "township": ("乡镇",)}

SCORE_MAX = Decimal(100)  # evaluation scores 0-100
DIMENSION_MAX = Decimal(20)  # each pre-assessment dimension 0-20
_NO = "f"  # canonical false (PostgreSQL boolean text)

DEPARTMENTS = Entity(
    name="departments",
    columns=(
        _c("department_code", Kind.TEXT, required=True),
        _c("department_name", Kind.TEXT, required=True),
        _c("kind", Kind.CHOICE, required=True, choices=DEPARTMENT_KINDS),
        _c("sector", Kind.TEXT),
        _c("contact_email", Kind.TEXT),
    ),
    key=("department_code",),
    year_column=None,
    money_column=None,
)

PROJECTS = Entity(
    name="projects",
    columns=(
        _c("fiscal_year", Kind.YEAR, required=True),
        _c("project_code", Kind.TEXT, required=True),
        _c("department_code", Kind.TEXT, required=True),
        _c("project_name", Kind.TEXT, required=True),
        _c("budget_type", Kind.CHOICE, required=True, choices=BUDGET_TYPES),
        _c("fund_source", Kind.CHOICE, required=True, choices=FUND_SOURCES),
        _c("category", Kind.CHOICE, default="other", choices=CATEGORIES),
        _c("is_new", Kind.FLAG, default=_NO),
        # a budget of 0 is legal (R2 status no_budget); a negative one is not
        _c("budget_amount_yuan", Kind.MONEY, required=True, minimum=ZERO),
        _c("is_monitored", Kind.FLAG, default=_NO),
        _c("is_ppp", Kind.FLAG, default=_NO),
        _c("is_debt", Kind.FLAG, default=_NO),
    ),
    key=("fiscal_year", "project_code"),
    year_column="fiscal_year",
    money_column="budget_amount_yuan",
)

PERFORMANCE_TARGETS = Entity(
    name="performance_targets",
    columns=(
        _c("fiscal_year", Kind.YEAR, required=True),
        _c("project_code", Kind.TEXT, required=True),
        _c("indicator_code", Kind.TEXT, required=True),
        _c("level1", Kind.CHOICE, required=True, choices=LEVEL1),
        _c("level2", Kind.CHOICE, choices=LEVEL2),
        _c("indicator_name", Kind.TEXT, required=True),
        _c("comparator", Kind.CHOICE, required=True, choices=COMPARATORS),
        _c("target_value", Kind.NUMBER),  # required unless qualitative: a row rule
        _c("unit", Kind.TEXT),
        _c("weight", Kind.NUMBER, required=True, minimum=ZERO, exclusive_minimum=True),
        _c("declared_on", Kind.DATE),
        _c("is_published", Kind.FLAG, default=_NO),
    ),
    key=("fiscal_year", "project_code", "indicator_code"),
    year_column="fiscal_year",
    money_column=None,
)

PRE_ASSESSMENTS = Entity(
    name="pre_assessments",
    columns=(
        _c("project_code", Kind.TEXT, required=True),
        _c("fiscal_year", Kind.YEAR, required=True),
        _c("assessed_on", Kind.DATE, required=True),
        _c("necessity", Kind.NUMBER, minimum=ZERO, maximum=DIMENSION_MAX),
        _c("economy", Kind.NUMBER, minimum=ZERO, maximum=DIMENSION_MAX),
        _c("target_rationality", Kind.NUMBER, minimum=ZERO, maximum=DIMENSION_MAX),
        _c("feasibility", Kind.NUMBER, minimum=ZERO, maximum=DIMENSION_MAX),
        _c("compliance", Kind.NUMBER, minimum=ZERO, maximum=DIMENSION_MAX),
        _c("conclusion", Kind.CHOICE, required=True, choices=CONCLUSIONS),
    ),
    key=("fiscal_year", "project_code"),
    year_column="fiscal_year",
    money_column=None,
)

BUDGET_EXECUTION = Entity(
    name="budget_execution",
    columns=(
        _c("record_id", Kind.TEXT, required=True),
        _c("fiscal_year", Kind.YEAR, required=True),
        _c("project_code", Kind.TEXT, required=True),
        _c("payment_date", Kind.DATE, required=True),
        # negative = reversal, never 0
        _c("amount_yuan", Kind.MONEY, required=True, nonzero=True),
        _c("voucher_no", Kind.TEXT),
        _c("payee", Kind.TEXT),
    ),
    key=("record_id",),
    year_column="fiscal_year",
    money_column="amount_yuan",
)

INDICATOR_ACTUALS = Entity(
    name="indicator_actuals",
    columns=(
        _c("fiscal_year", Kind.YEAR, required=True),
        _c("project_code", Kind.TEXT, required=True),
        _c("indicator_code", Kind.TEXT, required=True),
        _c("as_of", Kind.DATE, required=True),
        _c("actual_value", Kind.NUMBER, required=True),
    ),
    key=("fiscal_year", "project_code", "indicator_code", "as_of"),
    year_column="fiscal_year",
    money_column=None,
)

EVALUATIONS = Entity(
    name="evaluations",
    columns=(
        _c("fiscal_year", Kind.YEAR, required=True),
        _c("subject_type", Kind.CHOICE, required=True, choices=SUBJECT_TYPES),
        _c("subject_code", Kind.TEXT, required=True),
        _c("evaluator", Kind.CHOICE, required=True, choices=EVALUATORS),
        _c("score", Kind.NUMBER, required=True, minimum=ZERO, maximum=SCORE_MAX),
        # a grade contradicting its score's band is a data-quality failure (R5), checked
        # by the quality gate on the rounded score, not a load reject
        _c("grade", Kind.CHOICE, choices=GRADES),
        _c("evaluated_on", Kind.DATE),
        _c("report_quality_score", Kind.NUMBER, minimum=ZERO, maximum=SCORE_MAX),
    ),
    key=("fiscal_year", "subject_type", "subject_code", "evaluator"),
    year_column="fiscal_year",
    money_column=None,
)

BUDGET_REQUESTS = Entity(
    name="budget_requests",
    columns=(
        _c("budget_year", Kind.YEAR, required=True),
        _c("project_code", Kind.TEXT, required=True),
        _c("department_code", Kind.TEXT, required=True),
        _c("requested_yuan", Kind.MONEY, required=True, minimum=ZERO),
        _c("prior_project_code", Kind.TEXT),
    ),
    key=("budget_year", "project_code"),
    year_column="budget_year",
    money_column="requested_yuan",
)

# Dependency order: a file is checked against what was loaded before it.
ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        DEPARTMENTS,
        PROJECTS,
        PERFORMANCE_TARGETS,
        PRE_ASSESSMENTS,
        BUDGET_EXECUTION,
        INDICATOR_ACTUALS,
        EVALUATIONS,
        BUDGET_REQUESTS,
    )
}
ENTITY_ORDER: tuple[str, ...] = tuple(ENTITIES)


def normalize_header(text: str) -> str:
    """Header cells compare after NFKC (full-width brackets), case, spaces and `*` marks."""
    folded = unicodedata.normalize("NFKC", text).strip().strip("*").strip().lower()
    return folded.replace(" ", "_").replace("-", "_")


def header_aliases() -> dict[str, str]:
    """Every accepted header spelling -> column name (English names and Chinese labels)."""
    aliases: dict[str, str] = {}
    for name, label in LABELS.items():
        aliases[normalize_header(name)] = name
        aliases[normalize_header(label)] = name
        bare = normalize_header(label).removesuffix("(元)")
        aliases.setdefault(bare, name)
    return aliases


HEADER_ALIASES = header_aliases()
