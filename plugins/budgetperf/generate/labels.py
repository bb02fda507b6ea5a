"""Chinese labels of the delivery format (DATA_CONTRACT.md section 1, DOMAIN.md reference data).

The single place the generator takes its Chinese header labels and reference-value labels
from. The loader keeps its own entity specs; when the two are unified this module is the
one to merge, so it holds data only.
"""

from __future__ import annotations

# Column name -> Chinese header label. A label is valid for its column in every entity.
COLUMN_LABELS: dict[str, str] = {
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

# Reference domain -> code -> Chinese label.
REFERENCE_LABELS: dict[str, dict[str, str]] = {
    "kind": {"department": "部门", "township": "乡镇"},
    "budget_type": {
        "general_public": "一般公共预算",
        "government_fund": "政府性基金预算",
        "state_capital": "国有资本经营预算",
        "social_insurance": "社会保险基金预算",
    },
    "fund_source": {
        "county": "县本级",
        "central_transfer": "中央转移支付",
        "region_transfer": "自治区转移支付",
    },
    "category": {
        "education": "教育",
        "science_tech": "科技",
        "poverty_alleviation": "扶贫",
        "environment": "环保",
        "agriculture_forestry_water": "农林水",
        "social_security": "社会保障",
        "culture_sports_media": "文化体育与传媒",
        "housing_security": "保障住房",
        "transportation": "交通运输",
        "other": "其他",
    },
    # Level labels are written with the 指标 suffix (level1) or without it (level2), as
    # DOMAIN.md spells them; a file style may add or drop the suffix, both are valid.
    "level1": {"output": "产出指标", "benefit": "效益指标", "satisfaction": "满意度指标"},
    "level2": {
        "quantity": "数量",
        "quality": "质量",
        "timeliness": "时效",
        "cost": "成本",
        "economic": "经济",
        "social": "社会",
        "ecological": "生态",
        "sustainability": "可持续影响",
    },
    "comparator": {">=": "≥", "<=": "≤", "=": "=", "qualitative": "定性"},
    "conclusion": {
        "support": "予以支持",
        "support_after_adjustment": "调整后支持",
        "reject": "不予支持",
    },
    "subject_type": {"project": "项目", "department": "部门"},
    "evaluator": {"self": "自评", "finance": "财政评价", "third_party": "第三方评价"},
    "grade": {"excellent": "优", "good": "良", "fair": "中", "poor": "差"},
}

LEVEL_SUFFIX = "指标"

# The nine special categories (九大类专项); `other` is the tenth value of the domain.
SPECIAL_CATEGORIES: tuple[str, ...] = tuple(c for c in REFERENCE_LABELS["category"] if c != "other")
